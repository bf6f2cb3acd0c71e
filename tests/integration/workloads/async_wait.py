# SPDX-License-Identifier: MIT
# One asyncio task awaiting a sleep for seconds, measuring it: argv: SECONDS TRUTH.json.
import asyncio
import json
import sys
import time


async def waiter(seconds):
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    return time.perf_counter() - t0


async def main():
    lived = await asyncio.create_task(waiter(float(sys.argv[1])), name="waiter")
    with open(sys.argv[2], "w") as f:
        json.dump({"waiter": lived}, f)


asyncio.run(main())
