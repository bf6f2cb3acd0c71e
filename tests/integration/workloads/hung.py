# Every thread blocked for good: a deadlock, a queue nobody feeds, a socket nobody writes to,
# and the main thread joining one of them. Names some threads through threading.
import json
import os
import queue
import socket
import sys
import threading
import time

a, b = threading.Lock(), threading.Lock()
both = threading.Barrier(2)


def deadlock_one():
    with a:
        both.wait()
        with b:
            pass


def deadlock_two():
    with b:
        both.wait()
        with a:
            pass


q = queue.Queue()


def queue_getter():
    q.get()


left, right = socket.socketpair()


def socket_reader():
    left.recv(10)


threads = [threading.Thread(target=f, name=n, daemon=True) for f, n in (
    (deadlock_one, "dl-one"), (deadlock_two, "dl-two"), (queue_getter, "q-getter"),
    (socket_reader, "sock\x1b[31mreader"))]
for t in threads:
    t.start()

# where each thread's innermost Python frame is once it blocks for good
BLOCKED_IN = {"dl-one": "deadlock_one", "dl-two": "deadlock_two", "q-getter": "wait",
              "sock\x1b[31mreader": "socket_reader"}


def task_states():
    states = []
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != os.getpid():
            with open("/proc/self/task/%s/stat" % tid) as f:
                states.append(f.read().rpartition(")")[2].split()[0])
    return states


def all_blocked():
    """Every thread at its blocking call, and asleep in the kernel (not starting, nor waiting
    for a CPU: a loaded host can keep a new thread off a CPU for far longer than a guess)."""
    frames = sys._current_frames()
    at = [frames.get(t.ident) for t in threads]
    if any(f is None or f.f_code.co_name != BLOCKED_IN[t.name] for f, t in zip(at, threads)):
        return False
    return task_states() == ["S"] * len(threads)


stable = 0
while stable < 3:	# three looks 20 ms apart: asleep, not between two steps
    time.sleep(0.02)
    stable = stable + 1 if all_blocked() else 0
with open(sys.argv[1], "w") as f:
    json.dump({"names": [t.name for t in threads], "idents": [t.ident for t in threads]}, f)
with open(sys.argv[2], "w") as f:
    f.write("ready")
threads[0].join()
