# SPDX-License-Identifier: MIT
"""Real BPF against real interpreters: every CPython on the machine, each workload measuring
its own ground truth. Run as root: python3 tests/integration/test_profile.py"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Session, Skip, binary, check, go, interpreters,  # noqa: E402
                     profile_launch, profile_pid, run_tests, start_profiler, start_ready_workload,
                     tmpdir, VARIANTS, WORKLOADS)

DURATION = float(os.environ.get("PYI_TEST_DURATION", "2.0"))


def shares_agree(run, tolerance=5.0):
    s, truth = run.session(), run.truth()
    names = sorted(truth)
    measured = {n: s.function_time(n) for n in names}
    total_m, total_t = sum(measured.values()), sum(truth.values())
    check(total_m > 0, "no samples in alpha/beta/gamma")
    for n in names:
        got, want = 100 * measured[n] / total_m, 100 * truth[n] / total_t
        check(abs(got - want) <= tolerance,
              "%s: %.1f%% of the time in the profile, %.1f%% measured inside" % (n, got, want))


def test_shares_launch(python):
    shares_agree(profile_launch(python, "shares.py", [DURATION]))


def test_shares_pid(python):
    shares_agree(profile_pid(python, "shares.py", [DURATION]))


def test_deep_recursion_whole(python):
    run = profile_launch(python, "deep.py", [DURATION / 2, 1000])
    s, depth = run.session(), run.truth()["depth"]
    deepest = max(len([f for f in st if f["name"] == "recurse"]) for st, _ in s.records)
    check(deepest == 1001, "recurse frames in the deepest stack: %d, want 1001" % deepest)
    longest = max((st for st, _ in s.records), key=len)
    python_frames = [f for f in longest if f["file"] not in ("<thread>", "<wait>")]
    check(len(python_frames) >= depth,
          "deepest stack has %d Python frames, the program saw %d" % (len(python_frames), depth))
    check(python_frames[0]["name"] == "<module>", "the root end is not <module>")
    check(not any(f["file"] == "<truncated>" for st, _ in s.records for f in st),
          "a 1000-deep stack was truncated")


def test_deep_recursion_truncated(python):
    run = profile_launch(python, "deep.py", [DURATION / 4, 300], ["--max-depth", "100"])
    s = run.session()
    cut = [st for st, _ in s.records if st and st[-1]["file"] == "<truncated>"]
    check(cut, "no stack says it was truncated at --max-depth 100")
    for st in cut:
        python_frames = [f for f in st if f["file"] not in ("<thread>", "<truncated>")]
        check(len(python_frames) == 100, "truncated stack kept %d frames" % len(python_frames))
        check(python_frames[0]["name"] == "<module>", "truncation lost the root end")


def test_threads_and_sleeper(python):
    run = profile_launch(python, "threads.py", [DURATION], ["--mode", "wall"])
    s, truth = run.session(), run.truth()
    roots = s.thread_roots()
    check(len(roots) >= 5, "threads seen: %s (want main, 3 workers, sleeper)" % sorted(roots))
    slept = s.time_in(lambda f: f["name"] == "sleeper")
    in_sleep = sum(w for st, w in s.records
                   if any(f["name"] == "sleeper" for f in st) and st[-1]["name"] == "[sleeping]")
    check(abs(slept - truth["sleeper"]) <= 0.05 * truth["sleeper"],
          "sleeper: %.3fs in the profile, %.3fs measured" % (slept, truth["sleeper"]))
    # the measured time also holds the wait for a CPU and the GIL after the sleep ends (0.3 s on
    # a loaded host), which the profile rightly shows under those: the sleep itself is DURATION
    check(in_sleep >= 0.95 * DURATION, "sleeper: %.3fs under [sleeping] of its %.3fs sleep" %
          (in_sleep, DURATION))


def test_line_numbers(python):
    run = profile_launch(python, "lines.py", [DURATION / 2])
    s, truth = run.session(), run.truth()
    lines = set()
    for st, _ in s.records:
        for f in st:
            if f["name"] == "hot":
                check(int(f["line"]) == truth["firstline"],
                      "hot's first line %s, want %d" % (f["line"], truth["firstline"]))
                if "l" in f["attrs"]:
                    lines.add(int(f["attrs"]["l"]))
    check(lines, "no current line recorded for hot")
    loop = set(range(min(truth["lines"]) - 2, max(truth["lines"]) + 1))
    check(lines <= loop, "current lines %s outside the loop %s" % (sorted(lines), sorted(loop)))
    check(set(truth["lines"]) <= lines,
          "lines the frame reported %s never sampled (got %s)" % (truth["lines"], sorted(lines)))


def test_churn_names_right(python, args=()):
    run = profile_launch(python, "churn.py", [2500] + list(args))
    s = run.session()
    last, named, unknown = -1, 0, 0
    for st, _ in s.records:
        for f in st:
            if f["name"] == "<unknown>":
                unknown += 1
            if f["name"].startswith("f_"):
                i = int(f["name"][2:])
                check(f["file"] == "<churn-%d>" % i, "%s named from %s" % (f["name"], f["file"]))
                check(i >= last, "f_%d sampled after f_%d: a stale name" % (i, last))
                last, named = i, named + 1
    check(unknown == 0, "%d frames could not be named" % unknown)
    check(named > 500, "only %d samples in generated functions" % named)


def test_churn_naps_names_right(python):
    """Wall mode: a thread that left its CPU between functions, unseen by the iterator, exits;
    the time it was off since is not charged to the stack of its last walk (an older function)."""
    test_churn_names_right(python, ["--nap"])


def test_methods_class(python):
    """self.area() is Shape.area, cls.build is Shape.build, plain() has no class."""
    run = profile_launch(python, "methods.py", [DURATION / 2])
    s = run.session()
    seen = {"area": 0, "build": 0, "plain": 0}
    for st, _ in s.records:
        for f in st:
            if f["name"] in seen and f["file"].endswith("methods.py"):
                seen[f["name"]] += 1
                want = None if f["name"] == "plain" else "Shape"
                check(f["attrs"].get("c") == want, "%s: class %r, want %r" %
                      (f["name"], f["attrs"].get("c"), want))
    check(all(seen.values()), "frames sampled per function: %s" % seen)


def test_gil_waits_launch(python):
    """Threads contending for the GIL wait for the GIL, not on a lock, from the first sample
    of a launched program (3.12+ create the GIL after exec)."""
    if "/3.6." in python:
        raise Skip("3.6 keeps its GIL in file statics, not found: its waits read as lock waits")
    run = profile_launch(python, "gil_contention.py", [DURATION / 2], ["--mode", "wall"])
    s = run.session()
    leaves = {}
    for st, w in s.records:
        if any(f["name"] == "spin" for f in st):
            leaves[st[-1]["name"]] = leaves.get(st[-1]["name"], 0) + w
    spun = sum(leaves.values())
    check(spun > 0, "no samples in spin")
    gil, lock = leaves.get("[waiting for the GIL]", 0), leaves.get("[waiting on a lock]", 0)
    check(lock <= 0.02 * spun, "GIL waits labelled as lock waits: %s" % leaves)
    # on a loaded machine a thread handed the GIL often waits for a CPU instead
    check(gil >= 0.05 * spun, "only %.3f of %.3f s waiting for the GIL: %s" % (gil, spun, leaves))


def wait_test(python, mode):
    run = profile_launch(python, "waits.py", [DURATION], ["--mode", mode])
    s, truth = run.session(), run.truth()
    reasons = {"sleeping": "[sleeping]", "locked": "[waiting on a lock]",
               "reading": "[receiving from a socket]"}
    for func, want in sorted(reasons.items()):
        total = s.function_time(func)
        under = sum(w for st, w in s.records
                    if any(f["name"] == func for f in st) and st[-1]["name"] == want)
        if mode == "cpu":
            check(under == 0, "%s: waits appear in cpu mode" % func)
            continue
        # measured: the wait, then the wait for a CPU and the GIL once it ends (a few ms on a
        # quiet host, 0.3 s on a loaded one), which the profile puts under those. So: all the
        # function's time, the wait itself (at least DURATION) under its reason, none under
        # another reason's.
        check(abs(total - truth[func]) <= 0.05 * truth[func],
              "%s: %.3fs in the profile, %.3fs measured" % (func, total, truth[func]))
        check(under >= 0.95 * DURATION and under <= 1.02 * truth[func],
              "%s: %.3fs under %s, it waited %.3fs (%.3fs measured in all)" %
              (func, under, want, DURATION, truth[func]))
        wrong = sum(w for st, w in s.records if any(f["name"] == func for f in st) and
                    st[-1]["name"] in reasons.values() and st[-1]["name"] != want)
        check(wrong <= 0.01 * total, "%s: %.3fs under another wait than %s" % (func, wrong, want))
    spun = s.time_in(lambda f: f["name"] == "spinning")
    comp = s.time_in(lambda f: f["name"] == "compressing")
    if mode == "cpu":
        # on-CPU samples against the CPU time each thread measured (RUSAGE_THREAD)
        for name, got in (("spinning", spun), ("compressing", comp)):
            want = truth[name + "_cpu"]
            check(abs(got - want) <= 0.05 * want + 0.02,
                  "%s: %.3fs on CPU in the profile, %.3fs measured" % (name, got, want))
    if mode == "wall":
        check(abs(spun - truth["spinning"]) <= 0.05 * truth["spinning"],
              "spinning: %.3fs wall in the profile, %.3fs measured" % (spun, truth["spinning"]))
        check(abs(comp - truth["compressing"]) <= 0.05 * truth["compressing"],
              "compressing: %.3fs wall in the profile, %.3fs measured" % (comp, truth["compressing"]))


# What report_problems says about reads that failed; -v shows each counter that is not zero.
READ_COUNTERS = ("thread list", "unreadable frame", "code object was unreadable",
                 "could not be named")


def server_run(python, mode):
    session, truth, err = profile_pid_sampling(python, "http_server.py", [DURATION],
                                               ("--mode", mode))
    check(truth["served"] >= 10, "the server answered only %d requests" % truth["served"])
    check(session.function_time("do_GET") > 0, "do_GET is not in the profile")
    return err.splitlines()


def test_server_counters_zero(python):
    """A threaded HTTP server under load (a thread per connection, thousands of threads
    starting and ending), cpu mode: every read is the sampled thread's own, of its live
    state, and succeeds; no read counter moves (threads exiting are not failures)."""
    bad = [l for l in server_run(python, "cpu") if any(c in l for c in READ_COUNTERS)]
    check(not bad, "a clean run counted failed reads: " + "; ".join(bad))


def test_server_no_warning_wall(python):
    """The same in wall mode (the default): no warning at all, and no thread list counted
    unreadable. (Wall mode reads threads off a CPU from another one: a thread that wakes
    during the walk can pull frames from under it, a rare loss that is counted, as info.)"""
    # (-v shows the collector's notices too: the sampling budget's, on a loaded host, is none
    # of the profile's health)
    bad = [l for l in server_run(python, "wall") if ("warning:" in l and "interval raised" not in l)
           or "thread list" in l]
    check(not bad, "a clean run warned: " + "; ".join(bad))


def profile_pid_sampling(python, workload, args, opts=()):
    """profile_pid with -v: its stderr, the counters report_problems prints, is returned."""
    d = tmpdir()
    session = os.path.join(d, "v-%d-%s.pyisession" % (os.getpid(), time.time()))
    truth, ready = session + ".truth.json", session + ".ready"
    target = start_ready_workload(python, workload, list(args) + [truth], ready)
    prof = None
    try:
        prof = start_profiler(["-v", "-q", "-o", session, "--pid", str(target.pid)] + list(opts),
                              stderr=subprocess.PIPE)
        go(ready)
        _, err = prof.communicate(timeout=120)
        target.wait(timeout=60)
    finally:
        for p in (target, prof):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    err = err.decode(errors="replace")
    check(prof.returncode == 0, "pyinst-bpf exited %d: %s" % (prof.returncode, err[-500:]))
    with open(truth) as f:
        return Session(session), json.load(f), err


def per_interpreter_tests():
    tests = []
    full = (test_shares_launch, test_shares_pid, test_deep_recursion_whole,
            test_deep_recursion_truncated, test_threads_and_sleeper, test_line_numbers,
            test_churn_names_right, test_churn_naps_names_right, test_methods_class, test_gil_waits_launch,
            test_server_counters_zero, test_server_no_warning_wall, test_late_work_on_cpu,
            test_new_threads_from_start)
    # another build of a version covered in full (PIE, shared, debug, JIT): what differs
    variant = (test_shares_launch, test_shares_pid, test_deep_recursion_whole,
               test_methods_class, test_gil_waits_launch)
    for label, python in interpreters(unstable=True):
        for fn in (variant if label in VARIANTS else full):
            tests.append(("%s [%s]" % (fn.__name__, label), lambda fn=fn, p=python: fn(p)))
        tests.append(("test_waits_wall [%s]" % label, lambda p=python: wait_test(p, "wall")))
        if label not in VARIANTS:
            tests.append(("test_waits_cpu [%s]" % label, lambda p=python: wait_test(p, "cpu")))
    return tests


# ---- bad input and interruptions ---------------------------------------------------------

def run_cli(args, timeout=60):
    p = subprocess.run([binary()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def one_line_error(rc, err, *words):
    check(rc not in (0, -11, -6) and rc > 0, "exit status %d" % rc)
    lines = [l for l in err.strip().splitlines() if l and not l.startswith("Try ")]
    check(len(lines) == 1, "want one line of error, got: %r" % err)
    for w in words:
        check(w in lines[0], "%r not in %r" % (w, lines[0]))


def test_no_such_pid():
    rc, _, err = run_cli(["--pid", "4000000", "--duration", "1"])
    one_line_error(rc, err, "no process", "4000000")


def test_not_python():
    p = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        rc, _, err = run_cli(["--pid", str(p.pid), "--duration", "1"])
        one_line_error(rc, err, "not a Python process", str(p.pid))
    finally:
        p.kill()


def test_unsupported_python():
    py27 = [p for p in (os.path.expanduser("~/.pyenv/versions/2.7.18/bin/python2.7"),) if
            os.path.exists(p)]
    if not py27:
        raise Skip("no Python 2.7 here")
    p = subprocess.Popen([py27[0], "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)
        rc, _, err = run_cli(["--pid", str(p.pid), "--duration", "1"])
        one_line_error(rc, err, "2.7", "not supported")
    finally:
        p.kill()


def unsupported_launch(python, version):
    """Launching a Python we cannot profile fails: one line naming it, no report, non-zero."""
    for quiet in ([], ["-q"]):
        out = os.path.join(tmpdir(), "unsupported-%d.pyisession" % os.getpid())
        rc, _, err = run_cli(quiet + ["-o", out, "--", python, "-c",
                                      "import time; time.sleep(0.5)"])
        one_line_error(rc, err, version, "not supported")
        check(not os.path.exists(out), "a report was written for nothing profiled")


def test_unsupported_launch():
    py27 = os.path.expanduser("~/.pyenv/versions/2.7.18/bin/python2.7")
    if not os.path.exists(py27):
        raise Skip("no Python 2.7 here")
    unsupported_launch(py27, "2.7")


def test_corrupt_session():
    path = os.path.join(tmpdir(), "corrupt.pyisession")
    with open(path, "w") as f:
        f.write('{"start_time": 1, "frame_records": [[["a\\u0000b\\u00001"], 0.1]')
    rc, _, err = run_cli(["--load", path])
    one_line_error(rc, err, path)


def test_quiet_verbose_levels():
    """-q and -v are log levels: -q errors only (no status line, no warning), the default
    warnings and the final status line, -v everything with libbpf's messages (and wins over -q,
    in either order)."""
    python = interpreters()[0][1]
    target = subprocess.Popen([python, "-c", "def f():\n while True: sum(range(1000))\nf()"])
    out = os.path.join(tmpdir(), "levels-%d.folded" % os.getpid())
    runs = {}
    try:
        time.sleep(0.3)
        # --max-depth 1 cuts every stack (<module> calls f): a warning at the end
        for levels in ([], ["-q"], ["-v"], ["-q", "-v"], ["-v", "-q"]):
            rc, _, err = run_cli(levels + ["--max-depth", "1", "-d", "0.5", "--pid",
                                           str(target.pid), "-o", out])
            check(rc == 0, "%s: exit %d: %s" % (levels, rc, err))
            runs[" ".join(levels)] = err
        rc, _, err = run_cli(["-q", "--pid", "4000000", "-d", "1"])
        one_line_error(rc, err, "no process", "4000000")
    finally:
        target.kill()
        target.wait()
    check(runs["-q"] == "", "-q printed: %r" % runs["-q"])
    default = runs[""].splitlines()
    check(any("warning:" in l and "--max-depth" in l for l in default), "no warning: %r" % default)
    check(len(SUMMARY.findall(runs[""])) == 1, "no final status line: %r" % default)
    check(not any("libbpf:" in l or "sampling started" in l for l in default),
          "debug messages without -v: %r" % default)
    for v in ("-v", "-q -v", "-v -q"):
        lines = runs[v].splitlines()
        check(any(l.startswith("pyinst-bpf: libbpf: ") for l in lines), "%s: no libbpf" % v)
        check(any(l == "pyinst-bpf: sampling started" for l in lines), "%s: no info" % v)
        check(any("warning:" in l and "--max-depth" in l for l in lines), "%s: no warning" % v)


def test_bad_option():
    rc, _, err = run_cli(["--interval", "banana", "--pid", "1"])
    check(rc == 2, "usage errors exit 2, got %d" % rc)


def test_sigterm_writes_report(python=None):
    python = python or interpreters()[0][1]
    out = os.path.join(tmpdir(), "sigterm-%d.pyisession" % os.getpid())
    target = subprocess.Popen([python, os.path.join(WORKLOADS, "deep.py"), "30", "10",
                               "/dev/null"])
    prof = None
    try:
        prof = start_profiler(["-q", "--pid", str(target.pid), "-o", out], stderr=subprocess.PIPE)
        time.sleep(1.5)	# sampling: 1.5 s of a spinning target
        prof.send_signal(signal.SIGTERM)
        _, err = prof.communicate(timeout=30)
        check(prof.returncode == 0, "exit %d after SIGTERM: %s" % (prof.returncode, err))
        s = Session(out)
        # time, not records: wall mode sends a thread waiting for a CPU as one record per
        # 10 ms, so a loaded host gives fewer records for the same time
        check(len(s.records) > 0 and s.total() >= 0.5,
              "only %d records, %.3f s after 1.5 s" % (len(s.records), s.total()))
    finally:
        for p in (target, prof):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def test_target_exits_midway():
    """The target exits while --duration has 29 s to go: the profiler ends with it and reports
    what came before. The target's 1 s of work starts once the profiler samples (a sleep before
    attaching let a loaded host spend the whole second loading the BPF programs)."""
    python = interpreters()[0][1]
    out = os.path.join(tmpdir(), "exits-%d.pyisession" % os.getpid())
    ready = out + ".ready"
    target = start_ready_workload(python, "shares.py", [1, "/dev/null"], ready)
    prof = None
    try:
        prof = start_profiler(["-q", "--pid", str(target.pid), "--duration", "30", "-o", out],
                              stderr=subprocess.PIPE)
        go(ready)
        target.wait(timeout=60)
        _, err = prof.communicate(timeout=60)
    finally:
        for p in (target, prof):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    check(prof.returncode == 0, "exit %d: %s" % (prof.returncode, err))
    s = Session(out)
    check(s.raw["duration"] < 20, "ran %.1fs: did not end with its target" % s.raw["duration"])
    # time, not records (a thread waiting for a CPU is one record per 10 ms): of its 1 s
    check(s.total() >= 0.5, "report missing what came before the exit: %.3f s" % s.total())


def test_exec_command_fails():
    rc, _, err = run_cli(["-q", "--", "/nonexistent/python3", "x.py"])
    one_line_error(rc, err, "cannot run")


def test_launch_through_shim():
    """python3 on PATH is a pyenv shell shim that execs the interpreter: launch follows it."""
    run = profile_launch("python3", "shares.py", [DURATION / 2])
    shares_agree(run)


def test_500_threads():
    python = interpreters()[-1][1]
    run = profile_launch(python, "many_threads.py", [500])
    roots = run.session().thread_roots()
    workers = [r for r in roots if not r.startswith("MainThread")]
    check(run.truth()["threads"] == 500, "the workload ran %s threads" % run.truth())
    check(len(workers) >= 500, "%d of 500 short-lived threads in the profile" % len(workers))


def test_thread_totals_wall():
    """Wall mode accounts every thread for its whole life, and only for it."""
    run = profile_launch(interpreters()[-1][1], "late_thread.py", [1.5])
    roots, truth = run.session().thread_roots(), run.truth()
    main = [t for name, t in roots.items() if name.startswith("MainThread")]
    workers = [t for name, t in roots.items() if not name.startswith("MainThread")]
    check(len(main) == 1 and len(workers) == 1, "threads: %s" % roots)
    check(abs(workers[0] - truth["worker"]) <= 0.05 * truth["worker"],
          "late thread: %.3fs in the profile, it lived %.3fs" % (workers[0], truth["worker"]))
    check(main[0] >= 0.98 * truth["main"],
          "main thread: %.3fs in the profile, the script ran %.3fs" % (main[0], truth["main"]))


def late_cpu_agrees(run):
    s, truth = run.session(), run.truth()
    for func, ran in sorted(truth.items()):
        # on a CPU: not under a wait leaf (wall mode shows the waits for a CPU too)
        got = sum(w for st, w in s.records if any(f["name"] == func for f in st) and
                  st[-1]["file"] not in ("<wait>", "<idle>"))
        # 0 if the events were not inherited, 2x if a thread were sampled by two; the
        # cpu-clock also counts interrupts and steal time that the run time leaves out
        check(0.8 * ran <= got <= 1.25 * ran,
              "%s: %.3fs on a CPU in the profile, it ran %.3fs" % (func, got, ran))


class PerTaskEvents:
    """PYI_PERF_PER_TASK=1 for the profilers started inside: perf events on the targets'
    threads (docs/design.md, "Perf events")."""

    def __enter__(self):
        os.environ["PYI_PERF_PER_TASK"] = "1"

    def __exit__(self, *a):
        del os.environ["PYI_PERF_PER_TASK"]


def test_late_work_on_cpu(python):
    """A thread started after the profiler attached, one that thread starts, and a forked child
    are sampled on a CPU for all they ran, also with per-task events, which they inherit;
    launched in cpu mode, and with --pid in wall mode following children."""
    late_cpu_agrees(profile_launch(python, "late_cpu.py", [0.4], ["--mode", "cpu"]))
    with PerTaskEvents():
        late_cpu_agrees(profile_launch(python, "late_cpu.py", [0.4], ["--mode", "cpu"]))
        late_cpu_agrees(profile_pid(python, "late_cpu.py", [0.4], ["--mode", "wall",
                                                                   "--subprocesses"]))


def test_new_threads_from_start(python):
    """At 10 kHz, threads started one after another are counted from their first moments: a
    thread sampled before CPython bound it to its state (its first microseconds) used to be
    looked up again only 20 ms later, and lost half of its 40 ms of CPU. What a thread ran
    while no timer could fire is not there to be sampled: the workload measures its CPU
    clock's jumps (1-4 ms in some runs on a loaded VM; a CI run's thread that ran 47 ms of its
    40 ms loop, 20 ms of it sampled, had jumped about 27 ms)."""
    run_ = profile_launch(python, "new_threads.py", [20], ["--mode", "cpu", "-i", "0.0001"])
    roots = {}
    for root, t in run_.session().thread_roots().items():
        roots[root.split(":")[0]] = roots.get(root.split(":")[0], 0) + t
    for name, (ran, stalled) in sorted(run_.truth().items()):
        check(roots.get(name, 0) >= 0.8 * (ran - stalled),
              "thread %s: %.4fs in the profile, it ran %.4fs (%.4fs of it stalled)" %
              (name, roots.get(name, 0), ran, stalled))


def test_few_descriptors_per_cpu():
    """Per-task events on a process with more threads than descriptors left for them: the
    events are opened per CPU instead, and the running threads are still sampled."""
    with PerTaskEvents():
        few_descriptors()


def few_descriptors():
    python = interpreters()[-1][1]
    target = subprocess.Popen([python, os.path.join(WORKLOADS, "busy.py"), "30", "40", "5"])
    try:
        deadline = time.time() + 30
        while len(os.listdir("/proc/%d/task" % target.pid)) < 40:
            check(time.time() < deadline and target.poll() is None, "busy.py never ran 40 threads")
            time.sleep(0.05)
        out = os.path.join(tmpdir(), "fd-%d-%s.pyisession" % (os.getpid(), time.time()))
        # two descriptors an event (the event and its BPF link): 40 threads need 80
        p = subprocess.run(["prlimit", "--nofile=64:64", binary(), "-v", "--mode", "cpu",
                            "--pid", str(target.pid), "-d", "1.5", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        target.kill()
        target.wait()
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0, "pyinst-bpf exited %d: %s" % (p.returncode, err[-500:]))
    check("one per CPU instead" in err, "no fallback to per-CPU events was told")
    burning = [r for r, t in Session(out).thread_roots().items() if t > 0]
    check(len(burning) >= 10, "%d threads sampled of 40 busy ones" % len(burning))


SUMMARY = re.compile(r"^pyinst-bpf: [0-9.]+s, (\d+) samples, (\d+) threads?( \((\d+) blocked\))? "
                     r"in (\d+) process(es)?, (\d+) lost, \d+ MiB$", re.M)


def summary_of(mode, threads=4):
    """The final summary line of a --pid session of threads blocked in turns."""
    python = interpreters()[-1][1]
    ready = os.path.join(tmpdir(), "blocked-%d.ready" % os.getpid())
    open(ready, "w").close()
    target = subprocess.Popen([python, os.path.join(WORKLOADS, "blocked.py"), str(threads),
                               "30", ready])
    try:
        deadline = time.time() + 30
        while open(ready).read() != "ready":
            check(time.time() < deadline and target.poll() is None, "workload never got ready")
            time.sleep(0.01)
        rc, _, err = run_cli(["--mode", mode, "-d", "1.5", "--pid", str(target.pid), "-o",
                              os.path.join(tmpdir(), "blocked-%d.folded" % os.getpid())])
    finally:
        target.kill()
        target.wait()
    check(rc == 0, "exit %d: %s" % (rc, err))
    found = SUMMARY.findall(err)
    check(len(found) == 1, "not one summary line in: %r" % err)
    samples, nthreads, _, blocked, procs, _, lost = found[0]
    return int(samples), int(nthreads), blocked, int(procs), int(lost)


def test_final_summary_wall():
    """Without a terminal too, the run ends with one line: samples, threads (blocked), processes,
    lost. 4 threads waiting in turns, the main one joining them: 5 threads, all blocked."""
    samples, threads, blocked, procs, lost = summary_of("wall")
    check(samples > 0 and threads == 5 and procs == 1 and lost == 0,
          "summary: %d samples, %d threads, %d processes, %d lost" % (samples, threads, procs,
                                                                       lost))
    check(blocked != "" and 4 <= int(blocked) <= 5, "%s of 5 threads blocked" % blocked)


def test_final_summary_cpu():
    """cpu mode sees no waits: no blocked figure."""
    samples, threads, blocked, procs, lost = summary_of("cpu")
    check(samples > 0 and procs == 1 and lost == 0 and blocked == "",
          "summary: %d samples, %d processes, %d lost, blocked %r" % (samples, procs, lost,
                                                                       blocked))


def general_tests():
    return [(f.__name__, f) for f in (
        test_no_such_pid, test_not_python, test_unsupported_python, test_unsupported_launch,
        test_corrupt_session, test_quiet_verbose_levels,
        test_bad_option, test_sigterm_writes_report, test_target_exits_midway,
        test_exec_command_fails, test_launch_through_shim, test_500_threads,
        test_thread_totals_wall, test_final_summary_wall, test_final_summary_cpu,
        test_few_descriptors_per_cpu)]


if __name__ == "__main__":
    found = interpreters(unstable=True)
    print("interpreters covered: " + ", ".join(label for label, _ in found))
    run_tests(general_tests() + per_interpreter_tests())
