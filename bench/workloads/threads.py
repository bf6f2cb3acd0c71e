# SPDX-License-Identifier: MIT
"""Four threads doing unequal CPU work (1:2:3:4); the main thread only waits.

Each worker has its own function name (worker_1 ... worker_4) so that every profiler's output
can be matched to the ground truth without knowing how it names threads.
"""
import threading
import time

import benchlib

UNITS = 8000
CHUNK = 20


def work(shares, name, units):
    cpu0, wall0 = benchlib.thread_cpu(), time.perf_counter()
    done = 0
    while done < units:
        benchlib.spin(CHUNK)
        done += CHUNK
    benchlib.timed_share(shares, name, name,
                         benchlib.thread_cpu() - cpu0, time.perf_counter() - wall0)


def worker_1(shares, units):
    work(shares, "worker_1", units)


def worker_2(shares, units):
    work(shares, "worker_2", units)


def worker_3(shares, units):
    work(shares, "worker_3", units)


def worker_4(shares, units):
    work(shares, "worker_4", units)


def main():
    bench = benchlib.Bench("threads", main_thread_works=False)
    shares = {}
    total = UNITS * benchlib.scale()
    workers = (worker_1, worker_2, worker_3, worker_4)
    threads = [threading.Thread(target=w, args=(shares, total * (k + 1) / 10), name=w.__name__)
               for k, w in enumerate(workers)]
    bench.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bench.end()
    bench.report(shares=shares, threads=len(threads) + 1, deepest=None)


if __name__ == "__main__":
    main()
