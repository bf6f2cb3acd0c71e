# COUNT threads started during the session, each working briefly then ending, all alive at
# one point (a barrier); reports how many ran.
import json
import sys
import threading
import time

COUNT = int(sys.argv[1])
barrier = threading.Barrier(COUNT + 1)
done = []


def work(i):
    barrier.wait()
    end = time.perf_counter() + 0.004
    while time.perf_counter() < end:
        sum(range(100))
    done.append((threading.current_thread().name, threading.get_native_id(), threading.get_ident()))


time.sleep(0.3)  # the profiler is attached before the first thread starts
threads = [threading.Thread(target=work, args=(i,)) for i in range(COUNT)]
for t in threads:
    t.start()
barrier.wait()
for t in threads:
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump({"threads": len(done), "done": done}, f)
