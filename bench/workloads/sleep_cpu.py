# SPDX-License-Identifier: MIT
"""Alternating CPU and sleep phases of 40 ms each: a CPU profiler should see only cpu_phase,
a wall-clock one about half of each."""
import time

import benchlib

ROUNDS = 12
PHASE_SECONDS = 0.04
CPU_UNITS = 400


def cpu_phase(units):
    return benchlib.spin(units)


def sleep_phase(seconds):
    time.sleep(seconds)


def timed(shares, func, arg):
    cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
    func(arg)
    benchlib.timed_share(shares, func.__name__, func.__name__,
                         benchlib.thread_cpu() - cpu0, time.perf_counter() - wall0)


def main():
    bench = benchlib.Bench("sleep_cpu")
    shares = {}
    factor = benchlib.scale()
    bench.start()
    for _ in range(ROUNDS):
        timed(shares, cpu_phase, CPU_UNITS * factor)
        timed(shares, sleep_phase, PHASE_SECONDS * factor)
    bench.end()
    bench.see_depth(benchlib.python_depth() + 3)  # main -> timed -> cpu_phase -> spin
    bench.report(shares=shares, threads=1)


if __name__ == "__main__":
    main()
