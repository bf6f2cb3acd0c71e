# The Python API around known work, in this process: a main thread that burns, sleeps and
# burns again, and a second thread that burns. Writes the truth it measured, the session, the
# HTML and the text to the directory argv[1].
import json
import os
import sys
import threading
import time

import pyinst_bpf as pyinstrument
from pyinst_bpf import _backend

OUT = sys.argv[1]
spent = {}


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def timed(name, fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0


def crunch():
    spin(0.5)


def doze():
    time.sleep(0.4)


def finish():
    spin(0.25)


def worker_loop(stop):
    while not stop.is_set():
        spin(0.01)


stop = threading.Event()
profiler = pyinstrument.Profiler()
profiler.start()
worker = threading.Thread(target=worker_loop, args=(stop,), name="api-worker")
worker.start()
timed("crunch", crunch)
timed("doze", doze)
timed("finish", finish)
stop.set()
worker.join()
session = profiler.stop()

session.save(os.path.join(OUT, "api.pyisession"))
profiler.write_html(os.path.join(OUT, "api.html"))
with open(os.path.join(OUT, "api.txt"), "w") as f:
    f.write(profiler.output_text(unicode=True))
with open(os.path.join(OUT, "truth.json"), "w") as f:
    json.dump({"spent": spent, "capabilities": _backend.has_capabilities(),
               "uid": os.getuid(), "thread": threading.get_ident()}, f)
