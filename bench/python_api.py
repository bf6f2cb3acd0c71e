#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the Python API costs: Profiler.start() (until the sampler is attached) and stop()
(until the session is read back), sampling directly as root and through the agent as an
unprivileged user, interleaved; and the agent under a flood of refused connections.

Run as root from the repository, alone on the machine:
    flock -x /tmp/pyinst-bench.lock python3 bench/python_api.py [--repeats N]
Prints medians (and min/max) in milliseconds; docs/python-api.md keeps the figures.
"""
import argparse
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "pyinst-bpf")
PYTHON = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable
USER = "pyinstbpf-test"

PROBE = r"""
import json, sys, time
import pyinst_bpf
times = []
for _ in range(int(sys.argv[1])):
    p = pyinst_bpf.Profiler()
    t0 = time.perf_counter()
    p.start()
    t1 = time.perf_counter()
    end = t1 + 0.05
    while time.perf_counter() < end:
        pass
    t2 = time.perf_counter()
    p.stop()
    t3 = time.perf_counter()
    times.append([t1 - t0, t3 - t2])
print(json.dumps(times))
"""

FLOOD = r"""
import socket, sys, time
n = int(sys.argv[2])
t0 = time.perf_counter()
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    socks.append(s)
busy = sum(s.recv(512).startswith(b"ERR busy") for s in socks[4:])
print(busy, time.perf_counter() - t0)
"""


def ms(xs):
    xs = [1000 * x for x in xs]
    return "median %.0f ms (min %.0f, max %.0f, n=%d)" % (statistics.median(xs), min(xs),
                                                        max(xs), len(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (it starts the agent and runs as an unprivileged user)")
    try:
        user = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell",
                        "/usr/sbin/nologin", USER], check=True)
        user = pwd.getpwnam(USER)
    tmp = tempfile.mkdtemp(prefix="pyi-bench-api-")
    os.chmod(tmp, 0o755)
    shutil.copytree(os.path.join(ROOT, "python", "pyinst_bpf"), os.path.join(tmp, "pyinst_bpf"))
    shutil.copy2(BIN, os.path.join(tmp, "pyinst-bpf"))
    sock = os.path.join(tmp, "agent.sock")
    agent = subprocess.Popen([BIN, "agent", "--socket", sock], stderr=subprocess.DEVNULL)
    while not os.path.exists(sock):
        time.sleep(0.05)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": tmp, "PYINST_BPF_SOCKET": sock,
           "PYINST_BPF_BINARY": os.path.join(tmp, "pyinst-bpf"), "HOME": tmp}
    as_user = ["setpriv", "--reuid", str(user.pw_uid), "--regid", str(user.pw_gid),
               "--clear-groups", "--"]
    results = {"direct": [], "agent": []}
    try:
        for _ in range(args.repeats):  # interleaved: one of each per round
            for how, prefix in (("direct", []), ("agent", as_user)):
                out = subprocess.run(prefix + [PYTHON, "-c", PROBE, "1"], env=env, cwd=tmp,
                                     stdout=subprocess.PIPE, check=True).stdout
                results[how] += json.loads(out)
        for how, rows in results.items():
            print("%-6s start(): %s" % (how, ms([r[0] for r in rows])))
            print("%-6s stop():  %s" % (how, ms([r[1] for r in rows])))
        rss0 = rss(agent.pid)
        out = subprocess.run(as_user + [PYTHON, "-c", FLOOD, sock, "1000"], env=env,
                             stdout=subprocess.PIPE, check=True).stdout.split()
        busy, seconds = int(out[0]), float(out[1])
        print("agent flood: 1000 connections from one user, %d refused busy, %.0f per second;"
              " agent RSS %d KiB before, %d KiB after" % (busy, 1000 / seconds, rss0,
                                                          rss(agent.pid)))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


if __name__ == "__main__":
    main()
