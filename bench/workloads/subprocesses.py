# SPDX-License-Identifier: MIT
"""A parent that starts two Python children (work 2:3) and works itself (1) meanwhile.

The children report their own CPU time on stdout; the parent gathers it into the ground truth.
"""
import json
import subprocess
import sys
import time

import benchlib

UNITS = 8000


def child_small(units):
    return benchlib.spin(units)


def child_large(units):
    return benchlib.spin(units)


def parent_work(units):
    return benchlib.spin(units)


def run_child(role):
    func = {"small": child_small, "large": child_large}[role]
    units = float(sys.argv[3])
    cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
    func(units)
    print(json.dumps({"group": func.__name__, "cpu": benchlib.thread_cpu() - cpu0,
                      "wall": time.perf_counter() - wall0}))


def start_child(role, units):
    return subprocess.Popen([sys.executable, __file__, "--child", role, str(units)],
                            stdout=subprocess.PIPE)


def main():
    bench = benchlib.Bench("subprocesses", main_thread_works=False)
    total = UNITS * benchlib.scale()
    shares = {}
    bench.start()
    children = [start_child("small", total * 2 / 6), start_child("large", total * 3 / 6)]
    cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
    parent_work(total / 6)
    benchlib.timed_share(shares, "parent_work", "parent_work",
                         benchlib.thread_cpu() - cpu0, time.perf_counter() - wall0)
    for child in children:
        result = json.loads(child.communicate()[0].decode())
        benchlib.timed_share(shares, result["group"], result["group"], result["cpu"],
                             result["wall"])
    bench.end()
    bench.report(shares=shares, threads=1, processes=3, deepest=None)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(sys.argv[2])
    else:
        main()
