# SPDX-License-Identifier: MIT
"""CPython 3.15's own sampling profiler ("Tachyon", python3.15 -m profiling.sampling) as a peer,
and the Debian unstable 3.15 it runs on (the root scripts/unstable-root.sh makes).

The target runs chrooted in that root inside a private mount namespace (the repository and /tmp
bound at their own paths, so the workloads and the truth files are where the harness expects).
Tachyon runs in the same namespace and root as its target (nsenter --mount --root), as it would
beside the program it profiles: it finds _PyRuntime through the paths in /proc/PID/maps.
"""
import os
import re
import subprocess
import tempfile
import time

from .profilers import Profile, in_handshake
from .pythons import Python

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_ROOT = "/var/cache/pyinst-bpf/sid"
ATTACH_SECONDS = 1.5	# python3.15 starting and importing profiling.sampling, under load


def unstable_root():
    """The root's path, made (or reused) by scripts/unstable-root.sh; None if it cannot be."""
    script = os.path.join(REPO, "scripts", "unstable-root.sh")
    out = subprocess.run([script], stdout=subprocess.PIPE)
    if out.returncode != 0:
        return None
    return out.stdout.decode().strip()


def chroot_python(root, name="python3.15"):
    """A Python whose path is a script running root's /usr/bin/NAME at the caller's pid."""
    inside = os.path.join(root, REPO.lstrip("/"))
    os.makedirs(inside, exist_ok=True)
    d = tempfile.mkdtemp(prefix="pyi-bench-sid-")
    path = os.path.join(d, name)
    cmd = ('mount --bind /tmp "$0/tmp" && mount --bind "$1" "$0$1" && '
           'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && '
           'shift && exec chroot "$0" "$@"')
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec unshare --mount --propagation private /bin/sh -c '%s' "
                "'%s' '%s' /usr/bin/%s \"$@\"\n" % (cmd, root, REPO, name))
    os.chmod(path, 0o755)
    version = tuple(int(v) for v in name[len("python"):].split("."))
    return Python("debian-sid-%d.%d" % version, path, version)


class Tachyon:
    name = "tachyon"

    def available(self, python):
        return python.version >= (3, 15)

    def argv(self, pid, outfile, interval, mode):
        # its closing statistics go to stdout, which the runner discards: send them to stderr
        return ["sh", "-c", 'exec "$@" >&2', "tachyon", "nsenter", "--target", str(pid), "--mount", "--root", "--wd=/tmp",
                "python3.15", "-m", "profiling.sampling", "attach", str(pid),
                "-r", str(int(round(1 / interval))), "-a", "--mode", mode,
                "--collapsed", "-o", outfile]

    def wait_attached(self, proc):
        time.sleep(ATTACH_SECONDS)
        return proc.poll() is None

    def parse(self, outfile, stderr):
        profile = Profile()
        profile.warnings = [l for l in stderr.splitlines() if l.strip()]
        # "Captured 47662 samples in 4.77 seconds", "missed 6 samples from the expected total
        # of 47668": Tachyon's own count over its whole attachment
        missed = re.search(r"missed (\d+) samples from the expected total of (\d+)", stderr)
        captured = re.search(r"Captured (\d+) samples", stderr)
        profile.lost = int(missed.group(1)) if missed else 0
        if captured:
            taken = int(captured.group(1))
            due = int(missed.group(2)) if missed else taken
            profile.own_received_pct = 100.0 * taken / due if due else None
        with open(outfile, errors="replace") as f:
            for line in f:
                record = split_collapsed(line)
                if record and not in_handshake(record):
                    profile.records.append(record)
        profile.samples = int(sum(r[3] for r in profile.records))
        return profile


def split_collapsed(line):
    """tid:29990;spin.py:<module>:5;spin.py:f:4 47582 (file:function:line, root first)"""
    line = line.rstrip("\n")
    if " " not in line:
        return None
    stack, count = line.rsplit(" ", 1)
    thread, names = None, []
    for part in stack.split(";"):
        if part.startswith("tid:"):
            thread = part
            continue
        fields = part.rsplit(":", 2)
        names.append(fields[1] if len(fields) == 3 else part)
    try:
        return None, thread, tuple(names), float(count)
    except ValueError:
        return None
