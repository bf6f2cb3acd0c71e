# SPDX-License-Identifier: MIT
"""What a new user meets first. The docs name no path of the machine they were written on.
The README's two commands, started by a user who is not root: scripts/quickstart.sh and
scripts/test.sh re-run themselves through sudo when it exists, and say what to do when it
does not. Runs them as nobody (setpriv) with a PATH that holds only what they need and, for
the first case, a sudo that records how it was called. Needs root to switch users."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPTS = ("quickstart.sh", "test.sh")
NOBODY = 65534


def fake_path(with_sudo):
    """A directory for PATH: bash and id, and a sudo that writes its arguments to a file."""
    d = tempfile.mkdtemp(prefix="pyi-path-")
    os.chmod(d, 0o755)
    for tool in ("bash", "id"):
        os.symlink(shutil.which(tool), os.path.join(d, tool))
    log = os.path.join(d, "sudo.log")
    if with_sudo:
        with open(os.path.join(d, "sudo"), "w") as f:
            f.write("#!%s\nprintf '%%s\\n' \"$@\" > %s\n" % (shutil.which("bash"), log))
        os.chmod(os.path.join(d, "sudo"), 0o755)
        open(log, "w").close()
        os.chmod(log, 0o666)
    return d, log


def run_as_nobody(script, path):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("no setpriv (util-linux)")
    cmd = [setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
           "/usr/bin/env", "-i", "PATH=" + path, os.path.join(ROOT, "scripts", script), "arg"]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_reruns_through_sudo(script):
    d, log = fake_path(with_sudo=True)
    try:
        p = run_as_nobody(script, d)
        err = p.stderr.decode(errors="replace")
        check(p.returncode == 0, "%s exited %d: %s" % (script, p.returncode, err.strip()))
        with open(log) as f:
            args = f.read().split("\n")[:-1]
        want = ["--", os.path.join(ROOT, "scripts", script), "arg"]
        check(args == want, "sudo was called with %s, not %s" % (args, want))
    finally:
        shutil.rmtree(d)


def test_no_sudo_says_so(script):
    d, _ = fake_path(with_sudo=False)
    try:
        p = run_as_nobody(script, d)
        err = p.stderr.decode(errors="replace").strip()
        check(p.returncode == 1, "%s exited %d without root and sudo" % (script, p.returncode))
        check(len(err.splitlines()) == 1 and "root shell" in err and script in err,
              "not one line that says what to do: %r" % err)
        check(not p.stdout, "%s printed %r" % (script, p.stdout))
    finally:
        shutil.rmtree(d)


# Paths that exist only on the machine a doc was written on: a developer's checkout or home,
# a scratch build directory, a binary outside the tree.
MACHINE_PATH = re.compile(r"/work/|/home/\w|/root/|\.\./\.\./|\bbuild-h\d")


def test_docs_have_no_machine_paths():
    docs = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    found = []
    for path in docs:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = MACHINE_PATH.search(line)
                if m:
                    found.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, m.group(0)))
    check(len(docs) > 1 and not found, "machine paths in the docs: " + "; ".join(found))


if __name__ == "__main__":
    tests = [("test_docs_have_no_machine_paths", test_docs_have_no_machine_paths)]
    for s in SCRIPTS:
        tests.append(("test_reruns_through_sudo [%s]" % s, lambda s=s: test_reruns_through_sudo(s)))
        tests.append(("test_no_sudo_says_so [%s]" % s, lambda s=s: test_no_sudo_says_so(s)))
    run_tests(tests)
