# The main thread and argv[1] more that spend almost all their time blocked: sleeping
# and waiting on a lock in short turns, for argv[2] seconds. Writes "ready" to argv[3] once
# they all run.
import sys
import threading
import time

N, DURATION = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + DURATION
held = threading.Lock()
held.acquire()


def wait_in_turns():
    while time.time() < end:
        time.sleep(0.02)
        held.acquire(timeout=0.02)


threads = [threading.Thread(target=wait_in_turns) for _ in range(N)]
for t in threads:
    t.start()
with open(sys.argv[3], "w") as f:
    f.write("ready")
wait_in_turns()  # the main thread too (one blocked all along would not be seen in wall mode)
for t in threads:
    t.join()
