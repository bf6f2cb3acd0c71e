#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 11's figures: what sampling costs the host, and whether -d ends on time under load.

1. The sampler's kernel time per CPU-second, as it measures it itself (ktime at the perf_event
   program's entry and exit, the budget map; "sampler cost" with -v), for a busy Python target
   at N threads, stacks D deep, each interval; and whether the budget had to lower the rate.
   (Host-wide /proc/stat deltas are printed too; on a kernel without IRQ_TIME_ACCOUNTING the
   timer interrupts are charged to the interrupted task, and on a shared machine they are noise.)
2. `-d 5` against heavy load (8 processes x 4 threads, stacks 1000 deep, at the floor
   interval): when sampling ended, by the tool's clock and by ours.

Run as root, alone on the machine: flock -x /tmp/pyinst-bench.lock python3 bench/safety_cost.py
Environment: PYI_BIN (default build/pyinst-bpf), PYTHON (default python3), SECONDS_PER_RUN (3).
"""
import os
import re
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


def one_run(threads, interval, depth):
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
    print("== the sampler's kernel time per CPU-second, busy target, --mode cpu, %.0f s runs"
          % SECONDS)
    print("threads  depth  interval   sampler ms/s   rate lowered   host kernel ms/s (over idle)")
    for threads, depth in ((1, 50), (4, 50), (16, 50), (4, 1000)):
        base = one_run(threads, 0, depth)[0]
        for interval in intervals:
            host, own, raised = one_run(threads, interval, depth)
            print("%7d  %5d  %6.2f ms  %12s   %12s   %.1f (%+.1f)" % (
                threads, depth, interval * 1e3, "%.2f" % own if own is not None else "?",
                "yes" if raised else "no", host, host - base))


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
            if line.strip() == "pyinst-bpf: sampling started":
                started = time.time()
            if "sampling ended after" in line:
                ended = time.time()
                tool = float(re.search(r"after ([0-9.]+) s", line).group(1))
            if "last sample" in line:
                last = float(re.search(r"sample ([0-9.]+) s", line).group(1))
            if "interval raised" in line or "skipped" in line:
                print("  " + line.strip())
        prof.wait()
        exited = time.time()
        print("  sampling ended after %.3f s by the tool's clock (the kernel's last sample: "
              "%.3f s); its line reached us %.3f s after 'sampling started'; exit %d, %.1f s "
              "later (the report)" % (tool, last, ended - started, prof.returncode,
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
