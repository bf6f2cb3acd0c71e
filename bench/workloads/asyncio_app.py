# SPDX-License-Identifier: MIT
"""An asyncio program: two coroutines doing CPU work in 4 ms chunks (3:1) with awaits between,
and one that mostly sleeps. Written for 3.6 too (no asyncio.run)."""
import asyncio
import time

import benchlib

UNITS = 8000
CHUNK = 40


def chunk(shares, name):
    cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
    benchlib.spin(CHUNK)
    benchlib.timed_share(shares, name, name,
                         benchlib.thread_cpu() - cpu0, time.perf_counter() - wall0)


async def coro_heavy(shares, chunks):
    for _ in range(chunks):
        chunk(shares, "coro_heavy")
        await asyncio.sleep(0)


async def coro_light(shares, chunks):
    for _ in range(chunks):
        chunk(shares, "coro_light")
        await asyncio.sleep(0)


async def coro_sleeper(rounds):
    for _ in range(rounds):
        await asyncio.sleep(0.01)


def main():
    bench = benchlib.Bench("asyncio_app")
    shares = {}
    chunks = int(UNITS * benchlib.scale() / CHUNK)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    jobs = asyncio.gather(coro_heavy(shares, chunks * 3 // 4), coro_light(shares, chunks // 4),
                          coro_sleeper(20))
    bench.start()
    loop.run_until_complete(jobs)
    bench.end()
    loop.close()
    bench.report(shares=shares, threads=1, deepest=None)


if __name__ == "__main__":
    main()
