# SPDX-License-Identifier: MIT
# Known asyncio tasks for tests/unit/test_asyncio_tasks.c: once every task is where the test
# expects it, prints "ready" and the address of each task (id()), then spins in a task of its own.
import asyncio
import socket
import sys


async def inner():
    await asyncio.sleep(1000)


async def middle():
    await inner()


async def outer():
    await middle()


async def sleeper():
    await asyncio.sleep(1000)


async def waiter(task):
    await task


async def reader(sock):
    loop = asyncio.get_running_loop()
    await loop.sock_recv(sock, 1)


def spin(ids):
    # printed from inside spin(): the test reads the stack as soon as it sees the line
    print("ready", ids, flush=True)
    while True:
        pass


async def spinner(tasks):
    spin(" ".join("%s=%d" % (t.get_name(), id(t)) for t in tasks))


async def main():
    a, b = socket.socketpair()
    a.setblocking(False)
    t_sleep = asyncio.create_task(sleeper(), name="sleeper")
    tasks = [
        t_sleep,
        asyncio.create_task(waiter(t_sleep), name="waiter"),
        asyncio.create_task(reader(a), name="reader"),
        asyncio.create_task(outer(), name="deep\x1bname"),
    ]
    await asyncio.sleep(0.2)
    await asyncio.create_task(spinner(tasks), name="spinner")


asyncio.run(main())
