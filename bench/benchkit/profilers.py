# SPDX-License-Identifier: MIT
"""The profilers compared: none, ours (pyinst-bpf), austin and `perf record` (the cost floor);
how to start each on a pid, wait for it to be attached, and read what it recorded into one
common form."""
import json
import os
import re
import shutil
import subprocess
import time

from . import procstat

ATTACH_TIMEOUT = 10.0
AUSTIN_ATTACH_SECONDS = 0.3
OURS_SETTLE_SECONDS = 0.1


# the final status line (shown without -q): not a warning
STATUS = re.compile(r"pyinst-bpf: [0-9.]+s, \d+ samples, ")


class Profile:
    """What a profiler recorded: samples received, lost, and weighted stacks.

    records: list of (process, thread, names, weight): names are the function names root
    first, weight is seconds (ours) or 1 per sample (austin).
    """

    def __init__(self):
        self.samples = 0
        self.lost = 0
        self.records = []
        self.warnings = []


def wait_perf_events(proc):
    """True once proc has opened its perf events (then after a moment to settle), False if it
    exited or took longer than ATTACH_TIMEOUT."""
    deadline = time.monotonic() + ATTACH_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if procstat.has_perf_events(proc.pid):
            time.sleep(OURS_SETTLE_SECONDS)
            return True
        time.sleep(0.005)
    return False


def in_handshake(record):
    """A sample of the target blocked in the harness handshake, outside the profiled window:
    profilers that cannot tell idle threads apart record those."""
    return "_handshake" in record[2]


class Unprofiled:
    name = "none"

    def available(self, python):
        return True

    def argv(self, pid, outfile, interval, mode):
        return None


class Ours:
    name = "ours"

    def __init__(self, binary):
        self.binary = binary

    def available(self, python):
        return os.access(self.binary, os.X_OK)

    def argv(self, pid, outfile, interval, mode):
        # not -q: it would hide the warnings parse() reads (records dropped)
        return [self.binary, "-i", repr(interval), "--mode", mode, "--subprocesses",
                "-o", outfile, "-r", "session", "--pid", str(pid)]

    def wait_attached(self, proc):
        """Attached once its perf events are open, then a moment to register the pid."""
        return wait_perf_events(proc)

    def parse(self, outfile, stderr):
        profile = Profile()
        profile.warnings = [l for l in stderr.splitlines() if l.strip() and not STATUS.match(l)]
        profile.lost = sum(int(m.group(1)) for m in
                           (re.search(r"(\d+) records dropped", l) for l in profile.warnings)
                           if m)
        with open(outfile) as f:
            session = json.load(f)
        records = [split_ours_stack(stack, weight)
                   for stack, weight in session.get("frame_records", [])]
        profile.records = [r for r in records if not in_handshake(r)]
        interval = session.get("min_interval") or 0.001
        if session.get("pyinst_bpf", {}).get("mode") == "wall":
            # a thread's time off a CPU is a few records of any weight, not one an interval:
            # what wall mode received is the thread time it accounts for, in intervals (the
            # count of records put a busy thread at 71 % and an idle one far lower)
            profile.samples = int(round(sum(r[3] for r in profile.records) / interval))
        else:
            held = sum(r[3] for r in records if in_handshake(r))
            profile.samples = session.get("sample_count", 0) - int(round(held / interval))
        return profile


def split_ours_stack(stack, weight):
    """["cmd\\0<process>\\0pid", "Name\\0<thread>\\0ident", "name\\0file\\0line...", ...]"""
    process, thread, names = None, None, []
    for element in stack:
        parts = element.split("\0")
        kind = parts[1] if len(parts) > 1 else ""
        if kind == "<process>":
            process = parts[2] if len(parts) > 2 else parts[0]
        elif kind == "<thread>":
            thread = element
        elif not element.startswith("["):
            names.append(parts[0])
    return process, thread, tuple(names), weight


class Austin:
    name = "austin"
    VERSIONS = ((3, 8), (3, 9), (3, 10))  # Debian's austin 1.0.1

    def __init__(self, binary=None):
        self.binary = binary or shutil.which("austin")

    def available(self, python):
        return bool(self.binary) and python.version in self.VERSIONS

    def argv(self, pid, outfile, interval, mode):
        argv = [self.binary, "-i", str(max(1, int(round(interval * 1e6)))), "-C",
                "-o", outfile, "-p", str(pid)]
        if mode == "cpu":
            argv.insert(1, "-s")  # sleepless: leave idle threads out, as a CPU profile does
        return argv

    def wait_attached(self, proc):
        time.sleep(AUSTIN_ATTACH_SECONDS)
        return proc.poll() is None

    def parse(self, outfile, stderr):
        profile = Profile()
        profile.warnings = [l for l in stderr.splitlines() if l.strip()]
        match = re.search(r"Error rate\s*:\s*(\d+)/(\d+)", stderr)
        profile.lost = int(match.group(1)) if match else 0
        with open(outfile, errors="replace") as f:
            for line in f:
                record = split_austin_line(line)
                if record and not in_handshake(record):
                    profile.records.append(record)
        profile.samples = len(profile.records)
        return profile


AUSTIN_LINE = re.compile(r"^L\d+$")


def split_austin_line(line):
    """Process 29359;Thread 560e4e45b090;<module> (/tmp/a.py);L1;f (/tmp/a.py);L2 251"""
    line = line.rstrip("\n")
    if not line or line.startswith("#") or " " not in line:
        return None
    stack = line.rsplit(" ", 1)[0]
    process, thread, names = None, None, []
    for part in stack.split(";"):
        if part.startswith("Process "):
            process = part[len("Process "):]
        elif part.startswith("Thread "):
            thread = part
        elif not AUSTIN_LINE.match(part):
            names.append(part.rsplit(" (", 1)[0])
    return process, thread, tuple(names), 1.0


def perf_record_argv(binary, interval, outfile):
    """perf record on every CPU, the cpu-clock event every interval seconds, IPs only."""
    return [binary, "record", "-q", "-a", "-e", "cpu-clock",
            "-c", str(int(round(interval * 1e9))), "-o", outfile]


class PerfRecord:
    """`perf record` on every CPU with the cpu-clock event at the same period, instruction
    pointers only: no BPF, no stack walk. What any sampler driven by the kernel's timer
    interrupts pays before it does any work of its own (the floor of ours)."""
    name = "perf"

    def __init__(self, binary=None):
        self.binary = binary or shutil.which("perf")
        self.pid = None

    def available(self, python):
        return bool(self.binary)

    def argv(self, pid, outfile, interval, mode):
        self.pid = pid
        return perf_record_argv(self.binary, interval, outfile)

    def wait_attached(self, proc):
        return wait_perf_events(proc)

    def parse(self, outfile, stderr):
        """Samples of the target's process; no stacks (records stay empty)."""
        profile = Profile()
        profile.warnings = [l for l in stderr.splitlines() if l.strip()]
        out = subprocess.run([self.binary, "script", "-i", outfile, "-F", "pid"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        pids = out.stdout.decode(errors="replace").split()
        profile.samples = sum(1 for p in pids if p == str(self.pid))
        return profile
