# Busy threads with deep stacks: argv[1] seconds, argv[2] threads, argv[3] stack depth.
# The load that makes sampling expensive: every tick finds a thread on a CPU, deep in Python.
import sys
import threading
import time


def burn(depth, end):
    if depth > 0:
        return burn(depth - 1, end)
    while time.time() < end:
        sum(range(200))


def main():
    seconds, nthreads, depth = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    sys.setrecursionlimit(depth + 1000)
    end = time.time() + seconds
    threads = [threading.Thread(target=burn, args=(depth, end)) for _ in range(nthreads - 1)]
    for t in threads:
        t.start()
    burn(depth, end)
    for t in threads:
        t.join()


main()
