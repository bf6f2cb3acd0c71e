#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The systemd unit passes `systemd-analyze verify` (with ExecStart pointed at this build's
# binary, which verify requires to exist), and a broken copy of it does not; the DaemonSet
# manifest is valid YAML with the host pid namespace, read-only BTF and cgroup mounts and
# exactly the capabilities the unit has. Exits 77 (skipped) without systemd-analyze.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${PYI_BIN:-$root/build/pyinst-bpf}"
unit="$root/scripts/pyinst-bpf.service"
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: no systemd-analyze (apt-get install systemd)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }

sed "s#/usr/local/bin/pyinst-bpf#$bin#" "$unit" >"$tmp/pyinst-bpf.service"
if out=$(systemd-analyze verify "$tmp/pyinst-bpf.service" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify"
else
	bad "systemd-analyze verify: $out"
fi
mkdir "$tmp/broken"
sed "s#^ProtectSystem=strict#ProtectSystem=sometimes#" "$tmp/pyinst-bpf.service" \
	>"$tmp/broken/pyinst-bpf.service"
if out=$(systemd-analyze verify "$tmp/broken/pyinst-bpf.service" 2>&1) && [ -z "$out" ]; then
	bad "a broken unit passes verify: the check cannot fail"
else
	ok "a broken unit fails verify"
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sed 's/^CAP_//' | sort | tr '\n' ' ')
if python3 - "$root/scripts/pyinst-bpf-daemonset.yaml" "$caps" <<'PY'
import sys
docs = []
try:
    import yaml
    docs = list(yaml.safe_load_all(open(sys.argv[1])))
except ImportError:
    print("(no PyYAML: text checks only)")
    text = open(sys.argv[1]).read()
    for need in ("hostPID: true", "/sys/kernel/btf", "/sys/fs/cgroup", "drop: [\"ALL\"]"):
        assert need in text, need
    sys.exit(0)
ds = [d for d in docs if d["kind"] == "DaemonSet"][0]
spec = ds["spec"]["template"]["spec"]
assert spec["hostPID"] is True, "hostPID"
c = spec["containers"][0]
sc = c["securityContext"]
assert not sc.get("privileged"), "privileged"
assert sc["capabilities"]["drop"] == ["ALL"], "drop ALL"
want = sorted(sys.argv[2].split())
assert sorted(sc["capabilities"]["add"]) == want, (sc["capabilities"]["add"], want)
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
for path in ("/sys/kernel/btf", "/sys/fs/cgroup"):
    assert mounts[path].get("readOnly") is True, path
PY
then
	ok "DaemonSet manifest: hostPID, read-only BTF and cgroup mounts, the unit's capabilities"
else
	bad "DaemonSet manifest"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
