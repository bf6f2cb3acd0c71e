#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Long sessions (docs/long-sessions.md): prints the figures of issue 15's targets.
#   bench/long_session.sh [BUILD_DIR] [parts...]     parts: hour ratio server load (default: all)
#
#   hour    one hour, 50 threads, 1 kHz wall (180M samples) replayed through the session by
#           bench/long_session.c: peak RSS, CPU per second of session, report writing time,
#           HTML size, then first draw in headless chromium (bench/html_report.mjs)
#   ratio   the same replay for a 33-thread server, 15 s against 45 s: peak RSS and HTML size
#   server  the real thing: pyinst-bpf --pid on bench/workloads/http_load.py (33 threads
#           under load), 15 s against 45 s (needs root); env PYI_SERVER_SECONDS="15 45"
#   load    --load of a 10M-record .pyisession (bench/gen_session.c --depth 8, 4.2 GB) and the
#           text render: wall time and peak RSS
# Timings want the machine alone: run under `flock -x /tmp/pyinst-bench.lock`.
# Files go to $PYI_BENCH_TMP (default /tmp/pyi-long-bench) and are removed at the end.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
parts=${*:-hour ratio server load}
tmp=${PYI_BENCH_TMP:-/tmp/pyi-long-bench}

if [ ! -x /usr/bin/time ]; then
	echo "long_session: /usr/bin/time is missing (apt-get install time)" >&2
	exit 1
fi
ninja -C "$build" pyinst-bpf long_session gen_session >/dev/null
mkdir -p "$tmp"
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

# "name value" lines of long_session, as one "name=value ..." line
replay() {
	"$build/long_session" "$@" | tr ' ' '=' | tr '\n' ' '
	echo
}

first_draw() {
	if [ -x /usr/bin/chromium ] && [ -d "$src/tests/browser/node_modules/playwright-core" ]; then
		node --max-old-space-size=4096 "$src/bench/html_report.mjs" "$@" | tail -n +2 |
			awk '{ printf "%s: %s MB, first draw %s ms, timeline %s ms\n", $1, $3, $5, $7 }'
	else
		echo "first draw: skipped (needs /usr/bin/chromium and (cd tests/browser && npm ci))"
	fi
}

for part in $parts; do
	case $part in
	hour)
		echo "## one hour, 50 threads, 1 kHz wall (replayed)"
		replay --threads 50 --seconds 3600 --rate 1000 -o "$tmp/hour.html"
		first_draw "$tmp/hour.html"
		;;
	ratio)
		echo "## 33 threads at 1 kHz, 15 s against 45 s (replayed)"
		for s in 15 45; do
			printf '%s s: ' "$s"
			replay --threads 33 --seconds "$s" --rate 1000 -o "$tmp/r$s.html"
		done
		;;
	server)
		echo "## pyinst-bpf --pid on a 33-thread HTTP server under load"
		python3 "$src/bench/workloads/http_load.py" 32 >"$tmp/pid" 2>/dev/null &
		server=$!
		sleep 2
		pid=$(cat "$tmp/pid")
		for s in ${PYI_SERVER_SECONDS:-15 45}; do
			/usr/bin/time -f '%M' -o "$tmp/rss" "$build/pyinst-bpf" --pid "$pid" -d "$s" -q \
				-o "$tmp/s$s.html"
			printf '%s s: peak RSS %s MiB, HTML %s MB, %s threads\n' "$s" \
				"$(awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss")" \
				"$(stat -c %s "$tmp/s$s.html" | awk '{ printf "%.2f", $1 / 1e6 }')" \
				"$(ls "/proc/$pid/task" | wc -l)"
		done
		kill "$server"
		server=
		;;
	load)
		echo "## --load of a 10M-record .pyisession, text"
		"$build/gen_session" 10000000 --depth 8 >"$tmp/10m.pyisession" 2>/dev/null
		printf 'file: %s MB\n' "$(stat -c %s "$tmp/10m.pyisession" | awk '{ printf "%.0f", $1 / 1e6 }')"
		for i in 1 2 3; do
			/usr/bin/time -f '%e s, peak RSS %M KiB' "$build/pyinst-bpf" \
				--load "$tmp/10m.pyisession" -r text -o /dev/null
		done
		rm -f "$tmp/10m.pyisession"
		;;
	*)
		echo "long_session: unknown part $part (hour ratio server load)" >&2
		exit 2
		;;
	esac
done
