#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How often the perf_event program runs during a wall session on one Python, with the
cpu-clock events on the target's threads (PYI_PERF_PER_TASK=1) and with one per CPU (the
default): per second, and the BPF time it took.
With an idle target every run of the per-CPU events is paid by other processes.

Run as root: python3 bench/perf_event_runs.py [--profiler build/pyinst-bpf] [--seconds 3]
Counts come from BPF_ENABLE_STATS (held only while this script runs), read with bpftool.
"""
import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYS_BPF = 321		# x86-64
BPF_ENABLE_STATS = 32


def enable_stats():
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint32 * 32)()	# type 0: BPF_STATS_RUN_TIME
    fd = libc.syscall(SYS_BPF, BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        sys.exit("perf_event_runs: BPF_ENABLE_STATS: %s" % os.strerror(ctypes.get_errno()))
    return fd


def program_runs(pid):
    """(run count, run time ns) of on_cpu_sample loaded by process pid."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                ids.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
        except OSError:
            pass
    for i in ids:
        p = json.loads(subprocess.run(["bpftool", "prog", "show", "id", str(i), "-j"],
                                      stdout=subprocess.PIPE, check=True).stdout)
        if p.get("name") == "on_cpu_sample":
            return p.get("run_cnt", 0), p.get("run_time_ns", 0)
    raise RuntimeError("no on_cpu_sample program in process %d" % pid)


def measure(args, target, per_cpu):
    env = None if per_cpu else dict(os.environ, PYI_PERF_PER_TASK="1")
    r, w = os.pipe()
    prof = subprocess.Popen([args.profiler, "-q", "--mode", "wall", "--pid", str(target),
                             "--ready-fd", str(w), "-o", os.devnull, "-r", "session"],
                            env=env, pass_fds=(w,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        ready = os.read(r, 1)	# sampling
        os.close(r)
        if ready != b"R":
            raise RuntimeError("pyinst-bpf exited before sampling")
        r0, n0 = program_runs(prof.pid)
        t0 = time.monotonic()
        time.sleep(args.seconds)
        r1, n1 = program_runs(prof.pid)
        dt = time.monotonic() - t0
    finally:
        prof.send_signal(signal.SIGINT)
        prof.wait()
    return (r1 - r0) / dt, (n1 - n0) / 1e9 / dt


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profiler", default=os.path.join(ROOT, "build", "pyinst-bpf"))
    p.add_argument("--python", default="/usr/bin/python3.11")
    p.add_argument("--seconds", type=float, default=3)
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("perf_event_runs: run as root")
    stats = enable_stats()
    targets = {"idle": "import time; time.sleep(3600)",
               "busy": "while True: sum(range(1000))"}
    for name, code in targets.items():
        target = subprocess.Popen([args.python, "-c", code])
        try:
            time.sleep(0.3)
            for per_cpu in (False, True, False, True):
                runs, bpf_s = measure(args, target.pid, per_cpu)
                print("%s target, events %-8s on_cpu_sample %6.0f runs/s, %.5f s/s of BPF time"
                      % (name, "per CPU" if per_cpu else "per task", runs, bpf_s))
        finally:
            target.kill()
            target.wait()
    os.close(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
