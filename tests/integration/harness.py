# SPDX-License-Identifier: MIT
"""Shared pieces of the integration tests: interpreters, running the profiler, reading sessions.

Tests run real BPF against real Python processes. They need root; without it the runner exits
77 (skipped) and says why.
"""
import glob
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads")


def binary():
    return os.environ.get("PYI_BIN") or os.path.join(HERE, "..", "..", "build", "pyinst-bpf")


def interpreters():
    """Every CPython on the machine: pyenv's versions and Debian's python3.11, with labels."""
    found = []
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for path in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3.*"))):
        base = os.path.basename(path)
        if base.count(".") == 1 and base[len("python3."):].isdigit():
            version = path.split(os.sep)[-3]
            found.append(("pyenv " + version, path))
    if os.path.exists("/usr/bin/python3.11"):
        found.append(("debian 3.11 (static, non-PIE)", "/usr/bin/python3.11"))
    only = os.environ.get("PYI_PYTHONS")	# a substring of the labels: these interpreters only
    if only:
        found = [f for f in found if only in f[0]]
    return found


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Session:
    """A .pyisession read back: records of (stack, weight), frames parsed."""

    def __init__(self, path):
        with open(path) as f:
            self.raw = json.load(f)
        self.records = [([parse_frame(fr) for fr in stack], w)
                        for stack, w in self.raw["frame_records"]]

    def total(self):
        return sum(w for _, w in self.records)

    def time_in(self, pred):
        """Inclusive time of records that have a frame matching pred."""
        return sum(w for stack, w in self.records if any(pred(fr) for fr in stack))

    def function_time(self, name):
        return self.time_in(lambda fr: fr["name"] == name)

    def thread_roots(self):
        roots = {}
        for stack, w in self.records:
            for fr in stack:
                if fr["file"] == "<thread>":
                    roots[fr["name"] + ":" + fr["line"]] = roots.get(fr["name"] + ":" + fr["line"], 0) + w
                    break
        return roots


def parse_frame(info):
    ident, _, attrs = info.partition("\x01")
    parts = ident.split("\x00")
    while len(parts) < 3:
        parts.append("")
    fr = {"name": parts[0], "file": parts[1], "line": parts[2], "attrs": {}}
    if attrs:
        for a in ("\x01" + attrs).split("\x01")[1:]:
            if a:
                fr["attrs"][a[0]] = a[1:]
    return fr


class Run:
    def __init__(self, proc, session_path, truth_path, stderr):
        self.proc = proc
        self.session_path = session_path
        self.truth_path = truth_path
        self.stderr = stderr

    def session(self):
        return Session(self.session_path)

    def truth(self):
        with open(self.truth_path) as f:
            return json.load(f)


def tmpdir():
    d = os.environ.get("PYI_TEST_TMP") or tempfile.mkdtemp(prefix="pyi-it-")
    os.makedirs(d, exist_ok=True)
    return d


def profile_launch(python, workload, args, opts=(), timeout=120):
    """pyinst-bpf [opts] -o S.pyisession -- python workload args... (truth path appended)."""
    d = tmpdir()
    session = os.path.join(d, "s-%d-%s.pyisession" % (os.getpid(), time.time()))
    truth = session + ".truth.json"
    cmd = [binary(), "-q", "-o", session] + list(opts) + ["--", python,
           os.path.join(WORKLOADS, workload)] + [str(a) for a in args] + [truth]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0, "pyinst-bpf exited %d: %s" % (p.returncode, err.strip()))
    check(os.path.exists(session), "no session written: " + err)
    return Run(p, session, truth, err)


def start_profiler(args, timeout=60, **popen_kw):
    """Starts pyinst-bpf with --ready-fd and returns its Popen once it samples: never a sleep
    that hopes it is attached (on a loaded host loading the BPF programs takes seconds)."""
    r, w = os.pipe()
    try:
        prof = subprocess.Popen([binary(), "--ready-fd", str(w)] + list(args), pass_fds=(w,),
                                **popen_kw)
    finally:
        os.close(w)
    try:
        readable, _, _ = select.select([r], [], [], timeout)
        byte = os.read(r, 1) if readable else b""
    finally:
        os.close(r)
    if byte != b"R":	# exited before sampling, or still loading after timeout seconds
        if prof.poll() is None:
            prof.kill()
        _, err = prof.communicate()
        err = err.decode(errors="replace").strip() if isinstance(err, bytes) else ""
        check(False, "pyinst-bpf never started sampling (exit %s): %s" % (prof.returncode, err))
    return prof


def start_ready_workload(python, workload, args, ready, timeout=30):
    """Starts a workload that writes "ready" to the file ready and then waits for "go"."""
    open(ready, "w").close()
    target = subprocess.Popen([python, os.path.join(WORKLOADS, workload)] +
                              [str(a) for a in args] + [ready])
    deadline = time.time() + timeout
    while open(ready).read() != "ready":
        if time.time() >= deadline or target.poll() is not None:
            target.kill()
            target.wait()
            check(False, "workload %s never got ready" % workload)
        time.sleep(0.01)
    return target


def go(ready):
    with open(ready, "w") as f:
        f.write("go")


def profile_pid(python, workload, args, opts=(), timeout=120):
    """Starts the workload, attaches with --pid once it is ready, lets it go once the profiler
    samples, profiles until it exits."""
    d = tmpdir()
    session = os.path.join(d, "p-%d-%s.pyisession" % (os.getpid(), time.time()))
    truth = session + ".truth.json"
    ready = session + ".ready"
    target = start_ready_workload(python, workload, list(args) + [truth], ready)
    prof = None
    try:
        prof = start_profiler(["-q", "-o", session, "--pid", str(target.pid)] + list(opts),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        go(ready)
        out, err = prof.communicate(timeout=timeout)
        target.wait(timeout=timeout)
    finally:
        for p in (target, prof):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    err = err.decode(errors="replace")
    check(prof.returncode == 0, "pyinst-bpf exited %d: %s" % (prof.returncode, err.strip()))
    return Run(prof, session, truth, err)


def run_tests(tests):
    """Runs (name, fn) pairs; prints a line each and the closing count line."""
    if os.geteuid() != 0:
        print("SKIP: the integration tests need root (CAP_BPF, CAP_PERFMON): run as root")
        sys.exit(77)
    if not os.path.exists(binary()):
        print("SKIP: no pyinst-bpf binary at %s (set PYI_BIN)" % binary())
        sys.exit(77)
    passed = failed = skipped = 0
    only = os.environ.get("PYI_ONLY")	# a regular expression: run only the tests it matches
    if only:
        tests = [(name, fn) for name, fn in tests if re.search(only, name)]
    for name, fn in tests:
        # no retry: a test that fails once has a cause to find, not a second chance
        t0 = time.time()
        status = attempt(fn)
        if status == "ok":
            passed += 1
        elif status.startswith("skip"):
            skipped += 1
        else:
            failed += 1
        print("%-70s %s (%.1fs)" % (name, status, time.time() - t0), flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


def attempt(fn):
    try:
        fn()
        return "ok"
    except Skip as e:
        return "skip (%s)" % e
    except Failure as e:
        return "FAIL: %s" % e
    except Exception as e:  # a harness error is a failure too
        return "FAIL: %s: %s" % (type(e).__name__, e)


class Skip(Exception):
    pass
