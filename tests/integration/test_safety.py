# SPDX-License-Identifier: MIT
"""Safe on a production host (issue 11): nothing the tool is given can harm the host, and no
session is lost. Real BPF, real processes. Cases that touch device nodes or mounts run in a
private mount namespace (unshare -m), so no test can touch the host's /dev.
Run as root: python3 tests/integration/test_safety.py"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Failure, Session, Skip, binary, check, interpreters,  # noqa: E402
                     run_tests, tmpdir, WORKLOADS)

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                      "pyinstrument-samples", "demo.pyisession")
BUSY = os.path.join(WORKLOADS, "busy.py")


def python():
    """An interpreter on the machine."""
    found = interpreters()
    if not found:
        raise Skip("no CPython found")
    return found[-1][1]


def run(args, timeout=60, env=None, input=None):
    t0 = time.time()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=env, input=input)
    return (p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
            time.time() - t0)


def pyi(args, **kw):
    return run([binary()] + args, **kw)


def one_line(err, *words):
    lines = [l for l in err.strip().splitlines() if l and not l.startswith("Try ")]
    check(len(lines) == 1, "want one line of error, got: %r" % err)
    for w in words:
        check(w in lines[0], "%r not in %r" % (w, lines[0]))


def sample_session():
    if not os.path.exists(SAMPLE):
        raise Skip("no pyinstrument sample session at %s" % SAMPLE)
    return SAMPLE


class Busy:
    """Python processes burning CPU: n processes x threads, stacks `depth` deep."""

    def __init__(self, n=1, threads=1, depth=20, seconds=30, user=None):
        pre = ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--clear-groups"] if user else []
        py = "/usr/bin/python3.11" if user else python()
        self.procs = [subprocess.Popen(pre + [py, BUSY, str(seconds), str(threads), str(depth)])
                      for _ in range(n)]
        time.sleep(0.5)

    def pid_args(self):
        return sum((["--pid", str(p.pid)] for p in self.procs), [])

    def __enter__(self):
        return self

    def __exit__(self, *a):
        for p in self.procs:
            p.kill()
            p.wait()


# ---- options and checks before sampling --------------------------------------------------

def test_interval_floor():
    """-i 1e-5 swamped the host: refused, naming the option and its range."""
    rc, _, err, _ = pyi(["-i", "1e-5", "--pid", "1", "-d", "1"])
    check(rc == 2, "exit %d, want 2: %s" % (rc, err))
    one_line(err, "--interval", "0.0001", "10")


def test_option_conflicts():
    rc, _, err, _ = pyi(["--pid", "1", "--all", "-d", "1"])
    check(rc == 2, "--pid with --all: exit %d (%s)" % (rc, err))
    rc, _, err, _ = pyi(["--cgroup", "", "-d", "1"])
    check(rc == 2, "--cgroup '': exit %d (%s)" % (rc, err))
    one_line(err, "--cgroup")
    rc, _, err, _ = pyi(["--pid", "1", "-d", "banana"])
    check(rc == 2, "-d banana: exit %d" % rc)
    one_line(err, "--duration")


def test_checks_before_sampling():
    """A bad output or regex fails at once, not after the whole --duration."""
    d = tmpdir()
    with Busy() as b:
        cases = [
            (["-o", os.path.join(d, "no", "such", "dir", "x.html")], "no/such/dir"),
            (["--hide-regex", "(", "-o", os.path.join(d, "x.html")], "hide-regex"),
            # pyinstrument's text renderer refuses both: said once, before sampling
            (["-P", "flat", "-t", "-o", os.path.join(d, "x.txt")], "timeline and flat"),
        ]
        link = os.path.join(d, "link.html")
        if not os.path.lexists(link):
            os.symlink("/etc/hostname", link)
        cases.append((["-o", link], "symbolic link"))
        for extra, word in cases:
            rc, _, err, took = pyi(["-q", "-d", "20"] + b.pid_args() + extra, timeout=30)
            check(rc != 0, "%s: exit 0" % extra)
            check(took < 5, "%s: failed after %.1fs, not before sampling" % (extra, took))
            one_line(err, word)
        # a read-only directory, in a private mount namespace
        ro = os.path.join(d, "ro")
        os.makedirs(ro, exist_ok=True)
        rc, _, err, took = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                'mount -t tmpfs -o ro none "$0" && exec "$@"', ro, binary(),
                                "-q", "-d", "20"] + b.pid_args() + ["-o", ro + "/x.html"],
                               timeout=30)
        check(rc != 0 and took < 5, "read-only dir: exit %d after %.1fs" % (rc, took))
        one_line(err, "Read-only")


# ---- outputs -------------------------------------------------------------------------------

def test_device_outputs_not_replaced():
    """-o /dev/null, /dev/full, /dev/stdout, -: written as streams, never replaced. In a private
    mount namespace with its own /dev (a tmpfs with real device nodes)."""
    s = sample_session()
    script = r'''
set -e
mount -t tmpfs none /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/full c 1 7
ln -s /proc/self/fd/1 /dev/stdout
"$0" --load "$1" -o /dev/null; echo "null rc=$?"
"$0" --load "$1" -o /dev/full 2>/dev/null && echo "full rc=0" || echo "full rc=$?"
"$0" --load "$1" -r json -o /dev/stdout | head -c 16; echo
cd "$2" && "$0" --load "$1" -r json -o - | head -c 16; echo
echo "null: $(stat -c %F /dev/null)"
echo "full: $(stat -c %F /dev/full)"
echo "stdout: $(stat -c %F /dev/stdout)"
echo "dash: $(ls "$2" | grep -c '^-$' || true)"
'''
    d = os.path.join(tmpdir(), "dash")
    os.makedirs(d, exist_ok=True)
    rc, out, err, _ = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                           binary(), s, d], timeout=60)
    check(rc == 0, "namespace script failed %d: %s %s" % (rc, out, err))
    check("null rc=0" in out, out)
    check("full rc=1" in out, "/dev/full must fail (ENOSPC): " + out)
    check(out.count('{"start_time"') == 2, "/dev/stdout and - are stdout: " + out)
    check("null: character special file" in out, out)
    check("full: character special file" in out, out)
    check("stdout: symbolic link" in out, out)
    check("dash: 0" in out, "a file named '-' was made: " + out)


def test_load_bounded():
    """--load: a FIFO, /dev/zero behind a symlink and an oversized file fail at once."""
    d = tmpdir()
    fifo, zero, big = (os.path.join(d, n) for n in ("f.pyisession", "z.pyisession",
                                                    "big.pyisession"))
    for p in (fifo, zero, big):
        if os.path.lexists(p):
            os.unlink(p)
    os.mkfifo(fifo)
    os.symlink("/dev/zero", zero)
    with open(big, "wb") as f:
        f.truncate((16 << 30) + 1)  # SESSION_LOAD_MAX + 1, sparse
    try:
        for path, word in ((fifo, "not a regular file"), (zero, "not a regular file"),
                           (big, "larger than")):
            rc, _, err, took = pyi(["--load", path], timeout=20)
            check(rc == 1 and took < 5, "%s: exit %d after %.1fs" % (path, rc, took))
            one_line(err, word)
    finally:
        os.unlink(big)


def test_load_target_description():
    rc, out, err, _ = pyi(["--load", sample_session(), "-r", "json",
                           "--target-description", "nightly batch"])
    check(rc == 0, err)
    check(json.loads(out)["target_description"] == "nightly batch", out[:200])


# ---- stopping on time -----------------------------------------------------------------------

def timed_lines(proc, sink):
    for raw in proc.stderr:
        sink.append((time.time(), raw.decode(errors="replace")))


HEAVY_OUT = os.path.join(tmpdir(), "heavy-%d.folded" % os.getpid())


def heavy_session(extra, stop=None, load=(8, 4, 1000)):
    """Profiles a heavy load at the floor interval; returns stderr lines with arrival times,
    the profiler's exit code and the time stop() was called (if given)."""
    n, threads, depth = load
    out = HEAVY_OUT
    with Busy(n, threads, depth, seconds=40) as b:
        prof = subprocess.Popen([binary(), "-v", "-i", "0.0001", "-o", out] + extra +
                                b.pid_args(), stderr=subprocess.PIPE)
        lines = []
        reader = threading.Thread(target=timed_lines, args=(prof, lines))
        reader.start()
        stopped = None
        if stop:
            while not any("sampling started" in l for _, l in lines):
                check(prof.poll() is None, "profiler exited early: %s" % lines)
                time.sleep(0.01)
            time.sleep(1.5)
            stopped = time.time()
            stop(prof)
        try:
            rc = prof.wait(timeout=30)
        except subprocess.TimeoutExpired:
            prof.kill()
            prof.wait()
            raise Failure("still running 30 s later: -d/signals ignored under load")
        reader.join()
    lines = [(t, l) for t, l in lines if not l.startswith("pyinst-bpf: libbpf: ")]
    return lines, rc, stopped


