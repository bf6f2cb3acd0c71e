#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's second command, and what CI runs: installs, builds, runs every test suite
# (unit, integration with real BPF, browser), a bounded fuzz run and the benchmark smoke test.
# Ends with one line "N passed, N failed".
set -uo pipefail
# Installing packages and loading BPF programs need root: re-run through sudo when not root.
if [ "$(id -u)" != 0 ]; then
	if sudo=$(command -v sudo); then
		exec "$sudo" -- "$0" "$@"
	fi
	echo "test.sh: needs root (it installs Debian packages and loads BPF programs) and there is" \
		"no sudo: run it in a root shell" >&2
	exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/install-deps.sh" || exit 1
"$root/scripts/build.sh" || exit 1

passed=0 failed=0 failed_names=""
tally() {	# name, exit status (77 = skipped, said loudly)
	case "$2" in
	0) passed=$((passed + 1)); echo "== $1: ok" ;;
	77) echo "== $1: SKIPPED (see above)" ;;
	*) failed=$((failed + 1)); failed_names="$failed_names; $1"
	   echo "== $1: FAILED ($2)" ;;
	esac
}

# Debian unstable's CPython 3.14 and 3.15 builds for the integration suite (cached after the
# first run; skipped loudly when the root cannot be made)
if sid=$(scripts/unstable-root.sh); then
	export PYI_UNSTABLE_ROOT="$sid"
	tally "Debian unstable root (CPython 3.14, 3.15)" 0
else
	tally "Debian unstable root (CPython 3.14, 3.15)" $?
fi

meson test -C build --print-errorlogs --num-processes 1 --timeout-multiplier 2
status=$?
# meson's own counts
log=build/meson-logs/testlog.json
if [ -f "$log" ]; then
	ok=$(grep -c '"result": "OK"' "$log" || true)
	bad=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	# name the failed meson tests in the closing line too (CI keeps only the tail)
	names=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t.get("result") in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
        print("; " + t["name"] + " (" + t["result"] + ")", end="")' "$log" 2>/dev/null)
	failed_names="$failed_names$names"
fi
[ "$status" = 0 ] || [ -f "$log" ] || failed=$((failed + 1))

# the unit suite again under ASan/UBSan: memory errors, leaks and undefined behaviour fail it
scripts/sanitize.sh > build/sanitize.log 2>&1
sanitize_status=$?
tail -n 4 build/sanitize.log
[ "$sanitize_status" = 0 ] || grep -E "FAIL|TIMEOUT|ERROR|runtime error" build/sanitize.log | head -20
tally "unit tests under ASan/UBSan (log build/sanitize.log)" $sanitize_status

# and under valgrind's memcheck (uninitialised reads, which ASan does not see)
scripts/valgrind.sh > build/valgrind.log 2>&1
valgrind_status=$?
tail -n 4 build/valgrind.log
[ "$valgrind_status" = 0 ] || grep -E "FAIL|TIMEOUT|ERROR|==[0-9]+==" build/valgrind.log | head -20
tally "unit tests under valgrind (log build/valgrind.log)" $valgrind_status

if [ -x tests/fuzz/run.sh ]; then
	# libFuzzer's progress lines are long: keep the last few, the verdict is the exit status
	tests/fuzz/run.sh "${PYI_FUZZ_SECONDS:-60}" > build/fuzz.log 2>&1
	fuzz_status=$?
	if [ "$fuzz_status" = 0 ]; then tail -n 4 build/fuzz.log; else tail -n 80 build/fuzz.log; fi
	tally "fuzz (session loader, ${PYI_FUZZ_SECONDS:-60}s; log build/fuzz.log)" $fuzz_status
fi
if [ -f bench/run.py ]; then
	python3 bench/run.py --smoke
	tally "benchmark smoke" $?
fi
# the failed checks themselves last, beside the closing line: CI keeps only the tail
if [ -f build/meson-logs/testlog.txt ] && grep -q " FAIL: " build/meson-logs/testlog.txt; then
	echo "failed checks:"
	grep -h " FAIL: " build/meson-logs/testlog.txt | sort -u | head -n 20
fi
if [ "$failed" = 0 ]; then
	echo "$passed passed, $failed failed"
else
	echo "$passed passed, $failed failed: ${failed_names#; }"
fi
[ "$failed" = 0 ]
