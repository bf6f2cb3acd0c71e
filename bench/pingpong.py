# Two threads bouncing a byte through two pipes: a context switch per message.
import os
import sys
import threading
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
a_r, a_w = os.pipe()
b_r, b_w = os.pipe()


def echo():
    for _ in range(N):
        os.write(b_w, os.read(a_r, 1))


t = threading.Thread(target=echo)
t.start()
t0 = time.perf_counter()
for _ in range(N):
    os.write(a_w, b"x")
    os.read(b_r, 1)
elapsed = time.perf_counter() - t0
t.join()
print("%.3f us/round trip" % (elapsed / N * 1e6))
