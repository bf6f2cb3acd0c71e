# SPDX-License-Identifier: MIT
"""The service files: the systemd unit passes `systemd-analyze verify` (with ExecStart pointed at
this build's binary, which verify requires to exist), and a broken copy of it does not; the
DaemonSet manifest is valid YAML with the host pid namespace, read-only BTF and cgroup mounts and
exactly the capabilities the unit has. The unit's tests are skipped without systemd-analyze."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, binary, check, run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNIT = os.path.join(ROOT, "scripts", "pyinst-bpf.service")
DAEMONSET = os.path.join(ROOT, "scripts", "pyinst-bpf-daemonset.yaml")


def unit_text():
    with open(UNIT) as f:
        return f.read().replace("/usr/local/bin/pyinst-bpf", binary())


def verify(text):
    """systemd-analyze verify on a unit of this text: what it said, '' when it passed silently."""
    if not shutil.which("systemd-analyze"):
        raise Skip("no systemd-analyze (apt-get install systemd)")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "pyinst-bpf.service")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run(["systemd-analyze", "verify", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    out = r.stdout.strip()
    return out if out or r.returncode == 0 else "exit %d" % r.returncode


def test_unit_verifies():
    out = verify(unit_text())
    check(out == "", "systemd-analyze verify: %s" % out)


def test_broken_unit_fails_verify():
    broken = re.sub(r"^ProtectSystem=strict", "ProtectSystem=sometimes", unit_text(), flags=re.M)
    check(verify(broken) != "", "a broken unit passes verify: the check cannot fail")


def unit_capabilities():
    with open(UNIT) as f:
        line = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    return sorted(c[len("CAP_"):] if c.startswith("CAP_") else c for c in line.group(1).split())


def test_daemonset():
    try:
        import yaml
    except ImportError:
        print("(no PyYAML: text checks only)")
        with open(DAEMONSET) as f:
            text = f.read()
        for need in ("hostPID: true", "/sys/kernel/btf", "/sys/fs/cgroup", "drop: [\"ALL\"]"):
            check(need in text, "DaemonSet manifest: no %s" % need)
        return
    with open(DAEMONSET) as f:
        docs = list(yaml.safe_load_all(f))
    ds = [d for d in docs if d["kind"] == "DaemonSet"][0]
    spec = ds["spec"]["template"]["spec"]
    check(spec["hostPID"] is True, "DaemonSet manifest: hostPID")
    c = spec["containers"][0]
    sc = c["securityContext"]
    check(not sc.get("privileged"), "DaemonSet manifest: privileged")
    check(sc["capabilities"]["drop"] == ["ALL"], "DaemonSet manifest: drop ALL")
    want = unit_capabilities()
    check(sorted(sc["capabilities"]["add"]) == want, "DaemonSet manifest: capabilities %s, the "
          "unit's %s" % (sc["capabilities"]["add"], want))
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for path in ("/sys/kernel/btf", "/sys/fs/cgroup"):
        check(mounts[path].get("readOnly") is True, "DaemonSet manifest: %s not read-only" % path)


if __name__ == "__main__":
    run_tests([(f.__name__, f) for f in (test_unit_verifies, test_broken_unit_fails_verify,
                                         test_daemonset)], needs_root=False)
