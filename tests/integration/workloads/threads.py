# Threads doing CPU work, and one sleeping with the GIL released; reports what each did.
import json
import sys
import threading
import time

DURATION = float(sys.argv[1])
truth = {}


def worker(name):
    end = time.perf_counter() + DURATION
    n = 0
    while time.perf_counter() < end:
        sum(range(500))
        n += 1
    truth[name] = n


def sleeper():
    t0 = time.perf_counter()
    time.sleep(DURATION)
    truth["sleeper"] = time.perf_counter() - t0


threads = [threading.Thread(target=worker, args=("w%d" % i,)) for i in range(3)]
threads.append(threading.Thread(target=sleeper))
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump(truth, f)
