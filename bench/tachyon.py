#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark pyinst-bpf against Tachyon, CPython 3.15's own sampling profiler, on Debian's 3.15.

Run as root under the benchmark lock, e.g.
    flock -x /tmp/pyinst-bench.lock python3 bench/tachyon.py [--repeats N]
Both attach to the same workloads as bench/run.py (handshake, ground truth), interleaved with
unprofiled runs, at 1 kHz and 10 kHz. See docs/benchmarks.md, "Against Tachyon".
"""
import argparse
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402
from benchkit import procstat, profilers, report, runner, tachyon  # noqa: E402

WORKLOADS = (runner.Workload("cpu_split", "cpu_split.py"),
             runner.Workload("recursion-900", "recursion.py", ["900"]),
             runner.Workload("threads", "threads.py"))
INTERVALS = (0.001, 0.0001)
TARGETS = ("at 10 kHz: samples received >= 99%, share error <= 0.5 points, profiler CPU at "
           "least 5x below Tachyon's, slowdown no worse")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.75)
    parser.add_argument("--profiler", default=os.path.join(run.ROOT, "build", "pyinst-bpf"))
    parser.add_argument("--workload", action="append", default=[])
    parser.add_argument("--no-floor", dest="floor", action="store_false",
                        help="leave out the perf record runs (the interrupts' cost alone)")
    parser.add_argument("--json", default=os.path.join(run.RESULTS_DIR, "tachyon.json"))
    return parser.parse_args(argv)


def ours_cpu_per_s(row):
    """Our CPU per second of profiling: the collector's and the BPF program's, which runs in
    the target's context and so is not in the collector's CPU time."""
    if row.get("cpu_steady") is None:
        return None
    return row["cpu_steady"] + (row.get("bpf_s_per_s") or 0)


def slowdown(row):
    """On-CPU slowdown where the workload measures it (its main work runs in one thread), else
    the wall-clock one (threads)."""
    if row.get("slowdown_oncpu") is not None:
        return row["slowdown_oncpu"]
    return row.get("slowdown")


def summary(rows):
    """Tachyon against ours per workload at each rate: the figures the targets name."""
    lines = []
    by = {(r["workload"], r["interval"], r["profiler"]): r for r in rows}
    for w in WORKLOADS:
        for interval in INTERVALS:
            ours, them = by.get((w.label, interval, "ours")), by.get((w.label, interval,
                                                                        "tachyon"))
            floor = by.get((w.label, interval, "perf")) or {}
            if not ours or not them:
                continue
            ours_cpu = ours_cpu_per_s(ours)
            cpu_ratio = (them["cpu_steady"] / ours_cpu
                         if ours_cpu and them.get("cpu_steady") else None)
            lines.append("%-14s %5.0f Hz  received %s / %s  share err %s / %s  "
                         "slowdown %s / %s (perf record alone %s)  "
                         "profiler CPU %s / %s s/s (Tachyon %sx)" % (
                             w.label, 1 / interval, report.fmt(ours.get("received_pct"), "%.1f%%"),
                             report.fmt(them.get("own_received_pct"), "%.1f%%"),
                             report.fmt(ours.get("share_error"), "%.2f"),
                             report.fmt(them.get("share_error"), "%.2f"),
                             report.fmt(slowdown(ours), "%+.1f%%"),
                             report.fmt(slowdown(them), "%+.1f%%"),
                             report.fmt(slowdown(floor), "%+.1f%%"),
                             report.fmt(ours_cpu, "%.4f"),
                             report.fmt(them.get("cpu_steady"), "%.4f"),
                             report.fmt(cpu_ratio, "%.1f")))
    return "\n".join(["ours / Tachyon (medians):"] + lines)


def main(argv):
    args = parse_args(argv)
    # Tachyon writes its output on SIGINT only if Python installed its handler, which it does
    # not when SIGINT was ignored at its start (as in a background job): reset it for children
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.geteuid() != 0:
        sys.exit("bench: run as root (BPF, chroot, nsenter)")
    root = tachyon.unstable_root()
    if not root:
        print("bench: SKIPPED: no Debian unstable root with python3.15 "
              "(scripts/unstable-root.sh says why)", file=sys.stderr)
        return 77
    python = tachyon.chroot_python(root)
    none, ours, peer = profilers.Unprofiled(), profilers.Ours(args.profiler), tachyon.Tachyon()
    # perf record alone: what the kernel's timer interrupts cost at the same rate, the floor
    # of any sampler built on them (ours included), beside Tachyon which uses none
    floor = [p for p in (profilers.PerfRecord(),) if p.available(python)] if args.floor else []
    chosen = [w for w in WORKLOADS if not args.workload or
              any(s in w.label for s in args.workload)]
    cells = [run.Cell("tachyon", python, w, [none, ours, peer] + floor, interval, args.repeats,
                      args.scale) for interval in INTERVALS for w in chosen]
    previous = procstat.bpf_stats_enable()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="pyi-bench-") as tmpdir:
            run.execute(cells, "cpu", tmpdir)
    finally:
        procstat.bpf_stats_restore(previous)
    rows = [row for cell in cells for row in run.cell_rows(cell)]
    meta = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "kernel": os.uname().release,
            "machine": run.cpu_model(), "cpus": os.cpu_count(), "commit": run.git_commit(),
            "repeats": args.repeats, "scale": args.scale, "mode": "cpu", "targets": TARGETS,
            "elapsed": time.monotonic() - started, "python": "Debian unstable python3.15"}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    report.write_json(args.json, {"meta": meta, "rows": rows})
    print(report.text_table(rows))
    print()
    print(summary(rows))
    print("\nwritten: %s" % args.json)
    failures = run.harness_failures(cells)
    for failure in failures:
        print("bench: FAILED %s" % failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
