#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Usage: bench/session_load.sh [build dir] [sizes...]   (default: build, 100000 1000000)
#
# Sessions: load and render. For each size N, generates an 8-thread .pyisession of N samples
# (bench/gen_session.c: one record per sample, as pyinstrument writes them; and "merged", as
# pyinst-bpf writes them), then measures `pyinst-bpf --load X -r text|json -o /dev/null` wall
# time and peak RSS with /usr/bin/time, and bench/session_stats.c's look inside: load and tree
# build time, frames, stacks, tree nodes and the session model's size. Files go to
# $PYI_BENCH_TMP (default /tmp/pyi-session-bench) and are removed at the end.
#
# Environment: PYI_BENCH_DEPTH=D stacks of D/2..D frames (default 40; 8 makes the ~420-byte
# records of the 10M-record target, a 4 GB file); PYI_BENCH_KINDS (default "records merged");
# PYI_BENCH_RUNS=N runs each timed command N times and prints the median (default 1);
# PYI_BENCH_BASE=DIR also times DIR/pyinst-bpf (another build: the code before a change),
# interleaved with this one run by run, in a "base text" column; PYI_BENCH_LOCK=FILE holds
# FILE exclusively (flock -x) around each file's timed runs only (not while generating).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
sizes=${*:-100000 1000000}
tmp=${PYI_BENCH_TMP:-/tmp/pyi-session-bench}
depth=${PYI_BENCH_DEPTH:-40}
kinds=${PYI_BENCH_KINDS:-records merged}
runs=${PYI_BENCH_RUNS:-1}
base=${PYI_BENCH_BASE:-}
lock=${PYI_BENCH_LOCK:-}

if [ ! -x /usr/bin/time ]; then
	echo "session_load: /usr/bin/time is missing (apt-get install time)" >&2
	exit 1
fi
ninja -C "$build" pyinst-bpf gen_session session_stats >/dev/null
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# one timed run: appends "wall peak-RSS-KiB" to file $1
run_once() {
	out=$1
	shift
	/usr/bin/time -f '%e %M' -a -o "$out" "$@" >/dev/null
}

# $lock, held on descriptor 9 from lock_take to lock_drop
lock_take() {
	if [ -n "$lock" ]; then
		exec 9>>"$lock"
		flock -x 9
	fi
}

lock_drop() {
	if [ -n "$lock" ]; then
		flock -u 9
		exec 9>&-
	fi
}

# the median wall seconds and its peak RSS (MiB) of the runs in file $1
median() {
	sort -n "$1" | awk '{ w[NR] = $1; m[NR] = $2 }
		END { i = int((NR + 1) / 2); printf "%s s %.0f MiB", w[i], m[i] / 1024 }'
}

# wall seconds and peak RSS (MiB) of one command, the median of $runs
measure() {
	: >"$tmp/time"
	for i in $(seq "$runs"); do
		run_once "$tmp/time" "$@"
	done
	median "$tmp/time"
}

# the same for this build's and the base build's text render, interleaved run by run
measure_both() {
	: >"$tmp/time"
	: >"$tmp/time.base"
	for i in $(seq "$runs"); do
		run_once "$tmp/time.base" "$base/pyinst-bpf" --load "$1" -r text -o /dev/null
		run_once "$tmp/time" "$build/pyinst-bpf" --load "$1" -r text -o /dev/null
	done
	printf '%s | %s' "$(median "$tmp/time.base")" "$(median "$tmp/time")"
}

if [ -n "$base" ]; then
	printf '| samples | kind | records | file MiB | frames | stacks | model MiB | load s | tree s | tree nodes | base text: wall, peak RSS | text: wall, peak RSS | json: wall, peak RSS |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
else
	printf '| samples | kind | records | file MiB | frames | stacks | model MiB | load s | tree s | tree nodes | text: wall, peak RSS | json: wall, peak RSS |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
fi
for n in $sizes; do
	for kind in $kinds; do
		f=$tmp/s.pyisession
		if [ $kind = merged ]; then
			"$build/gen_session" "$n" --depth "$depth" --merge >"$f" 2>/dev/null
		else
			"$build/gen_session" "$n" --depth "$depth" >"$f" 2>/dev/null
		fi
		mib=$(du -m "$f" | cut -f1)
		# records frames stacks load_s tree_s nodes rss_load rss_tree model
		set -- $("$build/session_stats" "$f")
		lock_take
		if [ -n "$base" ]; then
			text=$(measure_both "$f")
		else
			text=$(measure "$build/pyinst-bpf" --load "$f" -r text -o /dev/null)
		fi
		json=$(measure "$build/pyinst-bpf" --load "$f" -r json -o /dev/null)
		lock_drop
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			"$n" "$kind" "$1" "$mib" "$2" "$3" "$9" "$4" "$5" "$6" "$text" "$json"
		rm -f "$f"
	done
done
