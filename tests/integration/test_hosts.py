# SPDX-License-Identifier: MIT
"""Containers, subprocesses and whole hosts, with real cgroups and namespaces. Run as root."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Session, Skip, binary, check, interpreters, run_tests,  # noqa: E402
                     tmpdir, WORKLOADS)

SPIN = os.path.join(WORKLOADS, "spin.py")


def pythons(n):
    found = interpreters()
    check(len(found) >= n, "need %d interpreters, found %d" % (n, len(found)))
    # different versions first
    return [p for _, p in found][:n]


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    raise Skip("no cgroup2 mount")


def processes_in(session_path):
    """pids of the process roots (or of the single process) in a session."""
    s = Session(session_path)
    pids = set()
    for stack, _ in s.records:
        if stack and stack[0]["file"] == "<process>":
            pids.add(int(stack[0]["line"]))
    return pids, s


def start(cmd, **kw):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def profile(args, out, timeout=60):
    p = subprocess.run([binary(), "-q", "-o", out] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0, "pyinst-bpf exited %d: %s" % (p.returncode, err))
    return err


def test_cgroup():
    root = cgroup2_root()
    cg = os.path.join(root, "pyi-test-%d" % os.getpid())
    os.mkdir(cg)
    procs = []
    try:
        a, b, c = [start([py, SPIN, "20", "marker-%d" % i]) for i, py in enumerate(pythons(3))]
        procs = [a, b, c]
        for p in (a, b):
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
        out = os.path.join(tmpdir(), "cgroup.pyisession")
        profile(["--cgroup", cg, "--duration", "1.5"], out)
        pids, _ = processes_in(out)
        check(pids == {a.pid, b.pid}, "profiled %s, want %s (not %d)" % (sorted(pids),
              sorted([a.pid, b.pid]), c.pid))
    finally:
        for p in procs:
            p.kill()
            p.wait()
        os.rmdir(cg)


def test_container_id():
    root = cgroup2_root()
    cid = "f00dfacefeed%04d0123456789" % (os.getpid() % 10000)
    cg = os.path.join(root, "system.slice", "docker-%s.scope" % cid)
    os.makedirs(cg)
    p = start([pythons(1)[0], SPIN, "20", "container"])
    try:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
        out = os.path.join(tmpdir(), "container.pyisession")
        profile(["--container", cid[:14], "--duration", "1.5"], out)
        s = Session(out)
        check(s.function_time("spin") > 0.5, "the container's Python was not profiled")
    finally:
        p.kill()
        p.wait()
        os.rmdir(cg)


def test_all_processes():
    a = start([pythons(1)[0], SPIN, "20", "all-a"])
    b = start([pythons(2)[1], SPIN, "20", "all-b"])
    try:
        time.sleep(0.2)
        out = os.path.join(tmpdir(), "all.pyisession")
        profile(["--all", "--duration", "2"], out)
        pids, _ = processes_in(out)
        check({a.pid, b.pid} <= pids, "--all missed %s (got %s)" % ({a.pid, b.pid} - pids,
                                                                     sorted(pids)))
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def test_multiprocessing_and_shell():
    py = pythons(1)[0]
    for method in ("fork", "spawn"):
        out = os.path.join(tmpdir(), "mp-%s.pyisession" % method)
        profile(["--", py, os.path.join(WORKLOADS, "pool.py"), method], out, timeout=120)
        pids, s = processes_in(out)
        check(len(pids) >= 3, "%s pool: %d processes profiled, want parent + 2 workers" %
              (method, len(pids)))
        check(s.function_time("work") > 0.5, "%s pool: workers' work missing" % method)
    script = os.path.join(tmpdir(), "two.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n%s %s 1 a &\n%s %s 1 b\nwait\n" % (py, SPIN, py, SPIN))
    os.chmod(script, 0o755)
    out = os.path.join(tmpdir(), "shell.pyisession")
    profile(["--", script], out)
    pids, s = processes_in(out)
    check(len(pids) == 2, "shell script: %d Python processes profiled, want 2" % len(pids))


def test_pid_and_mount_namespace():
    if not shutil.which("unshare") or not shutil.which("chroot"):
        raise Skip("no unshare/chroot")
    py = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else pythons(1)[0]
    root = tempfile.mkdtemp(prefix="pyi-root-")
    os.makedirs(os.path.join(root, "work"))
    shutil.copy(SPIN, os.path.join(root, "work", "spin.py"))
    binds = " ".join("mkdir -p %s/%s && mount --bind /%s %s/%s;" % (root, d, d, root, d)
                     for d in ("usr", "lib", "lib64", "bin", "etc", "root") if
                     os.path.isdir("/" + d) and not os.path.islink("/" + d))
    links = " ".join("ln -s %s %s/%s;" % (os.readlink("/" + d), root, d)
                     for d in ("lib", "lib64", "bin") if os.path.islink("/" + d))
    inner = ("%s %s mkdir -p %s/proc && mount -t proc proc %s/proc && "
             "exec chroot %s %s /work/spin.py 20 namespaced" % (binds, links, root, root, root, py))
    p = subprocess.Popen(["unshare", "--mount", "--pid", "--fork", "--propagation", "private",
                          "sh", "-c", inner])
    try:
        target = None
        deadline = time.time() + 10
        while target is None and time.time() < deadline:
            out = subprocess.run(["pgrep", "-f", "namespaced"], stdout=subprocess.PIPE)
            for pid in out.stdout.split():
                if os.readlink("/proc/%s/root" % pid.decode()) == root:
                    target = int(pid)
            time.sleep(0.1)
        check(target, "the namespaced Python did not start")
        time.sleep(0.3)
        out = os.path.join(tmpdir(), "ns.pyisession")
        profile(["--pid", str(target), "--duration", "1.5"], out)
        s = Session(out)
        check(s.function_time("spin") > 0.5, "the namespaced Python was not profiled")
        check(any(f["file"] == "/work/spin.py" for st, _ in s.records for f in st),
              "file names are not as the target sees them")
        check("pid 1 in its namespace" in s.raw["target_description"],
              "the pid is not shown both ways: %r" % s.raw["target_description"])
    finally:
        p.kill()
        subprocess.run(["pkill", "-f", "namespaced"])
        p.wait()
        subprocess.run(["umount", "-R", root], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    run_tests([(f.__name__, f) for f in (test_cgroup, test_container_id, test_all_processes,
                                          test_multiprocessing_and_shell,
                                          test_pid_and_mount_namespace)])
