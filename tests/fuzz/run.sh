#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Usage: tests/fuzz/run.sh [seconds]   (default 60)
#
# Builds the libFuzzer targets with clang, ASan and UBSan in their own build dir (build-fuzz, or
# $PYI_FUZZ_BUILD), replays every saved regression, then fuzzes the .pyisession loader for the
# given time from the seed corpus. A crash, leak or UB report stops it; the input is saved in
# tests/fuzz/regressions/ and is replayed first on every later run, so keep it once fixed.
#
# -Dtests=true, not false: tests/fuzz is reached through tests/meson.build, which the top level
# only reads with tests on. Only the fuzz target is built, so the BPF and test binaries need not.
set -eu

secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$src/tests/fuzz
build=${PYI_FUZZ_BUILD:-$src/build-fuzz}
bin=$build/tests/fuzz/fuzz_session_load

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" -Dfuzz=true -Dtests=true \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all'
fi
ninja -C "$build" tests/fuzz/fuzz_session_load

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Each regression once; libFuzzer runs the files it is given and exits non-zero on a failure.
set -- "$fuzz"/regressions/*
if [ -e "$1" ]; then
	echo "fuzz: replaying $# regression input(s)"
	"$bin" -error_exitcode=1 "$@" || exit 1
fi

# New inputs go to a scratch corpus in the build dir; the seeds in the tree stay as they are.
work=$build/fuzz-corpus
mkdir -p "$work"
echo "fuzz: fuzzing session_load for $secs s"
# libFuzzer's own failure code is 77, which test.sh reads as "skipped": say 1 instead
exec "$bin" -error_exitcode=1 -timeout_exitcode=1 -max_total_time="$secs" -max_len=65536 \
	-timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$fuzz/regressions/" "$work" "$fuzz/corpus"
