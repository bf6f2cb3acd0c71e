# A CPU split between functions with known shares; writes the truth it measured to argv[2].
import json
import random
import sys
import time

DURATION = float(sys.argv[1])
spent = {"alpha": 0.0, "beta": 0.0, "gamma": 0.0}


def alpha():
    s = 0
    for i in range(20000):
        s += i * i
    return s


def beta():
    s = 0
    for i in range(20000):
        s += i % 7
    return s


def gamma():
    s = 0
    for i in range(20000):
        s ^= i
    return s


def timed(fn, name):
    t0 = time.perf_counter()
    fn()
    spent[name] += time.perf_counter() - t0


def main():
    # 3 : 2 : 1 by calls, each call about the same cost (a few ms), in shuffled order: a fixed
    # order repeating every ~1 ms would alias with the 1 ms sampler and bias the shares
    calls = [(alpha, "alpha")] * 3 + [(beta, "beta")] * 2 + [(gamma, "gamma")]
    rng = random.Random(1)
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        rng.shuffle(calls)
        for fn, name in calls:
            timed(fn, name)
    with open(sys.argv[2], "w") as f:
        json.dump(spent, f)


if len(sys.argv) > 3:
    # --pid mode: tell the harness we are ready, then wait for its go
    with open(sys.argv[3], "w") as f:
        f.write("ready")
    while True:
        with open(sys.argv[3]) as f:
            if f.read().startswith("go"):
                break
        time.sleep(0.01)
main()
