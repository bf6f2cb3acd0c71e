# One thread spins (holding the GIL), one sleeps, one waits on a lock; argv: duration, truth
# file, and in --pid mode a ready file (written "ready", then waited on for "go").
import json
import sys
import threading
import time

DURATION = float(sys.argv[1])
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.write("ready")
    while not open(sys.argv[3]).read().startswith("go"):
        time.sleep(0.01)
truth = {}


def spinning():
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < DURATION:
        sum(range(100))
    truth["spinning"] = time.perf_counter() - t0


def sleeping():
    time.sleep(DURATION)


held = threading.Lock()
held.acquire()


def locked():
    held.acquire(timeout=DURATION)


threads = [threading.Thread(target=f) for f in (spinning, sleeping, locked)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump(truth, f)
