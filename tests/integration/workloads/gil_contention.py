# Three threads contending for the GIL with pure-Python work: each waits for it about two
# thirds of the time, and never waits on any other lock. Writes the threads' wall time to argv[2].
import json
import sys
import threading
import time

DURATION = float(sys.argv[1])


def spin():
    end = time.perf_counter() + DURATION
    while time.perf_counter() < end:
        sum(range(500))


t0 = time.perf_counter()
threads = [threading.Thread(target=spin) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump({"spin": time.perf_counter() - t0}, f)
