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

passed=0 failed=0
tally() {	# name, exit status (77 = skipped, said loudly)
	case "$2" in
	0) passed=$((passed + 1)); echo "== $1: ok" ;;
	77) echo "== $1: SKIPPED (see above)" ;;
	*) failed=$((failed + 1)); echo "== $1: FAILED ($2)" ;;
	esac
}

meson test -C build --print-errorlogs --num-processes 1 --timeout-multiplier 2
status=$?
# meson's own counts
log=build/meson-logs/testlog.json
if [ -f "$log" ]; then
	ok=$(grep -c '"result": "OK"' "$log" || true)
	bad=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
fi
[ "$status" = 0 ] || [ -f "$log" ] || failed=$((failed + 1))

if [ -x tests/fuzz/run.sh ]; then
	tests/fuzz/run.sh "${PYI_FUZZ_SECONDS:-60}"
	tally "fuzz (session loader, ${PYI_FUZZ_SECONDS:-60}s)" $?
fi
if [ -f bench/run.py ]; then
	python3 bench/run.py --smoke
	tally "benchmark smoke" $?
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
