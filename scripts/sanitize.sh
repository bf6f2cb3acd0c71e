#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unit suite under AddressSanitizer and UndefinedBehaviorSanitizer (leaks included), in
# build-asan/. Any report fails the run: UBSan halts on its first finding instead of printing
# and going on. test.sh runs this; run it alone after touching C code.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
fi
ninja -C build-asan >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# the sanitizers make the 30M-sample session test several times slower
exec meson test -C build-asan --suite unit --print-errorlogs --timeout-multiplier 6
