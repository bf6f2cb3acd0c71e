#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One file to copy: the static pyinst-bpf (scripts/build-static.sh) profiles scripts/demo.py
# inside a fresh Debian 12 minimal root made by debootstrap (--variant=minbase plus python3 to
# have something to profile), which has none of the build dependencies: no libbpf, libelf,
# libcjson, libcurl. The root is cached in /var/cache/pyinst-bpf/debian12-root. Exits 77 and
# says why when the static build or debootstrap is impossible here (no network, no
# debootstrap): loudly skipped, never passed.
set -u
root_dir="$(cd "$(dirname "$0")/../.." && pwd)"
cache=/var/cache/pyinst-bpf
chroot_dir="$cache/debian12-root"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, BPF)"

if ! out=$("$root_dir/scripts/build-static.sh" 2>&1); then
	skip "the static build failed (it fetches Debian's cJSON source with apt-get): $out"
fi
bin="$root_dir/build-static/pyinst-bpf"
if [ ! -x "$chroot_dir/usr/bin/python3" ]; then
	command -v debootstrap >/dev/null || skip "no debootstrap (apt-get install debootstrap)"
	mkdir -p "$cache"
	rm -rf "$chroot_dir.tmp"
	if ! debootstrap --variant=minbase --include=python3 bookworm "$chroot_dir.tmp" \
		http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1; then
		skip "debootstrap of Debian 12 failed (see $cache/debootstrap.log)"
	fi
	mv "$chroot_dir.tmp" "$chroot_dir"
fi

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }

# the root has nothing the build needed
found=$(find "$chroot_dir/usr/lib" "$chroot_dir/lib" -name 'libbpf.so*' -o -name 'libelf*.so*' \
	-o -name 'libcjson*.so*' -o -name 'libcurl*.so*' 2>/dev/null | head -3)
[ -z "$found" ] && ok "no build dependency in the root" || bad "the root has $found"
if file "$bin" | grep -q "statically linked"; then
	ok "statically linked"
else
	bad "not static: $(file "$bin")"
fi

work="$chroot_dir/opt/pyi-test"
rm -rf "$work"
mkdir -p "$work"
cp "$bin" "$root_dir/scripts/demo.py" "$work/"
trap 'rm -rf "$work"' EXIT
# a private mount namespace: /proc and /sys for the chroot vanish with it
unshare -m bash -c "
	mount -t proc proc '$chroot_dir/proc' &&
	mount --rbind /sys '$chroot_dir/sys' &&
	chroot '$chroot_dir' /opt/pyi-test/pyinst-bpf -q -o /opt/pyi-test/demo.txt \
		-- python3 /opt/pyi-test/demo.py &&
	chroot '$chroot_dir' /opt/pyi-test/pyinst-bpf -q -i 0.01 --push-interval 0.5 \
		--output-dir /opt/pyi-test/windows -- python3 /opt/pyi-test/demo.py
" >"$work/log" 2>&1
status=$?
if [ "$status" = 0 ] && grep -q "compress_logs" "$work/demo.txt" 2>/dev/null &&
   grep -q "render_report" "$work/demo.txt"; then
	ok "the static binary profiles demo.py in the Debian 12 root"
else
	bad "profiling in the root (exit $status): $(cat "$work/log" "$work/demo.txt" 2>/dev/null | head -20)"
fi
n=$(ls "$work/windows" 2>/dev/null | grep -c '^pyinst-.*\.pb\.gz$')
[ "$n" -ge 2 ] && ok "continuous mode wrote $n window files there" || bad "$n window files"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
