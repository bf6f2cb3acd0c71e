# SPDX-License-Identifier: MIT
"""Thousands of functions generated with exec: 2000 "heavy" ones doing twice the work of 2000
"light" ones, each called in turn; the two groups' shares are measured inside."""
import time

import benchlib

COUNT = 2000
UNITS = 8000
TEMPLATE = '''
def gen_{kind}_{index}(units):
    x = {index}
    for i in range(int(units * 2000)):
        x = (x * 31 + i) % 1000003
    return x
'''


def generate(kind, count):
    namespace = {}
    source = "".join(TEMPLATE.format(kind=kind, index=i) for i in range(count))
    exec(compile(source, "<generated-%s>" % kind, "exec"), namespace)
    return [namespace["gen_%s_%d" % (kind, i)] for i in range(count)]


def call_all(shares, kind, funcs, units):
    cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
    for func in funcs:
        func(units)
    benchlib.timed_share(shares, kind, "gen_" + kind + "_",
                         benchlib.thread_cpu() - cpu0, time.perf_counter() - wall0)


def main():
    bench = benchlib.Bench("many_functions")
    heavy, light = generate("heavy", COUNT), generate("light", COUNT)
    unit = UNITS * benchlib.scale() / (3.0 * COUNT)
    shares = {}
    bench.start()
    call_all(shares, "heavy", heavy, 2 * unit)
    call_all(shares, "light", light, unit)
    bench.end()
    bench.see_depth(benchlib.python_depth() + 2)  # main -> call_all -> gen_*
    bench.report(shares=shares, threads=1, functions=2 * COUNT)


if __name__ == "__main__":
    main()
