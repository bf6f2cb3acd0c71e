# A multiprocessing pool (start method argv[1]): two workers doing CPU work.
import multiprocessing
import sys
import time


def work(seconds):
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n += sum(range(300))
    return n


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        pool.map(work, [1.0, 1.0])
