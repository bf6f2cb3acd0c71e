# Work that starts after the profiler attached, all of it on a CPU: a new thread, a thread that
# one starts, and a forked child, one after the other, each spinning for argv[1] s. Writes the
# CPU time each measured for itself to argv[2]. With argv[3] (a ready file): waits for "go".
import json
import os
import sys
import threading
import time
import warnings

# 3.12 warns about a fork while threads run: the one that ran has been joined
warnings.simplefilter("ignore", DeprecationWarning)

SECONDS = float(sys.argv[1])
truth = {}


def thread_cpu():
    # the thread's run time in the kernel's own count (time.thread_time is 3.7+)
    with open("/proc/thread-self/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def spin():
    t0 = thread_cpu()
    end = time.time() + SECONDS
    while time.time() < end:
        sum(range(100))
    return thread_cpu() - t0


def nested_thread_work():
    truth["nested_thread_work"] = spin()


def late_thread_work():
    truth["late_thread_work"] = spin()
    t = threading.Thread(target=nested_thread_work)
    t.start()
    t.join()


def child_work(w):
    os.write(w, json.dumps(spin()).encode())


def main():
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            f.write("ready")
        while open(sys.argv[3]).read() != "go":
            time.sleep(0.005)
    t = threading.Thread(target=late_thread_work)
    t.start()
    t.join()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        child_work(w)
        os._exit(0)
    os.close(w)
    truth["child_work"] = json.loads(os.read(r, 64))
    os.waitpid(pid, 0)
    with open(sys.argv[2], "w") as f:
        json.dump(truth, f)


main()
