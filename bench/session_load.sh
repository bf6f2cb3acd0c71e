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
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
sizes=${*:-100000 1000000}
tmp=${PYI_BENCH_TMP:-/tmp/pyi-session-bench}

if [ ! -x /usr/bin/time ]; then
	echo "session_load: /usr/bin/time is missing (apt-get install time)" >&2
	exit 1
fi
ninja -C "$build" pyinst-bpf gen_session session_stats >/dev/null
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# wall seconds and peak RSS (MiB) of one command
measure() {
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null
	awk '{ printf "%s s %.0f MiB", $1, $2 / 1024 }' "$tmp/time"
}

printf '| samples | kind | records | file MiB | frames | stacks | model MiB | load s | tree s | tree nodes | text: wall, peak RSS | json: wall, peak RSS |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for n in $sizes; do
	for kind in records merged; do
		f=$tmp/s.pyisession
		if [ $kind = merged ]; then
			"$build/gen_session" "$n" --merge >"$f" 2>/dev/null
		else
			"$build/gen_session" "$n" >"$f" 2>/dev/null
		fi
		mib=$(du -m "$f" | cut -f1)
		# records frames stacks load_s tree_s nodes rss_load rss_tree model
		set -- $("$build/session_stats" "$f")
		text=$(measure "$build/pyinst-bpf" --load "$f" -r text -o /dev/null)
		json=$(measure "$build/pyinst-bpf" --load "$f" -r json -o /dev/null)
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			"$n" "$kind" "$1" "$mib" "$2" "$3" "$9" "$4" "$5" "$6" "$text" "$json"
		rm -f "$f"
	done
done
