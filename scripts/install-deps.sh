#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what pyinst-bpf needs to build and test on Debian 12, from Debian's packages only.
set -euo pipefail

packages=(
	meson ninja-build pkg-config gcc clang llvm		# build; clang's BPF target
	libbpf-dev bpftool libelf-dev zlib1g-dev libcjson-dev	# BPF loading, ELF symbols, formats
	libcurl4-openssl-dev systemd debootstrap		# continuous mode: push, unit check, one-file test
	libcmocka-dev python3 valgrind wrk			# tests (wrk: a local HTTP load)
	golang-go						# go tool pprof reads our pprof output
	chromium nodejs npm					# the HTML report's browser tests
	python3-ipython python3-django python3-fastapi		# the Python API's integrations
	python3-httpx python3-starlette				# (FastAPI's TestClient)
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian's packages: keep those
if command -v node >/dev/null && command -v npm >/dev/null; then
	missing=("${missing[@]/nodejs}")
	missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
