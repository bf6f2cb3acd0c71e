#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What wall mode costs (issue 12), interleaved runs, medians:

  server   bench/workloads/http_server.py (ThreadingHTTPServer, JSON, a lock per request) under
           a local wrk load: requests/s unprofiled, with a cpu session, with a wall session
           (--pid), and the profiler's own CPU time per second of session; keep-alive
           (a thread per connection), and server-close: HTTP/1.0, a thread per request.
  pingpong bench/pingpong.py (two threads, a context switch per message, on one CPU):
           round trip unprofiled and profiled in wall mode (launched).
  pipe     `perf bench sched pipe` (not a target, on one CPU) unprofiled and while a wall
           session profiles another (idle) Python.

Run as root, alone on the machine: flock -x /tmp/pyinst-bench.lock python3 bench/wall_cost.py
--smoke runs each once, briefly, and fails only on harness errors (bench/run.py --smoke).
"""
import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
PERF_DATA = "/tmp/pyi-wall-cost-%d.perf" % os.getpid()	# --compare perf's record
AUSTIN_OUT = "/tmp/pyi-wall-cost-%d.austin" % os.getpid()	# --compare austin's samples

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchkit.profilers import Austin, perf_record_argv  # noqa: E402


def cpu_seconds(pid):
    """utime + stime of a process (its threads included), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def variant_env(variant):
    """MODE[/per-task][/nice0] -> (mode, environment, nice): --compare's variants. per-task:
    the cpu-clock events on the target's threads (PYI_PERF_PER_TASK=1) instead of one per CPU;
    nice0: the profiler set back to nice 0 once started (wall mode raises itself to -10)."""
    parts = variant.split("/")
    env = dict(os.environ, PYI_PERF_PER_TASK="1") if "per-task" in parts else None
    return parts[0], env, (0 if "nice0" in parts else None)


class Session:
    """pyinst-bpf attached to pid in a mode (see variant_env), stopped with SIGINT; None mode:
    nothing; "perf": `perf record` on every CPU with the cpu-clock event at 1 kHz, instruction
    pointers only, no BPF: what the timer interrupts of any such sampler cost (our floor);
    "austin": Debian's austin in wall mode every 1 ms (3.8 to 3.10 only), a sampler that reads
    the target from its own process and takes no interrupt."""

    def __init__(self, binary, mode, pid):
        self.proc = None
        self.perf_data = None
        if mode == "austin":
            self.perf_data = AUSTIN_OUT
            self.proc = subprocess.Popen(Austin().argv(pid, AUSTIN_OUT, 0.001, "wall"),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            if self.proc.poll() is not None:
                raise RuntimeError("austin exited: " + self.proc.stderr.read().decode())
        elif mode == "perf":
            self.perf_data = PERF_DATA
            self.proc = subprocess.Popen(perf_record_argv("perf", 0.001, PERF_DATA),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            if self.proc.poll() is not None:
                raise RuntimeError("perf record exited: " + self.proc.stderr.read().decode())
        elif mode:
            mode, env, nice = variant_env(mode)
            self.proc = subprocess.Popen([binary, "-q", "--mode", mode, "--pid", str(pid),
                                          "-o", os.devnull, "-r", "session"], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)  # loaded and attached
            if self.proc.poll() is not None:
                raise RuntimeError("pyinst-bpf exited: " + self.proc.stderr.read().decode())
            if nice is not None:
                os.setpriority(os.PRIO_PROCESS, self.proc.pid, nice)

    def cpu(self):
        return cpu_seconds(self.proc.pid) if self.proc else 0.0

    def stop(self):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        if self.perf_data:
            if os.path.exists(self.perf_data):
                os.unlink(self.perf_data)
        elif self.proc.returncode:
            raise RuntimeError("pyinst-bpf exited %d: %s" % (self.proc.returncode, err.decode()))


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t2", "-c16", "-d%ds" % seconds, "--timeout", "5s",
                          "http://127.0.0.1:%d/item" % port], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, check=True).stdout.decode()
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if not m:
        raise RuntimeError("no Requests/sec in wrk's output: " + out)
    return float(m.group(1))


