#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How long `pyinst-bpf dump --pid` takes on a process whose 5 threads all block
(tests/integration/workloads/hung.py), text and --json: median and maximum of N runs each,
interleaved. The integration tests check what dump prints; its speed is measured here.

Run as root, alone on the machine: flock -x /tmp/pyinst-bench.lock python3 bench/dump_time.py [N]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.environ.get("PYI_BIN") or os.path.join(ROOT, "build", "pyinst-bpf")
HUNG = os.path.join(ROOT, "tests", "integration", "workloads", "hung.py")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    d = tempfile.mkdtemp(prefix="pyi-dump-bench-")
    truth, ready = os.path.join(d, "truth.json"), os.path.join(d, "ready")
    target = subprocess.Popen([sys.executable, HUNG, truth, ready])
    try:
        deadline = time.time() + 30
        while not (os.path.exists(ready) and open(ready).read() == "ready"):
            if time.time() > deadline or target.poll() is not None:
                sys.exit("dump_time: hung.py never got ready")
            time.sleep(0.01)
        took = {"text": [], "json": []}
        for _ in range(n):
            for kind, extra in (("text", []), ("json", ["--json"])):
                t0 = time.perf_counter()
                p = subprocess.run([BIN, "dump", "--pid", str(target.pid)] + extra,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                took[kind].append(time.perf_counter() - t0)
                if p.returncode:
                    sys.exit("dump_time: dump exited %d: %s" % (p.returncode, p.stderr.decode()))
        for kind, t in took.items():
            print("dump %-4s %d runs: median %.0f ms, max %.0f ms" %
                  (kind, n, 1000 * statistics.median(t), 1000 * max(t)))
    finally:
        target.kill()
        target.wait()


if __name__ == "__main__":
    main()
