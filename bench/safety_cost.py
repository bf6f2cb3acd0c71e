#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 11's figures: what sampling costs the host, and whether -d ends on time under load.

1. Kernel time per CPU-second (system + irq + softirq from /proc/stat, minus a run of the same
   busy target without the profiler) for a busy Python target at N threads and each interval;
   beside it the sampler's own measure of its BPF time ("sampler cost", -v).
2. `-d 5` against heavy load (8 processes x 4 threads, stacks 1000 deep, at the floor
   interval): when sampling ended, by the tool's clock and by ours.

Run as root, alone on the machine: flock -x /tmp/pyinst-bench.lock python3 bench/safety_cost.py
Environment: PYI_BIN (default build/pyinst-bpf), PYTHON (default python3), SECONDS_PER_RUN (3).
"""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PYI_BIN", os.path.join(ROOT, "build", "pyinst-bpf"))
PY = os.environ.get("PYTHON", "python3")
BUSY = os.path.join(ROOT, "tests", "integration", "workloads", "busy.py")
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
NCPU = os.cpu_count()
HZ = os.sysconf("SC_CLK_TCK")


def kernel_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[2] + v[5] + v[6]	# system, irq, softirq


def busy(n, threads, depth, seconds):
    procs = [subprocess.Popen([PY, BUSY, str(seconds), str(threads), str(depth)])
             for _ in range(n)]
    time.sleep(0.4)
    return procs


def one_run(threads, interval, depth=50):
    """Kernel ms per CPU-second during SECONDS of a busy target, and the sampler's own figure."""
    procs = busy(1, threads, depth, SECONDS + 3)
    try:
        k0, t0 = kernel_jiffies(), time.time()
        own = None
        if interval:
            p = subprocess.run([BIN, "-v", "--mode", "cpu", "-i", str(interval), "-d",
                                str(SECONDS), "-r", "folded", "-o", "/dev/null", "--pid",
                                str(procs[0].pid)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            m = re.search(r"sampler cost: ([0-9.]+) ms", p.stderr.decode())
            own = float(m.group(1)) if m else None
            raised = "interval raised" in p.stderr.decode()
        else:
            time.sleep(SECONDS)
            raised = False
        k1, t1 = kernel_jiffies(), time.time()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return (k1 - k0) * 1000.0 / HZ / (t1 - t0) / NCPU, own, raised


def cost_table():
    intervals = [0.001, 0.0005, 0.0002, 0.0001]
    print("== kernel time per CPU-second, busy target (stacks 50 deep), --mode cpu, %.0f s runs"
          % SECONDS)
    print("threads  interval   host kernel ms/s (over baseline)   sampler's BPF ms/s   rate lowered")
    for threads in (1, 4, 16):
        base = statistics.median(one_run(threads, 0)[0] for _ in range(2))
        for interval in intervals:
            host, own, raised = one_run(threads, interval)
            print("%7d  %6.2f ms  %10.1f (%+.1f)  %22s   %s" % (
                threads, interval * 1e3, host, host - base,
                "%.2f" % own if own is not None else "?", "yes" if raised else "no"))
        print("%7d  baseline   %10.1f" % (threads, base))


def stop_on_time(duration=5.0):
    print("== -d %g under heavy load: 8 processes x 4 threads, 1000 frames deep, -i 0.0001"
          % duration)
    procs = busy(8, 4, 1000, duration + 60)
    try:
        args = [BIN, "-v", "-d", str(duration), "-i", "0.0001", "-r", "folded", "-o", "/dev/null"]
        for p in procs:
            args += ["--pid", str(p.pid)]
        prof = subprocess.Popen(args, stderr=subprocess.PIPE)
        started = ended = None
        for raw in prof.stderr:
            line = raw.decode(errors="replace")
            if "sampling started" in line:
                started = time.time()
            if "sampling ended after" in line:
                ended = time.time()
                tool = float(re.search(r"after ([0-9.]+) s", line).group(1))
            if "interval raised" in line or "skipped" in line:
                print("  " + line.strip())
        prof.wait()
        exited = time.time()
        print("  sampling ended after %.3f s by the tool's clock, %.3f s by ours; exit %d, "
              "%.1f s later (the report)" % (tool, ended - started, prof.returncode,
                                             exited - ended))
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root")
    print("%d CPUs, kernel %s" % (NCPU, os.uname().release))
    cost_table()
    stop_on_time()
