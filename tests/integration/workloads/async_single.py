# SPDX-License-Identifier: MIT
# One asyncio task (or, with WORKERS > 1, several) computing 2 ms and sleeping 8 ms in turn,
# measuring its own time. Truth: seconds in burn() and in
# the await of asyncio.sleep, summed over workers, and the wall time of the loop.
# argv: DURATION [WORKERS] TRUTH.json
import asyncio
import json
import sys
import time

DURATION = float(sys.argv[1])
WORKERS = int(sys.argv[2]) if len(sys.argv) > 3 else 1
truth = {"cpu": 0.0, "await": 0.0, "total": 0.0}


def burn(ms):
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass


async def work(end):
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        burn(2)
        t1 = time.perf_counter()
        await asyncio.sleep(0.008)
        truth["cpu"] += t1 - t0
        truth["await"] += time.perf_counter() - t1


async def main():
    end = time.perf_counter() + DURATION
    t0 = time.perf_counter()
    if WORKERS == 1:
        await work(end)
    else:
        await asyncio.gather(*(work(end) for _ in range(WORKERS)))
    truth["total"] = time.perf_counter() - t0


asyncio.run(main())
with open(sys.argv[-1], "w") as f:
    json.dump(truth, f)
