# Threads waiting in known ways for known times; reports how long each waited.
import json
import os
import resource
import socket
import sys
import threading
import time
import zlib

DURATION = float(sys.argv[1])
truth = {}


def thread_cpu():
    r = resource.getrusage(resource.RUSAGE_THREAD)
    return r.ru_utime + r.ru_stime


def timed(name, fn):
    t0, c0 = time.perf_counter(), thread_cpu()
    fn()
    truth[name] = time.perf_counter() - t0
    truth[name + "_cpu"] = thread_cpu() - c0


def sleeping():
    time.sleep(DURATION)


held = threading.Lock()
held.acquire()


def locked():
    held.acquire(timeout=DURATION)


peer_a, peer_b = socket.socketpair()


def reading():
    # a slow local peer: answers after DURATION
    peer_a.recv(16)


def answer():
    time.sleep(DURATION)
    peer_b.send(b"x")


def spinning():
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        sum(range(200))


data = os.urandom(1 << 18) * 16


def compressing():
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        zlib.compress(data, 6)


threads = [threading.Thread(target=timed, args=(f.__name__, f)) for f in
           (sleeping, locked, reading, spinning, compressing)]
threads.append(threading.Thread(target=answer))
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump(truth, f)
