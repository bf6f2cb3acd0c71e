#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: install, build, and profile the bundled demo program.
# Prints the call tree and writes demo.html (and demo.pyisession) in the current directory.
set -euo pipefail
# Installing packages and loading BPF programs need root: re-run through sudo when not root.
if [ "$(id -u)" != 0 ]; then
	if sudo=$(command -v sudo); then
		exec "$sudo" -- "$0" "$@"
	fi
	echo "quickstart.sh: needs root (it installs Debian packages and loads BPF programs) and there is" \
		"no sudo: run it in a root shell" >&2
	exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin="$root/build/pyinst-bpf"
"$bin" -q -o demo.pyisession -- python3 "$root/scripts/demo.py"
"$bin" --load demo.pyisession
"$bin" --load demo.pyisession -o demo.html
echo "wrote $(pwd)/demo.html and $(pwd)/demo.pyisession"
