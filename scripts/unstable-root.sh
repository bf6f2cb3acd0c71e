#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes (or reuses) a Debian unstable root holding Debian's own CPython 3.14 and 3.15 builds:
# the static interpreters (PIE and, where shipped, non-PIE), libpython, the -dev headers and the
# debug builds. The integration tests run them from the host with the root's dynamic loader.
# Prints the root's path on stdout. Exit 77 (skipped) with the reason on stderr if it cannot
# be made: no debootstrap, no root, no mirror, or a package missing from unstable.
#
# PYI_UNSTABLE_ROOT overrides the cache path (default /var/cache/pyinst-bpf/sid).
# The mirror is the first Debian one apt is configured with on this machine.
set -uo pipefail

root="${PYI_UNSTABLE_ROOT:-/var/cache/pyinst-bpf/sid}"
versions=(3.14 3.15)
stamp="$root/.pyinst-bpf-complete"

skip() {
	echo "unstable-root: SKIPPED: $*" >&2
	exit 77
}

packages() {
	local v
	for v in "${versions[@]}"; do
		echo "python$v python$v-nopie python$v-dev libpython$v libpython$v-dev" \
			"python$v-dbg libpython$v-dbg"
	done
	echo gcc libc6-dev
}

# the deb822 or one-line source apt uses for Debian's main archive
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }' "$f"
	done | head -n 1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) \
			{ print $i; exit } }' "$f"
	done | head -n 1
}

# what a complete root holds: the packages and the launcher's source
want() {
	packages
	cksum <"$here/libpython_launcher.c"
}

# provision DIR: installs the packages and builds the launchers in an unstable root.
provision() {
	local dir=$1 v
	# The archive may be a dated snapshot whose Release is past its Valid-Until: this root is
	# a test fixture rebuilt from the same archive, so an old date is no reason to refuse it.
	local apt="apt-get -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root"

	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	if ! chroot "$dir" env DEBIAN_FRONTEND=noninteractive sh -c "$apt update -qq &&
		$apt install -y -qq --no-install-recommends $(packages | tr '\n' ' ')" \
		>"$dir/tmp/apt.log" 2>&1; then
		tail -n 5 "$dir/tmp/apt.log" >&2
		skip "installing $(packages | tr '\n' ' ') in unstable failed"
	fi
	rm -f "$dir/tmp/apt.log"
	chroot "$dir" apt-get clean >/dev/null 2>&1
	# the shared-library interpreter: /usr/bin/python3.X-shared, linked to libpython3.X.so
	cp "$here/libpython_launcher.c" "$dir/tmp/launcher.c"
	for v in "${versions[@]}"; do
		chroot "$dir" sh -c "gcc -O2 -o /usr/bin/python$v-shared /tmp/launcher.c \
			\$(python$v-config --includes --embed) \$(python$v-config --ldflags --embed)" \
			>&2 || skip "building python$v-shared against libpython$v failed"
	done
	rm -f "$dir/tmp/launcher.c"
	want >"$dir/.pyinst-bpf-complete"
}

here="$(cd "$(dirname "$0")" && pwd)"
[ -L "$root" ] && skip "$root is a symlink; refusing to use it"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(want)" ]; then
	echo "$root"
	exit 0
fi
[ "$(id -u)" = 0 ] || skip "needs root to make $root"
if [ -e "$root" ] && [ ! -f "$root/.pyinst-bpf-made" ]; then
	skip "$root exists and was not made by this script; remove it or set PYI_UNSTABLE_ROOT"
fi
if [ -f "$stamp" ]; then
	# made here before, for other packages: bring it up to date in place
	echo "unstable-root: updating $root" >&2
	provision "$root"
	echo "$root"
	exit 0
fi
command -v debootstrap >/dev/null || skip "debootstrap is not installed (apt-get install debootstrap)"
mirror="$(apt_mirror | head -n 1)"
[ -n "$mirror" ] || skip "no Debian mirror in apt's sources"

# Build beside the cache and move into place only when complete: a half-made root is never
# mistaken for a cached one, and nothing already at $root that we did not make is replaced.
parent="$(dirname "$root")"
mkdir -p "$parent" || skip "cannot create $parent"
work="$(mktemp -d "$parent/.sid.XXXXXX")" || skip "cannot create a work directory in $parent"
trap 'rm -rf --one-file-system "$work" "$work.log"' EXIT
echo "unstable-root: debootstrapping unstable from $mirror into $root (about two minutes)" >&2
if ! debootstrap --variant=minbase unstable "$work" "$mirror" >"$work.log" 2>&1; then
	tail -n 5 "$work.log" >&2
	skip "debootstrap failed"
fi
rm -f "$work.log"
touch "$work/.pyinst-bpf-made"
provision "$work"
[ -e "$root" ] && rm -rf --one-file-system "$root"
mv "$work" "$root" || skip "cannot move the new root to $root"
trap - EXIT
echo "$root"
