# SPDX-License-Identifier: MIT
"""Shared helpers for the benchmark workloads: CPU work, clocks, the harness handshake and
the ground-truth report. Standard library only; runs on CPython 3.6 to 3.13.

Environment (all optional, so a workload also runs on its own):
  PYI_BENCH_TRUTH  path of the JSON ground-truth file to write at the end
  PYI_BENCH_SYNC   "READ_FD,WRITE_FD": pipe ends for the handshake with bench/run.py; the workload
                   writes "ready" before its main work and "end" after it, and each time waits
                   for one byte before going on, so the harness can attach or detach a profiler
                   while the target is blocked
  PYI_BENCH_SCALE  multiplies the amount of work (default 1.0)
"""
import json
import os
import resource
import sys
import time

SYNC_ENV = "PYI_BENCH_SYNC"


def thread_cpu():
    """CPU seconds of the calling thread (time.thread_time is 3.7+)."""
    return time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)


def process_cpu():
    """CPU seconds of the process, all threads, plus its reaped children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def run_delay():
    """Seconds the calling thread has waited on a run queue (runnable, not running): the time
    other processes took from it. /proc/thread-self is Linux 3.17+."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def scale():
    return float(os.environ.get("PYI_BENCH_SCALE", "1.0"))


def spin(units):
    """Pure Python CPU work: one unit is about 0.1 ms on CPython 3.11 on this class of machine."""
    x = 1
    for i in range(int(units * 2000)):
        x = (x * 31 + i) % 1000003
    return x


def python_depth():
    """Number of Python frames on the calling thread's stack, the caller's included."""
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


class Bench:
    """One workload run: timing of the main work, handshake, ground truth."""

    def __init__(self, name, main_thread_works=True):
        self.name = name
        self.main_thread_works = main_thread_works
        self.truth = {"workload": name, "python": sys.version.split()[0], "pid": os.getpid()}
        self.sync = self._open_sync()
        self.deepest = 0

    def _open_sync(self):
        spec = os.environ.pop(SYNC_ENV, "")
        if not spec:
            return None
        read_fd, write_fd = (int(x) for x in spec.split(","))
        return read_fd, write_fd

    def _handshake(self, word):
        if not self.sync:
            return
        os.write(self.sync[1], (word + "\n").encode())
        os.read(self.sync[0], 1)

    def start(self):
        """Block until the harness is ready, then start the clocks of the main work."""
        self._handshake("ready")
        self.delay0 = run_delay() if self.main_thread_works else None
        self.wall0 = time.perf_counter()
        self.cpu0 = process_cpu()

    def end(self):
        self.truth["work_seconds"] = time.perf_counter() - self.wall0
        self.truth["cpu_seconds"] = process_cpu() - self.cpu0
        delay = run_delay() if self.delay0 is not None else None
        self.truth["run_delay"] = delay - self.delay0 if delay is not None else None
        self._handshake("end")

    def see_depth(self, depth=None):
        """Record the stack depth of the caller (or a given one) as a candidate deepest."""
        depth = depth if depth is not None else python_depth() - 1
        self.deepest = max(self.deepest, depth)

    def report(self, **fields):
        """Write the ground truth: fields given here plus the main-work timings.

        shares: {group: {"match": function-name prefix, "cpu": seconds, "wall": seconds}}; a
        sample belongs to a group when one of its frames' names starts with "match".
        """
        self.truth.update(fields)
        self.truth.setdefault("deepest", self.deepest)
        path = os.environ.get("PYI_BENCH_TRUTH")
        text = json.dumps(self.truth, indent=1, sort_keys=True)
        if path:
            with open(path, "w") as f:
                f.write(text)
        else:
            print(text)


def timed_share(shares, group, match, cpu, wall):
    """Add cpu and wall seconds to a share group."""
    entry = shares.setdefault(group, {"match": match, "cpu": 0.0, "wall": 0.0})
    entry["cpu"] += cpu
    entry["wall"] += wall
