# Recursion DEPTH deep, spinning at the bottom; reports the Python depth it reached.
import json
import sys
import time

DURATION = float(sys.argv[1])
DEPTH = int(sys.argv[2])
sys.setrecursionlimit(DEPTH + 1000)


def spin():
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        sum(range(100))


def depth_here():
    f, n = sys._getframe(), 0
    while f:
        n, f = n + 1, f.f_back
    return n


def recurse(n):
    if n == 0:
        with open(sys.argv[3], "w") as f:
            json.dump({"depth": depth_here() - 1}, f)
        spin()
        return
    recurse(n - 1)


recurse(DEPTH)
