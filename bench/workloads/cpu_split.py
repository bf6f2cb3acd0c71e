# SPDX-License-Identifier: MIT
"""CPU split between three functions with known shares (50/30/20 %).

Each function runs in long contiguous stretches (4 rounds) so that a periodic sampler's error
is a sample or two per stretch, far below the binomial noise of fine interleaving; the shares
are measured inside with the thread's CPU clock.
"""
import time

import benchlib

ROUNDS = 4
UNITS = 8000


def split_a(units):
    return benchlib.spin(units)


def split_b(units):
    return benchlib.spin(units)


def split_c(units):
    return benchlib.spin(units)


def run_round(shares, units):
    for func, part in ((split_a, 0.5), (split_b, 0.3), (split_c, 0.2)):
        cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
        func(units * part)
        benchlib.timed_share(shares, func.__name__, func.__name__,
                             benchlib.thread_cpu() - cpu0, time.perf_counter() - wall0)


def main():
    bench = benchlib.Bench("cpu_split")
    shares = {}
    units = UNITS * benchlib.scale() / ROUNDS
    bench.start()
    for _ in range(ROUNDS):
        run_round(shares, units)
    bench.end()
    bench.see_depth(benchlib.python_depth() + 3)  # main -> run_round -> split_x -> spin
    bench.report(shares=shares, threads=1)


if __name__ == "__main__":
    main()
