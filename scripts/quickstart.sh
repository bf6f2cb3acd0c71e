#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: install, build, and profile the bundled demo program.
# Prints the call tree and writes demo.html (and demo.pyisession) in the current directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin="$root/build/pyinst-bpf"
"$bin" -q -o demo.pyisession -- python3 "$root/scripts/demo.py"
"$bin" --load demo.pyisession
"$bin" --load demo.pyisession -o demo.html
echo "wrote $(pwd)/demo.html and $(pwd)/demo.pyisession"
