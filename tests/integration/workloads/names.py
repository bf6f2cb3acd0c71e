# Threads named through threading: one named at creation, one renamed while it runs (after
# the profiler first saw it), and the main thread renamed too. The names are read every half
# second: the threads live on for over a second after the renames. Then short threads, one
# after the other, each named at birth and gone after 0.15 s: read only every half second,
# most would end unnamed.
import json
import sys
import threading
import time

go = threading.Event()


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(100))


def worker():
    spin(0.4)
    go.wait()
    spin(1.2)


named = threading.Thread(target=worker, name="named-at-birth")
renamed = threading.Thread(target=worker)
named.start()
renamed.start()
time.sleep(0.3)
renamed.name = "renamed-while-running"
threading.current_thread().name = "main-renamed"
go.set()
named.join()
renamed.join()
short = []
for i in range(5):
    t = threading.Thread(target=spin, args=(0.15,), name="short-%d" % i)
    t.start()
    t.join()
    short.append(t.name)
    time.sleep(0.05)
with open(sys.argv[1], "w") as f:
    json.dump({"names": [named.name, renamed.name] + short}, f)
