# SPDX-License-Identifier: MIT
# The Python API around an event loop with one task that sleeps most of the time, with the
# async_mode argv[2] gives; writes the session to argv[1]/api-async-MODE.pyisession.
import asyncio
import os
import sys
import time

import pyinst_bpf as pyinstrument

OUT, MODE = sys.argv[1], sys.argv[2]


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def napping():
    end = time.perf_counter() + 1.5
    while time.perf_counter() < end:
        spin(0.002)
        await asyncio.sleep(0.02)


profiler = pyinstrument.Profiler(async_mode=MODE)
profiler.start()
asyncio.run(napping())
profiler.stop().save(os.path.join(OUT, "api-async-%s.pyisession" % MODE))
