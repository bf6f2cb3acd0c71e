#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unit suite under valgrind's memcheck, on build/: invalid reads and writes, uses of
# uninitialised values, and definite or indirect leaks fail it. `proc` is left out: its test
# calls openat2(), which Debian 12's valgrind (3.19) does not know, so the call fails there and
# the test with it (ASan covers it). test.sh runs this; run it alone after touching C code.
set -euo pipefail
cd "$(dirname "$0")/.."
ninja -C build >/dev/null
mapfile -t tests < <(meson test -C build --list --suite unit 2>/dev/null |
	sed -n 's|^pyinst-bpf:unit / ||p' | grep -vx proc)
exec meson test -C build --print-errorlogs --num-processes 2 --timeout-multiplier 20 \
	--wrap='valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect' \
	"${tests[@]}"
