# Threads started one after the other, each spinning for 40 ms of its own CPU time: a
# sampler that meets a thread in its first microseconds, before CPython has bound the thread
# to its state, must still count the thread's time from then on. Each then sleeps 0.2 s (no
# CPU time) so that its name is read while it lives. They start after 0.3 s: the interpreter's
# start, when every sample describes new code, is over (at 10 kHz it can spend the sampler's
# budget for a moment). Each thread's record: [CPU time, of which stalls].
import json
import sys
import threading
import time

truth = {}


def spin(name):
    clock = time.thread_time if hasattr(time, "thread_time") else time.clock
    c0 = clock()
    end = c0 + 0.04
    now = c0
    stalled = 0
    while now < end:
        sum(range(100))
        before, now = now, clock()
        # a step takes microseconds: one that took a millisecond of this thread's CPU time
        # is time in which no timer fired (its virtual CPU stopped by the host, here), which
        # no sampler sees
        if now - before > 0.001:
            stalled += now - before
    truth[name] = [now - c0, stalled]
    time.sleep(0.2)


time.sleep(0.3)
for i in range(int(sys.argv[1])):
    t = threading.Thread(target=spin, args=("t%d" % i,), name="t%d" % i)
    t.start()
    t.join()
with open(sys.argv[2], "w") as f:
    json.dump(truth, f)
