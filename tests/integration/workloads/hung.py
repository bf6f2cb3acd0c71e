# Every thread blocked for good: a deadlock, a queue nobody feeds, a socket nobody writes to,
# and the main thread joining one of them. Names some threads through threading.
import json
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
time.sleep(0.2)
with open(sys.argv[1], "w") as f:
    json.dump({"names": [t.name for t in threads], "idents": [t.ident for t in threads]}, f)
with open(sys.argv[2], "w") as f:
    f.write("ready")
threads[0].join()
