# SPDX-License-Identifier: MIT
# asyncio tasks that compute, sleep, read sockets and await each other in known proportions,
# each measuring its own time: argv: DURATION TRUTH.json. The truth, per task name:
# {"cpu": s in burn(), "await": s suspended in an await, "total": s from first step to last}.
import asyncio
import json
import socket
import sys
import time

DURATION = float(sys.argv[1])
truth = {}


def burn(ms):
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass


class Meter:
    def __init__(self, name):
        self.t = truth.setdefault(name, {"cpu": 0.0, "await": 0.0, "total": 0.0})
        self.start = time.perf_counter()

    def cpu(self, ms):
        t0 = time.perf_counter()
        burn(ms)
        self.t["cpu"] += time.perf_counter() - t0

    async def wait(self, aw):
        t0 = time.perf_counter()
        r = await aw
        self.t["await"] += time.perf_counter() - t0
        return r

    def done(self):
        self.t["total"] += time.perf_counter() - self.start


async def mixer(name, cpu_ms, sleep_ms, end):
    m = Meter(name)
    while time.perf_counter() < end:
        m.cpu(cpu_ms)
        await m.wait(asyncio.sleep(sleep_ms / 1000.0))
    m.done()


async def sock_reader(name, sock, cpu_ms, end):
    m = Meter(name)
    loop = asyncio.get_running_loop()
    while time.perf_counter() < end:
        await m.wait(loop.sock_recv(sock, 1))
        m.cpu(cpu_ms)
    m.done()


async def feeder(socks, period_ms, end):
    while time.perf_counter() < end + 0.2:
        await asyncio.sleep(period_ms / 1000.0)
        for s in socks:
            s.send(b"x")


async def child(ms):
    burn(ms)
    await asyncio.sleep(ms / 1000.0)


async def parent(name, ms, end):
    m = Meter(name)
    while time.perf_counter() < end:
        m.cpu(1)
        await m.wait(asyncio.create_task(child(ms), name="child"))
    m.done()


async def main():
    end = time.perf_counter() + DURATION
    pairs = [socket.socketpair() for _ in range(2)]
    for a, b in pairs:
        a.setblocking(False)
    tasks = [
        asyncio.create_task(mixer("mix_a", 3, 3, end), name="mix_a"),
        asyncio.create_task(mixer("mix_b", 1, 6, end), name="mix_b"),
        asyncio.create_task(mixer("mix_c", 2, 20, end), name="mix_c"),
        asyncio.create_task(sock_reader("sock_a", pairs[0][0], 1, end), name="sock_a"),
        asyncio.create_task(sock_reader("sock_b", pairs[1][0], 2, end), name="sock_b"),
        asyncio.create_task(parent("parent", 4, end), name="parent"),
    ]
    feed = asyncio.create_task(feeder([b for _, b in pairs], 7, end), name="feeder")
    await asyncio.gather(*tasks)
    feed.cancel()


asyncio.run(main())
with open(sys.argv[2], "w") as f:
    json.dump(truth, f)
