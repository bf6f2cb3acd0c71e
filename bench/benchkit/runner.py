# SPDX-License-Identifier: MIT
"""One run of one workload under one profiler (or none), with the handshake of
workloads/benchlib.py: the workload blocks before and after its main work; the harness attaches
the profiler, snapshots its CPU and BPF counters, releases the target, and at the end
snapshots again and stops the profiler with SIGINT, so that only the main work is profiled."""
import json
import os
import signal
import subprocess
import time

from . import procstat

WORKLOAD_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "workloads")
RUN_TIMEOUT = 120.0


class Workload:
    def __init__(self, label, script, args=()):
        self.label = label
        self.script = script
        self.args = list(args)

    def argv(self, python):
        return [python.path, os.path.join(WORKLOAD_DIR, self.script)] + self.args


class HarnessError(Exception):
    pass


class Run:
    """The measurements of one run; analysis fills in the rest."""

    def __init__(self, python, workload, profiler, interval, mode):
        self.python, self.workload, self.profiler = python, workload, profiler
        self.interval, self.mode = interval, mode
        self.truth = None
        self.profile = None
        self.window = None
        self.cpu_steady = None
        self.cpu_total = None
        self.lifetime = None
        self.bpf = {}
        self.error = None


def read_line(fd):
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            raise HarnessError("the workload exited before its handshake")
        data += chunk
    return data.decode().strip()


def start_workload(python, workload, truth_path, scale):
    to_child, from_harness = os.pipe()
    from_child, to_harness = os.pipe()
    env = dict(os.environ, PYI_BENCH_TRUTH=truth_path, PYI_BENCH_SCALE=repr(scale),
               PYI_BENCH_SYNC="%d,%d" % (to_child, to_harness))
    proc = subprocess.Popen(workload.argv(python), env=env, pass_fds=(to_child, to_harness),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(to_child)
    os.close(to_harness)
    return proc, from_harness, from_child


def expect(fd, word):
    got = read_line(fd)
    if got != word:
        raise HarnessError("handshake: expected %r, got %r" % (word, got))


class Attached:
    """A profiler process attached to the workload, with its counters at the window's start."""

    def __init__(self, profiler, pid, outfile, interval, mode, errfile):
        self.profiler = profiler
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(profiler.argv(pid, outfile, interval, mode),
                                     stdout=subprocess.DEVNULL, stderr=errfile)
        if not profiler.wait_attached(self.proc):
            self.stop()
            raise HarnessError("%s did not attach" % profiler.name)
        self.prog_ids = procstat.bpf_prog_ids(self.proc.pid)
        self.bpf0 = procstat.bpf_prog_stats(self.prog_ids)
        self.cpu0 = procstat.cpu_seconds(self.proc.pid)

    def snapshot_end(self, run):
        cpu1 = procstat.cpu_seconds(self.proc.pid)
        run.bpf = procstat.bpf_stats_delta(self.bpf0, procstat.bpf_prog_stats(self.prog_ids))
        if self.cpu0 is not None and cpu1 is not None:
            run.cpu_steady = cpu1 - self.cpu0

    def stop(self):
        """SIGINT (the report is written anyway), then reap: user+sys time from wait4."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, status, usage = os.wait4(self.proc.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status) \
                if hasattr(os, "waitstatus_to_exitcode") else status
        except ChildProcessError:
            usage = None
        return usage, time.perf_counter() - self.started


def run_once(run, scale, tmpdir):
    """Run it; measurements land in run, a harness failure in run.error."""
    tag = "%s-%s-%s-%d" % (run.python.label, run.workload.label, run.profiler.name, os.getpid())
    truth_path = os.path.join(tmpdir, tag + ".truth.json")
    outfile = os.path.join(tmpdir, tag + ".out")
    errpath = os.path.join(tmpdir, tag + ".err")
    for path in (truth_path, outfile):
        if os.path.exists(path):
            os.unlink(path)
    proc, go_fd, sync_fd = start_workload(run.python, run.workload, truth_path, scale)
    attached = None
    try:
        expect(sync_fd, "ready")
        with open(errpath, "w") as errfile:
            if run.profiler.argv(proc.pid, outfile, run.interval, run.mode):
                attached = Attached(run.profiler, proc.pid, outfile, run.interval, run.mode,
                                    errfile)
            window0 = time.perf_counter()
            os.write(go_fd, b"g")
            expect(sync_fd, "end")
            run.window = time.perf_counter() - window0
            if attached:
                attached.snapshot_end(run)
                usage, run.lifetime = attached.stop()
                if usage:
                    run.cpu_total = usage.ru_utime + usage.ru_stime
        os.write(go_fd, b"g")
        finish_workload(run, proc, truth_path)
        if attached:
            with open(errpath) as f:
                run.profile = parse_output(run.profiler, outfile, f.read())
    except (HarnessError, OSError, ValueError, subprocess.TimeoutExpired) as err:
        run.error = str(err)
    finally:
        cleanup(proc, attached, go_fd, sync_fd)
    return run


def finish_workload(run, proc, truth_path):
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    if proc.returncode != 0:
        raise HarnessError("workload exited with %d: %s" % (proc.returncode,
                                                           stderr.decode()[-500:]))
    with open(truth_path) as f:
        run.truth = json.load(f)


def parse_output(profiler, outfile, stderr):
    if not os.path.exists(outfile):
        raise HarnessError("%s wrote no output; stderr: %s" % (profiler.name, stderr[-500:]))
    return profiler.parse(outfile, stderr)


def cleanup(proc, attached, go_fd, sync_fd):
    if attached and attached.proc.poll() is None:
        attached.proc.kill()
        attached.proc.wait()
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for fd in (go_fd, sync_fd):
        try:
            os.close(fd)
        except OSError:
            pass