def line_time(lines, word):
    for t, l in lines:
        if word in l:
            return t, l
    raise Failure("no %r line in: %s" % (word, "".join(l for _, l in lines)[-2000:]))


def test_duration_ends_on_time_under_load():
    """8 processes x 4 threads, 1000 frames deep, at 10 kHz: -d 2 ends sampling on time (the
    profiler itself may wait for a CPU behind that load: the kernel stops at the deadline)."""
    lines, rc, _ = heavy_session(["-d", "2", "--mode", "cpu"])
    check(rc == 0, "exit %d" % rc)
    _, l = line_time(lines, "sampling ended after")
    took = float(re.search(r"after ([0-9.]+) s", l).group(1))
    check(took <= 2.1, "sampling ended after %.3f s for -d 2" % took)
    # what the data says: the kernel's timestamp of the last sample taken
    _, l = line_time(lines, "last sample")
    last = float(re.search(r"sample ([0-9.]+) s", l).group(1))
    check(last <= 2.1, "a sample was taken %.3f s after sampling started, -d 2" % last)


def test_signals_heard_under_load():
    """SIGTERM and SIGHUP under the same load end sampling within 100 ms and write the report."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        sent = []
        lines, rc, _ = heavy_session([], stop=lambda p: (sent.append(time.monotonic()),
                                                         p.send_signal(sig)))
        check(rc == 0, "exit %d after %s" % (rc, sig))
        _, l = line_time(lines, "sampling ended after")
        ended = float(re.search(r"monotonic ([0-9.]+)", l).group(1))
        check(ended - sent[0] < 0.1, "%s: sampling ended %.3f s after it was sent"
              % (sig, ended - sent[0]))


def test_budget_holds():
    """Stacks 4000 frames deep at 10 kHz cost more than a CPU can give: the kernel holds the
    budget, the rate is lowered with a notice, the measured cost stays within budget."""
    lines, rc, _ = heavy_session(["-d", "3", "--max-depth", "4096"], load=(2, 2, 4000))
    check(rc == 0, "exit %d" % rc)
    _, notice = line_time(lines, "interval raised to")
    _, cost = line_time(lines, "sampler cost:")
    ms = float(re.search(r"cost: ([0-9.]+) ms", cost).group(1))
    check(ms <= 52, "sampler cost %.1f ms per CPU-second, budget 50: %s" % (ms, cost))


# ---- the launched command --------------------------------------------------------------------

def test_exit_status_passed_on():
    rc, _, err, _ = pyi(["-q", "-o", os.path.join(tmpdir(), "exit.pyisession"), "--",
                         python(), "-c", "import sys; sys.exit(3)"])
    check(rc == 3, "exit %d, the command's was 3: %s" % (rc, err))
    rc, _, err, _ = pyi(["-q", "-o", os.path.join(tmpdir(), "kill.pyisession"), "--",
                         python(), "-c", "import os; os.kill(os.getpid(), 9)"])
    check(rc == 128 + 9, "exit %d, the command was killed by 9: %s" % (rc, err))


def test_launch_duration_returns():
    """With --duration the profiler returns when it ends, not when the command does."""
    pidfile = os.path.join(tmpdir(), "dur-%d.pid" % os.getpid())
    t0 = time.time()
    # the command inherits our stdout/stderr: not pipes, whose end would wait for it
    prof = subprocess.Popen([binary(), "-q", "-d", "1", "-o",
                             os.path.join(tmpdir(), "dur.pyisession"), "--", python(), "-c",
                             "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid()))"
                             "; time.sleep(8)", pidfile], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        rc = prof.wait(timeout=30)
        took = time.time() - t0
    finally:
        if os.path.exists(pidfile):
            try:
                os.kill(int(open(pidfile).read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    check(rc == 0, "exit %d" % rc)
    check(took < 5, "returned after %.1f s: it waited for the command" % took)


def test_collector_error_not_silent():
    """A failing ring buffer poll stops sampling with an error and exit 1, not exit 0."""
    shim = os.environ.get("PYI_FAILPOLL")
    if not shim or not os.path.exists(shim):
        raise Skip("no failpoll shim (set PYI_FAILPOLL)")
    env = dict(os.environ, LD_PRELOAD=shim, PYI_FAIL_EPOLL_AFTER="10")
    with Busy() as b:
        rc, _, err, _ = pyi(["-q", "-d", "3", "-o", os.path.join(tmpdir(), "fail.pyisession")] +
                            b.pid_args(), env=env)
    check(rc == 1, "exit %d after a collector error: %s" % (rc, err))
    check("collector failed" in err, err)


# ---- hostile names, containers, privileges ---------------------------------------------------

def test_comm_not_printed_raw():
    d = tmpdir()
    evil = os.path.join(d, "\x1b]0;pwned\x07\x1b[2J")
    shutil.copy("/bin/sleep", evil)
    p = subprocess.Popen([evil, "30"])
    try:
        time.sleep(0.2)
        rc, _, err, _ = pyi(["--pid", str(p.pid), "-d", "1"])
        check(rc == 1, "exit %d: %s" % (rc, err))
        check("\x1b" not in err and "\x07" not in err, "raw escapes in %r" % err)
        check("\\x1b]0;pwned\\x07" in err, err)
    finally:
        p.kill()
        p.wait()
        os.unlink(evil)


def cgroup2_mount():
    with open("/proc/mounts") as f:
        for line in f:
            dev, path, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return path
    raise Skip("no cgroup2 mount")


def test_container_matches_id_component():
    """--container matches a container id (whole or a prefix), never a parent's name."""
    root = cgroup2_mount()
    cid = os.urandom(32).hex()	# other tests may make containers too
    slice_ = os.path.join(root, "pyi-test-deadbeef%d.slice" % os.getpid())
    scope = os.path.join(slice_, "docker-%s.scope" % cid)
    os.makedirs(scope)
    try:
        with Busy() as b:
            with open(os.path.join(scope, "cgroup.procs"), "w") as f:
                f.write(str(b.procs[0].pid))
            rc, _, err, _ = pyi(["-q", "--container", "deadbeef%d" % os.getpid(), "-d", "1"])
            check(rc != 0, "a parent slice's name matched: %s" % err)
            out = os.path.join(tmpdir(), "container.pyisession")
            rc, _, err, _ = pyi(["-q", "--container", cid[:12], "-d", "1", "-o", out])
            check(rc == 0, "the id prefix did not match: %s" % err)
            check(Session(out).function_time("burn") > 0.3, "the container was not profiled")
            with open(os.path.join(root, "cgroup.procs"), "w") as f:
                f.write(str(b.procs[0].pid))
    finally:
        os.rmdir(scope)
        os.rmdir(slice_)


