# SPDX-License-Identifier: MIT
"""N asyncio tasks that sleep (1 to 10 s at a time: live, mostly suspended) and one
that computes in 1 ms steps, counting its steps: argv N READY_FILE MEASURE_S RESULT_FILE.
Writes "ready" once every task exists, waits for "go", then measures MEASURE_S seconds and
writes the compute task's steps per second."""
import asyncio
import json
import random
import sys
import time

N, READY, MEASURE, RESULT = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]


def step():
    s = 0
    for i in range(2000):
        s += i * i
    return s


async def sleeper(rng):
    while True:
        await asyncio.sleep(rng.uniform(1.0, 10.0))


async def compute(out):
    while open(READY).read() != "go":
        await asyncio.sleep(0.01)
    steps, end = 0, time.perf_counter() + MEASURE
    t0 = time.perf_counter()
    while time.perf_counter() < end:
        step()
        steps += 1
        await asyncio.sleep(0)
    out["steps_per_s"] = steps / (time.perf_counter() - t0)


async def main():
    rng = random.Random(1)
    tasks = [asyncio.create_task(sleeper(rng), name="sleeper-%d" % i) for i in range(N)]
    out = {}
    await asyncio.sleep(0.5)
    with open(READY, "w") as f:
        f.write("ready")
    await compute(out)
    with open(RESULT, "w") as f:
        json.dump(out, f)
    for t in tasks:
        t.cancel()


asyncio.run(main())
