# COUNT threads started during the session, each working briefly then ending, all alive at
# one point (a barrier); reports how many ran.
import json
import sys
import threading
import time

COUNT = int(sys.argv[1])
barrier = threading.Barrier(COUNT + 1)
done = []


# 4 ms of the thread's own CPU time, not of the clock: on a loaded host 4 ms by the clock can
# be spent waiting for a CPU, and a thread that never ran and lived between two runs of wall
# mode's iterator has nothing to be seen by (3.6 has no thread_time: the clock)
cpu_clock = getattr(time, "thread_time", time.perf_counter)


def work(i):
    barrier.wait()
    end = cpu_clock() + 0.004
    while cpu_clock() < end:
        sum(range(100))
    done.append(i)


time.sleep(0.3)  # the profiler is attached before the first thread starts
threads = [threading.Thread(target=work, args=(i,)) for i in range(COUNT)]
for t in threads:
    t.start()
barrier.wait()
for t in threads:
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump({"threads": len(done)}, f)
