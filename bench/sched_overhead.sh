#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 6's benchmark: what wall mode costs other processes and a switch-heavy target. Wall
# mode has no scheduler hooks since issue 12 (a task iterator reads threads off a CPU);
# bench/wall_cost.py measures the same, interleaved, with a threaded HTTP server too.
#  1. `perf bench sched pipe` (not a target) with the profiler attached to an idle Python.
#  2. A Python ping-pong (a context switch per message) profiled itself in wall mode:
#     its slowdown, and the scheduler events per second the sampler handled.
# Both sides of each ping-pong run on CPU 0, so a round trip is two context switches and
# nothing else (across CPUs, idle wakeup latency dominates and varies). Run as root.
# Prints medians of RUNS runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${PYI_BIN:-$root/build/pyinst-bpf}"
runs="${RUNS:-5}"
py="${PYTHON:-python3}"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
pipe_us() { taskset -c 0 perf bench sched pipe -l 100000 2>/dev/null | awk '/usecs\/op/ {print $1}'; }
pingpong_us() { taskset -c 0 "$py" "$root/bench/pingpong.py" 50000 | awk '{print $1}'; }

# BPF run-time stats cost every program run two clock reads: keep them off here
sysctl -qw kernel.bpf_stats_enabled=0
idle_target() { "$py" -c 'import time; time.sleep(3600)' >/dev/null 2>&1 & echo $!; }

echo "== perf bench sched pipe, profiler attached to an idle Python (wall mode)"
base=(); with=()
for i in $(seq "$runs"); do
	base+=("$(pipe_us)")
	pid=$(idle_target)
	sleep 0.3
	"$bin" -q --mode wall --pid "$pid" -o /dev/null -r session &
	prof=$!
	sleep 1	# loaded and attached
	with+=("$(pipe_us)")
	kill -INT "$prof"; wait "$prof" || true
	kill "$pid" 2>/dev/null || true
done
b=$(printf '%s\n' "${base[@]}" | median); w=$(printf '%s\n' "${with[@]}" | median)
echo "not profiled: ${b} us/op   profiler on another process: ${w} us/op   slowdown: $(awk -v b="$b" -v w="$w" 'BEGIN {printf "%+.1f%%", (w / b - 1) * 100}')"

echo "== Python ping-pong profiled itself in wall mode"
base=(); with=(); rates=()
for i in $(seq "$runs"); do
	base+=("$(pingpong_us)")
	out=$("$bin" -q --mode wall -o /dev/null -r session -- taskset -c 0 "$py" "$root/bench/pingpong.py" 50000)
	with+=("$(echo "$out" | awk '{print $1}')")
done
b=$(printf '%s\n' "${base[@]}" | median); w=$(printf '%s\n' "${with[@]}" | median)
echo "not profiled: ${b} us/round trip   profiled (wall): ${w} us/round trip   slowdown: $(awk -v b="$b" -v w="$w" 'BEGIN {printf "%+.1f%%", (w / b - 1) * 100}')"
echo "target context switches: $(awk -v w="$w" 'BEGIN {printf "%.0f", 2 / (w / 1e6)}') per second"
