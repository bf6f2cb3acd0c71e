#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Continuous mode's cost: pyinst-bpf --all --push with 20 Python processes at -i 0.01.

Prints the profiler's CPU (user + system, as a share of one core), the in-kernel time of its
BPF programs (kernel.bpf_stats_enabled for the run), and its RSS every 10 s with the spread
after the first minute (flat: within +-10%). The receiver is the test suite's Pyroscope-style
receiver on 127.0.0.1. Hold the machine alone:

    flock -x /tmp/pyinst-bench.lock python3 bench/fleet_overhead.py [--seconds 600]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RECEIVER = os.path.join(ROOT, "tests", "integration", "pyroscope_receiver.py")
PYTHON = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable

# A service-like process: a little work, then waiting (2 ms of CPU every 100 ms), with a second
# thread that mostly sleeps. 20 of them are ~0.4 of a core.
WORKLOAD = """
import threading, time
def handler(n):
    return sum(i * i for i in range(n))
def background():
    while True:
        time.sleep(0.5)
        handler(2000)
threading.Thread(target=background, daemon=True).start()
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < 0.002:
        handler(500)
    time.sleep(0.098)
"""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bpf_run_ns(names):
    """Total run_time_ns of the loaded BPF programs with these names."""
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    out = subprocess.run([bpftool, "prog", "show", "-j"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    try:
        progs = json.loads(out or b"[]")
    except ValueError:
        return None
    return sum(p.get("run_time_ns", 0) for p in progs if p.get("name") in names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--processes", type=int, default=20)
    ap.add_argument("--push-interval", type=float, default=15)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "pyinst-bpf"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return 77
    tmp = tempfile.mkdtemp(prefix="pyi-fleet-bench-")
    script = os.path.join(tmp, "service.py")
    with open(script, "w") as f:
        f.write(WORKLOAD)
    recv = subprocess.Popen([sys.executable, RECEIVER, "--out", os.path.join(tmp, "recv")],
                            stdout=subprocess.PIPE)
    url = "http://127.0.0.1:%s" % recv.stdout.readline().decode().strip()
    targets = [subprocess.Popen([PYTHON, script]) for _ in range(args.processes)]
    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    stats_was = open(stats_path).read().strip() if os.path.exists(stats_path) else None
    prof = None
    try:
        if stats_was is not None:
            open(stats_path, "w").write("1")
        time.sleep(1)
        prof = subprocess.Popen([args.bin, "--all", "-q", "-i", "0.01", "--push", url,
                                 "--push-interval", str(args.push_interval)],
                                stderr=subprocess.PIPE)
        time.sleep(5)	# loaded, every process found
        names = {"on_cpu_sample", "on_switch", "on_sys_exit", "on_fork", "on_exec",
                 "on_exit", "on_process_fork", "on_process_exec", "on_process_exit"}
        bpf0, cpu0, t0 = bpf_run_ns(names), cpu_seconds(prof.pid), time.time()
        rss = []
        while time.time() - t0 < args.seconds:
            time.sleep(10)
            rss.append((round(time.time() - t0), rss_kb(prof.pid)))
            if prof.poll() is not None:
                break
        bpf1, cpu1, t1 = bpf_run_ns(names), cpu_seconds(prof.pid), time.time()
        prof.send_signal(signal.SIGTERM)
        err = prof.communicate(timeout=60)[1].decode(errors="replace")
    finally:
        if prof and prof.poll() is None:
            prof.kill()
        for t in targets:
            t.kill()
        recv.kill()
        if stats_was is not None:
            open(stats_path, "w").write(stats_was)
    received = len([f for f in os.listdir(os.path.join(tmp, "recv")) if f.endswith(".json")])
    shutil.rmtree(tmp, ignore_errors=True)
    wall = t1 - t0
    print("continuous --all, %d processes, -i 0.01, push every %g s, %.0f s measured" %
          (args.processes, args.push_interval, wall))
    print("profiler CPU: %.3f s = %.2f%% of one core" % (cpu1 - cpu0, 100 * (cpu1 - cpu0) / wall))
    if bpf0 is not None and bpf1 is not None and bpf1 >= bpf0:
        print("BPF programs (in the kernel, charged to the interrupted tasks): %.3f s = %.2f%% "
              "of one core" % ((bpf1 - bpf0) / 1e9, 100 * (bpf1 - bpf0) / 1e9 / wall))
    print("profiles received: %d" % received)
    steady = [kb for t, kb in rss if t >= 60] or [kb for _, kb in rss]
    print("RSS kB every 10 s: %s" % " ".join(str(kb) for _, kb in rss))
    if steady:
        mid = sorted(steady)[len(steady) // 2]
        print("RSS after the first minute: min %d, max %d kB, spread %+.1f%% / %+.1f%% of the "
              "median" % (min(steady), max(steady), 100 * (min(steady) - mid) / mid,
                          100 * (max(steady) - mid) / mid))
    if err.strip():
        print("profiler said: " + err.strip().replace("\n", " | "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
