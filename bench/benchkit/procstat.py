# SPDX-License-Identifier: MIT
"""What the kernel says about a running profiler: CPU time of its threads, its BPF programs."""
import json
import os
import subprocess


def cpu_seconds(pid):
    """On-CPU time of every live thread of pid, from /proc/PID/task/*/schedstat (ns)."""
    total = 0
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def fd_targets(pid):
    """readlink of each open fd of pid: "anon_inode:[perf_event]", "anon_inode:bpf-prog", ..."""
    targets = {}
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return targets
    for fd in fds:
        try:
            targets[fd] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
    return targets


def has_perf_events(pid):
    return any("perf_event" in t for t in fd_targets(pid).values())


def bpf_prog_ids(pid):
    """Ids of the BPF programs pid holds open, from /proc/PID/fdinfo ("prog_id:" lines)."""
    ids = set()
    for fd, target in fd_targets(pid).items():
        if "bpf-prog" not in target:
            continue
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            continue
    return ids


def bpf_stats_enable():
    """Turn kernel.bpf_stats_enabled on; returns the previous value (None if unavailable)."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    try:
        with open(path) as f:
            previous = f.read().strip()
        with open(path, "w") as f:
            f.write("1")
        return previous
    except OSError:
        return None


def bpf_stats_restore(previous):
    if previous is None:
        return
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(previous)
    except OSError:
        pass


def bpf_prog_stats(ids):
    """{name: (run_time_ns, run_cnt)} of the programs with these ids, via bpftool."""
    if not ids:
        return {}
    try:
        out = subprocess.run(["bpftool", "-j", "prog", "show"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=10)
        progs = json.loads(out.stdout.decode() or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    stats = {}
    for prog in progs:
        if prog.get("id") in ids:
            name = prog.get("name", "?")
            old = stats.get(name, (0, 0))
            stats[name] = (old[0] + prog.get("run_time_ns", 0), old[1] + prog.get("run_cnt", 0))
    return stats


def bpf_stats_delta(before, after):
    return {name: (ns - before.get(name, (0, 0))[0], cnt - before.get(name, (0, 0))[1])
            for name, (ns, cnt) in after.items()}
