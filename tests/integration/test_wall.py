# SPDX-License-Identifier: MIT
"""Wall mode and dump against real processes (real BPF): hung processes, stopped ones, thread
names, and the accounting of short-lived threads. Run as root: python3 tests/integration/test_wall.py"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Session, binary, check, interpreters, profile_launch,  # noqa: E402
                     run_tests, tmpdir, WORKLOADS)

# function -> the wait it blocks in, for every thread of hung.py
HUNG = {"deadlock_one": "[waiting on a lock]", "deadlock_two": "[waiting on a lock]",
        "queue_getter": "[waiting on a lock]", "socket_reader": "[receiving from a socket]",
        "<module>": "[waiting on a lock]"}


class Hung:
    """hung.py started and ready: every thread blocked before the profiler arrives."""

    def __init__(self, python):
        d = tmpdir()
        self.truth_path = os.path.join(d, "hung-%d-%s.json" % (os.getpid(), time.time()))
        ready = self.truth_path + ".ready"
        self.proc = subprocess.Popen([python, os.path.join(WORKLOADS, "hung.py"),
                                      self.truth_path, ready])
        deadline = time.time() + 30
        while not (os.path.exists(ready) and open(ready).read() == "ready"):
            check(time.time() < deadline and self.proc.poll() is None, "hung.py never got ready")
            time.sleep(0.01)
        with open(self.truth_path) as f:
            self.truth = json.load(f)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def run(args, timeout=60):
    p = subprocess.run([binary()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_hung_pid(python):
    """--pid on a process whose threads all block: each thread, its blocking frame, all the time."""
    with Hung(python) as h:
        time.sleep(0.5)  # blocked since before the session
        out = os.path.join(tmpdir(), "hung-%d-%s.pyisession" % (os.getpid(), time.time()))
        rc, _, err = run(["-q", "--pid", str(h.proc.pid), "--duration", "2", "-o", out])
        check(rc == 0, "pyinst-bpf exited %d: %s" % (rc, err.strip()))
    s = Session(out)
    duration = s.raw["duration"]
    for func, wait in sorted(HUNG.items()):
        total = s.function_time(func)
        blocked = sum(w for st, w in s.records
                      if any(f["name"] == func for f in st) and st[-1]["name"] == wait)
        check(blocked >= 0.98 * duration,
              "%s: %.3fs under %s of a %.3fs session" % (func, blocked, wait, duration))
        check(total <= 1.02 * duration,
              "%s: %.3fs in a %.3fs session" % (func, total, duration))
    roots = s.thread_roots()
    check(len(roots) == 5, "threads: %s" % sorted(roots))
    for name, t in roots.items():
        check(abs(t - duration) <= 0.02 * duration,
              "thread %r: %.3fs in a %.3fs session" % (name, t, duration))


def storm(rate, work):
    python = interpreters()[-1][1]
    run_ = profile_launch(python, "storm.py", [rate, 3, work])
    s, truth = run_.session(), run_.truth()
    roots = s.thread_roots()
    main = sum(t for n, t in roots.items() if n.startswith("MainThread"))
    workers = sum(t for n, t in roots.items() if not n.startswith("MainThread"))
    check(truth["threads"] >= 1000, "the workload started only %d threads" % truth["threads"])
    check(workers <= 1.05 * truth["lifetimes"] + 0.05,
          "%d short threads lived %.3fs in all, the profile gives them %.3fs" %
          (truth["threads"], truth["lifetimes"], workers))
    check(main <= 1.02 * s.raw["duration"],
          "main thread: %.3fs in a %.3fs session" % (main, s.raw["duration"]))
    check(main >= 0.98 * truth["main"],
          "main thread: %.3fs in the profile, it ran %.3fs" % (main, truth["main"]))


def test_short_threads_storm():
    """Thousands of threads a second that do nothing: none is charged time it did not live."""
    storm(12000, 0)


def test_short_threads_tid_reuse():
    """2,000 threads a second sleeping 0.5 ms: reused tids are other threads."""
    storm(2000, 0.0005)


def per_interpreter_tests():
    tests = []
    for label, python in interpreters():
        for fn in (test_hung_pid,):
            tests.append(("%s [%s]" % (fn.__name__, label), lambda fn=fn, p=python: fn(p)))
    return tests


def all_tests():
    return [(f.__name__, f) for f in (test_short_threads_storm, test_short_threads_tid_reuse)] + \
        per_interpreter_tests()


if __name__ == "__main__":
    print("interpreters covered: " + ", ".join(label for label, _ in interpreters()))
    run_tests(all_tests())
