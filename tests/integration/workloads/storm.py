# Short threads at a high rate for a while: the sum of their lifetimes, measured inside.
import json
import sys
import threading
import time

rate, duration, work = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
lives = []
lock = threading.Lock()


def short(created):
    # from before start() (the thread exists from inside start()) to its last Python line
    if work > 0:
        time.sleep(work)
    t1 = time.perf_counter()
    with lock:
        lives.append(t1 - created)


t0 = time.perf_counter()
started = 0
live = []
while time.perf_counter() - t0 < duration:
    due = int((time.perf_counter() - t0) * rate)
    while started < due:
        t = threading.Thread(target=short, args=(time.perf_counter(),))
        t.start()
        live.append(t)
        started += 1
    if len(live) > 256:
        for t in live:
            t.join()
        live = []
    time.sleep(0.0005)
for t in live:
    t.join()
with open(sys.argv[4], "w") as f:
    json.dump({"threads": started, "lifetimes": sum(lives), "main": time.perf_counter() - t0}, f)