def bench_server(args, python, close=False):
    server = subprocess.Popen([python, os.path.join(ROOT, "bench", "workloads", "http_server.py")]
                              + (["close"] if close else []),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        port = int(server.stdout.readline())
        wrk(port, 1)  # warm up
        results = {m: [] for m in ["none", "cpu", "wall"] + args.compare}
        prof_cpu = {m: [] for m in results if m != "none"}
        # CPU per request, the server's and the profiler's: what a session costs in CPU, less
        # sensitive than throughput to a host shared with other work
        per_req = {m: [] for m in results}
        for _ in range(args.rounds):
            order = list(results)
            random.shuffle(order)
            for mode in order:
                s = Session(args.profiler, None if mode == "none" else mode, server.pid)
                try:
                    c0, t0, srv0 = s.cpu(), time.monotonic(), cpu_seconds(server.pid)
                    results[mode].append(wrk(port, args.seconds))
                    dt = time.monotonic() - t0
                    per_req[mode].append((cpu_seconds(server.pid) - srv0 + s.cpu() - c0) /
                                         (results[mode][-1] * args.seconds) * 1e6)
                    if mode != "none":
                        prof_cpu[mode].append((s.cpu() - c0) / dt)
                finally:
                    s.stop()
    finally:
        server.kill()
        server.wait()
    base = statistics.median(results["none"])
    print("server, %s (wrk -t2 -c16, %d s runs, %d rounds, medians):" %
          ("a connection and a thread per request" if close else "keep-alive", args.seconds,
           args.rounds))
    base_req = statistics.median(per_req["none"])
    print("  unprofiled %.0f req/s (runs: %s); CPU %.1f us/request" %
          (base, " ".join("%.0f" % r for r in results["none"]), base_req))
    for mode in prof_cpu:
        med = statistics.median(results[mode])
        req = statistics.median(per_req[mode])
        print("  %-4s session %.0f req/s = %.1f%% of unprofiled (runs: %s); profiler CPU %.4f s/s;"
              " CPU %.1f us/request (server + profiler) = %+.1f%%"
              % (mode, med, 100 * med / base, " ".join("%.0f" % r for r in results[mode]),
                 statistics.median(prof_cpu[mode]), req, 100 * (req / base_req - 1)))
    return results


def pingpong(args, python, variant):
    cmd = ["taskset", "-c", "0", python, os.path.join(ROOT, "bench", "pingpong.py"),
           str(args.messages)]
    env = None
    if variant == "perf":
        cmd = perf_record_argv("perf", 0.001, PERF_DATA) + ["--"] + cmd
    elif variant == "austin":
        cmd = [Austin().binary, "-i", "1000", "-o", AUSTIN_OUT] + cmd
    elif variant:
        mode, env, _ = variant_env(variant)
        cmd = [args.profiler, "-q", "--mode", mode, "-o", os.devnull, "-r", "session", "--"] + cmd
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                         check=True).stdout.decode()
    if variant in ("perf", "austin"):
        os.unlink(PERF_DATA if variant == "perf" else AUSTIN_OUT)
    return float(out.split()[0])


def bench_pingpong(args, python):
    results = {m: [] for m in ["none", "wall"] + [v for v in args.compare if "nice0" not in v]}
    for _ in range(args.rounds):
        order = list(results)
        random.shuffle(order)
        for mode in order:
            results[mode].append(pingpong(args, python, None if mode == "none" else mode))
    base = statistics.median(results["none"])
    print("pingpong (%d messages, one CPU, %d rounds, medians):" % (args.messages, args.rounds))
    print("  unprofiled %.2f us/round trip (%.0f switches/s)" % (base, 2e6 / base))
    for mode in list(results)[1:]:
        med = statistics.median(results[mode])
        print("  %s %.2f us: %+.1f%%" % (mode, med, 100 * (med / base - 1)))
    return results


def pipe_us(loops):
    out = subprocess.run(["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l",
                          str(loops)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=True).stdout.decode()
    m = re.search(r"([\d.]+)\s+usecs/op", out)
    if not m:
        raise RuntimeError("no usecs/op in perf's output: " + out)
    return float(m.group(1))


def bench_pipe(args, python):
    idle = subprocess.Popen([python, "-c", "import time; time.sleep(3600)"])
    results = {m: [] for m in ["none", "wall"] + args.compare}
    try:
        time.sleep(0.3)
        for _ in range(args.rounds):
            order = list(results)
            random.shuffle(order)
            for mode in order:
                s = Session(args.profiler, None if mode == "none" else mode, idle.pid)
                try:
                    results[mode].append(pipe_us(args.loops))
                finally:
                    s.stop()
    finally:
        idle.kill()
        idle.wait()
    base = statistics.median(results["none"])
    print("perf bench sched pipe (-l %d, one CPU, %d rounds, medians):" % (args.loops, args.rounds))
    best = min(results["none"])
    print("  unprofiled %.3f us/op (best %.3f)" % (base, best))
    for mode in list(results)[1:]:
        med = statistics.median(results[mode])
        # the best run: the one least disturbed by the rest of the host
        print("  during a %s session on another process %.3f us/op: %+.2f%%; best %.3f: %+.2f%%"
              " (runs: %s)" % (mode, med, 100 * (med / base - 1), min(results[mode]),
                               100 * (min(results[mode]) / best - 1),
                               " ".join("%.3f" % r for r in results[mode])))
    return results


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profiler", default=os.path.join(ROOT, "build", "pyinst-bpf"))
    p.add_argument("--python", default="/usr/bin/python3.11")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=int, default=4, help="each wrk run")
    p.add_argument("--messages", type=int, default=200000, help="each ping-pong run")
    p.add_argument("--loops", type=int, default=200000, help="each perf bench sched pipe run")
    p.add_argument("--only", choices=("server", "server-close", "pingpong", "pipe"),
                   action="append")
    p.add_argument("--compare", action="append", default=[],
                   help="another variant, e.g. wall/per-task (events on the target's threads), "
                        "wall/nice0 (the profiler at nice 0), cpu/per-task, perf (perf record "
                        "-a at the same rate: the timer interrupts' cost alone), austin "
                        "(Debian's, wall mode every 1 ms; with --python 3.8 to 3.10)")
    p.add_argument("--smoke", action="store_true")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("wall_cost: run as root")
    if args.smoke:
        args.rounds, args.seconds, args.messages, args.loops = 1, 1, 20000, 20000
    for name, fn in (("server", bench_server),
                     ("server-close", lambda a, p: bench_server(a, p, close=True)),
                     ("pingpong", bench_pingpong), ("pipe", bench_pipe)):
        if not args.only or name in args.only:
            fn(args, args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
