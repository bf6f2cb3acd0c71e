# A thread started late in the session: its wall time is its own lifetime, not the session's.
import json
import sys
import threading
import time

t0 = time.perf_counter()
truth = {}


def work():
    start = time.perf_counter()
    end = start + 0.5
    while time.perf_counter() < end:
        sum(range(100))
    truth["worker"] = time.perf_counter() - start


time.sleep(float(sys.argv[1]))
t = threading.Thread(target=work)
t.start()
t.join()
truth["main"] = time.perf_counter() - t0
with open(sys.argv[2], "w") as f:
    json.dump(truth, f)
