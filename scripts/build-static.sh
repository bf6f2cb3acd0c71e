#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds one self-contained pyinst-bpf (libbpf, libelf, zlib, cJSON and glibc linked in) in
# build-static/: a file to copy to a Linux host with nothing installed but the kernel (5.8+ with
# BTF). Debian has no static cJSON archive, so Debian's cJSON source package (with its patches)
# is fetched with apt-get into /var/cache/pyinst-bpf/static-deps and compiled in; nothing of it is committed.
# The static binary has no --push (Debian's libcurl cannot be linked statically): it writes
# --output-dir files; see README, "One file to copy".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
deps="${PYI_STATIC_DEPS:-/var/cache/pyinst-bpf/static-deps}"	# outside the source tree: meson
mkdir -p "$deps"
if [ ! -f "$deps/cjson/cJSON.c" ]; then
	apt_dir="$deps/apt"
	mkdir -p "$apt_dir/lists/partial"
	cat >"$apt_dir/src.sources" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	# a private source list and state: the system's apt configuration is left alone
	apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir"
		-o "Dir::State::Lists=$apt_dir/lists" -o Debug::NoDropPrivs=1)
	# exit 77: this machine cannot fetch it (no network), which is not a failed build
	if ! apt-get "${apt_opts[@]}" update -qq ||
		! (cd "$deps" && apt-get "${apt_opts[@]}" source -qq --download-only cjson >/dev/null 2>&1); then
		echo "build-static.sh: cannot fetch Debian's cJSON source with apt-get" >&2
		exit 77
	fi
	dsc=$(ls "$deps"/cjson_*.dsc | head -1)
	rm -rf "$deps/cjson-src"
	dpkg-source --no-check -x "$dsc" "$deps/cjson-src" >/dev/null
	mkdir -p "$deps/cjson/include/cjson"
	cp "$deps/cjson-src/cJSON.c" "$deps/cjson/"
	cp "$deps/cjson-src/cJSON.h" "$deps/cjson/include/cjson/"
fi
if [ ! -f build-static/build.ninja ]; then
	meson setup build-static --buildtype=release -Dstatic=true -Dtests=false \
		-Dcjson_src="$deps/cjson" >/dev/null
fi
ninja -C build-static pyinst-bpf >/dev/null
echo "built: $root/build-static/pyinst-bpf"