def test_least_privilege():
    """Exactly CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE, as an unprivileged user, profiling that
    user's own process; and as root with only those capabilities."""
    if not os.path.exists("/usr/bin/python3.11") or not shutil.which("setpriv"):
        raise Skip("needs /usr/bin/python3.11 and setpriv")
    d = tmpdir()
    os.chmod(d, 0o777)
    caps = ["--inh-caps=-all,+bpf,+perfmon,+sys_ptrace",
            "--ambient-caps=-all,+bpf,+perfmon,+sys_ptrace"]
    users = [["--reuid=nobody", "--regid=nogroup", "--clear-groups"],
             ["--bounding-set=-all,+bpf,+perfmon,+sys_ptrace"]]
    with Busy(user="nobody") as b:
        for who in users:
            out = os.path.join(d, "caps-%d.folded" % len(who))
            rc, _, err, _ = run(["setpriv"] + who + caps + [binary(), "-q", "-d", "1.5", "-o",
                                                            out] + b.pid_args())
            check(rc == 0, "%s: exit %d: %s" % (who, rc, err))
            with open(out) as f:
                check("burn" in f.read(), "%s: no samples of burn" % who)


# ---- processes that come and go -----------------------------------------------------------

def profiler_maps(pid, name):
    """Ids of the BPF maps called name that process pid holds."""
    ids = []
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            info = open("/proc/%d/fdinfo/%s" % (pid, fd)).read()
        except OSError:
            continue
        m = re.search(r"map_id:\s*(\d+)", info)
        if m:
            ids.append(int(m.group(1)))
    out = subprocess.run(["bpftool", "map", "show", "-j"], stdout=subprocess.PIPE).stdout
    return [m["id"] for m in json.loads(out) if m["id"] in ids and m.get("name") == name]


