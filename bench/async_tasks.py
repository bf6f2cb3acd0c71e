#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--async with many live tasks (issue 17): the profiler's CPU, lost records and the target's
slowdown, against a run without a profiler and one without --async, interleaved.

  flock -x /tmp/pyinst-bench.lock bench/async_tasks.py [--python P] [--tasks N] [--rounds R]

Prints one line per run and the medians. Profiler CPU is its utime+stime over its wall time."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(args, variant, d):
    ready, result = os.path.join(d, "ready"), os.path.join(d, "result.json")
    for p in (ready, result):
        if os.path.exists(p):
            os.unlink(p)
    open(ready, "w").close()
    target = subprocess.Popen([args.python, os.path.join(HERE, "workloads", "many_tasks.py"),
                               str(args.tasks), ready, str(args.seconds), result])
    deadline = time.time() + 120
    while open(ready).read() != "ready":
        if time.time() > deadline or target.poll() is not None:
            target.kill()
            sys.exit("many_tasks.py never got ready")
        time.sleep(0.05)
    prof, t0, cpu, err = None, None, 0.0, ""
    if variant != "none":
        opts = ["--async"] if variant == "async" else []
        session = os.path.join(d, "s.pyisession")
        # not -q: the warnings (records dropped) are read below
        prof = subprocess.Popen([args.bin, "-o", session, "--pid", str(target.pid)] + opts,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached and past its first scans
        t0 = time.monotonic()
        cpu0 = cpu_seconds(prof.pid)
    with open(ready, "w") as f:
        f.write("go")
    target.wait(timeout=args.seconds + 120)
    if prof:
        cpu = cpu_seconds(prof.pid) - cpu0
        wall = time.monotonic() - t0
        prof.terminate()
        _, e = prof.communicate(timeout=60)
        err = e.decode(errors="replace")
        cpu /= wall
    with open(result) as f:
        steps = json.load(f)["steps_per_s"]
    lost = sum(int(w.split()[0]) for w in err.split("records dropped")[:-1] if w.split()
               and w.split()[-1].isdigit()) if "records dropped" in err else 0
    return steps, cpu, lost, [l for l in err.strip().splitlines()
                              if not re.match(r"pyinst-bpf: [0-9.]+s, \d+ samples, ", l)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/root/.pyenv/versions/3.12.1/bin/python3.12")
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "pyinst-bpf"))
    args = ap.parse_args()
    res = {"none": [], "plain": [], "async": []}
    with tempfile.TemporaryDirectory(prefix="pyi-async-bench-") as d:
        for r in range(args.rounds):
            for variant in ("none", "plain", "async"):
                steps, cpu, lost, warn = one_run(args, variant, d)
                res[variant].append((steps, cpu, lost))
                print("round %d %-5s steps/s %8.1f profiler cpu %.4f s/s lost %d %s" %
                      (r, variant, steps, cpu, lost, "; ".join(warn)[:200]), flush=True)
    base = statistics.median(s for s, _, _ in res["none"])
    print("tasks %d, python %s, %d rounds of %.0f s" % (args.tasks, args.python, args.rounds,
                                                        args.seconds))
    for v in ("none", "plain", "async"):
        steps = statistics.median(s for s, _, _ in res[v])
        cpu = statistics.median(c for _, c, _ in res[v])
        print("%-5s median steps/s %8.1f (%.1f%% of no profiler), profiler cpu %.4f s/s, "
              "lost %d" % (v, steps, 100 * steps / base, cpu, sum(l for _, _, l in res[v])))


if __name__ == "__main__":
    main()
