# SPDX-License-Identifier: MIT
"""Recursion DEPTH frames deep (argv[1], default 100), then CPU work at the bottom.

The deepest stack is counted at the bottom by walking f_back, so it includes the module and
main frames; the bottom frame runs the work itself (no extra call) to keep that count exact.
"""
import sys

import benchlib

UNITS = 8000


def recurse(bench, depth, units):
    if depth > 1:
        return recurse(bench, depth - 1, units)
    bench.see_depth(benchlib.python_depth())
    bench.start()
    x = 1
    for i in range(int(units * 2000)):
        x = (x * 31 + i) % 1000003
    bench.end()
    return x


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    sys.setrecursionlimit(depth + 1000)
    bench = benchlib.Bench("recursion")
    recurse(bench, depth, UNITS * benchlib.scale())
    bench.report(recursion=depth, threads=1)


if __name__ == "__main__":
    main()