def test_follow_table_pruned():
    """Exited children leave the kernel's follow table (it was never pruned: past 4096 children
    none was followed, and a reused pid was)."""
    out = os.path.join(tmpdir(), "forker.pyisession")
    prof = subprocess.Popen([binary(), "-q", "-o", out, "--", python(),
                             os.path.join(WORKLOADS, "forker.py"), "60", "4"],
                            stderr=subprocess.PIPE)
    try:
        time.sleep(3)
        maps = profiler_maps(prof.pid, "follow")
        check(len(maps) == 1, "follow maps of the profiler: %s" % maps)
        dump = subprocess.run(["bpftool", "map", "dump", "id", str(maps[0]), "-j"],
                              stdout=subprocess.PIPE).stdout
        entries = len(json.loads(dump))
        check(entries <= 3, "%d processes still followed after 60 children exited" % entries)
        _, err = prof.communicate(timeout=60)
        check(prof.returncode == 0, err.decode(errors="replace"))
        check(Session(out).function_time("late_child") > 1, "the late child was not profiled")
    finally:
        if prof.poll() is None:
            prof.kill()
            prof.wait()


def test_reused_pid_own_session():
    """A pid reused by a new process: its samples are not put in the dead process's session."""
    out = os.path.join(tmpdir(), "reuse.pyisession")
    rc, _, err, _ = pyi(["-q", "-o", out, "--", python(), os.path.join(WORKLOADS, "reuse.py"),
                         "0.8"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = Session(out)
    roots = {}
    for stack, w in s.records:
        proc = [fr["name"] for fr in stack if fr["file"] == "<process>"]
        for life in ("first_life", "second_life"):
            if any(fr["name"] == life for fr in stack):
                roots.setdefault(life, set()).update(proc)
    check(set(roots) == {"first_life", "second_life"}, "lives seen: %s" % roots)
    check(not roots["first_life"] & roots["second_life"],
          "both lives under one process root: %s" % roots)


def test_bpf_header_rebuilds_object():
    build = os.environ.get("PYI_BUILD_DIR") or os.path.dirname(binary())
    # each program family's object (linked into bpf/sampler.bpf.o) depends on its headers
    for family, header in (("sampler", "sample.bpf.h"), ("wall", "wall.bpf.h"),
                           ("procs", "procs.bpf.h")):
        obj = "bpf/%s.tmp.bpf.o" % family
        p = subprocess.run(["ninja", "-C", build, "-t", "deps", obj],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deps = p.stdout.decode()
        check("sampler.bpf.h" in deps and "pyinst_abi.h" in deps and header in deps,
              "%s does not depend on its headers: %s" % (obj, deps[:500]))


def tests():
    return [(f.__name__, f) for f in (
        test_interval_floor, test_option_conflicts, test_checks_before_sampling,
        test_device_outputs_not_replaced, test_load_bounded, test_load_target_description,
        test_exit_status_passed_on, test_launch_duration_returns, test_collector_error_not_silent,
        test_comm_not_printed_raw, test_container_matches_id_component, test_least_privilege,
        test_follow_table_pruned, test_reused_pid_own_session, test_bpf_header_rebuilds_object,
        test_duration_ends_on_time_under_load, test_signals_heard_under_load, test_budget_holds)]


if __name__ == "__main__":
    run_tests(tests())
