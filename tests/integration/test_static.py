# SPDX-License-Identifier: MIT
"""One file to copy: the static pyinst-bpf (scripts/build-static.sh) profiles scripts/demo.py
inside a fresh Debian 12 minimal root made by debootstrap (--variant=minbase plus python3 to have
something to profile), which has none of the build dependencies: no libbpf, libelf, libcjson,
libcurl. The root is cached in /var/cache/pyinst-bpf/debian12-root. Skipped, and says why, when
Debian's cJSON source cannot be fetched or debootstrap is impossible here (no network, no
debootstrap): loudly skipped, never passed. A static build that fails is a failure."""
import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, Skip, check, run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CACHE = "/var/cache/pyinst-bpf"
CHROOT = os.path.join(CACHE, "debian12-root")
WORK = os.path.join(CHROOT, "opt", "pyi-test")
BIN = os.path.join(ROOT, "build-static", "pyinst-bpf")
done = {}


def once(key, fn):
    """fn's result, or what it raised, for every test that needs it."""
    if key not in done:
        try:
            done[key] = (fn(), None)
        except (Skip, Failure) as e:
            done[key] = (None, e)
    value, err = done[key]
    if err:
        raise err
    return value


def build_static():
    r = subprocess.run([os.path.join(ROOT, "scripts", "build-static.sh")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode == 77:
        raise Skip("no static build here: %s" % r.stdout.strip())
    check(r.returncode == 0, "the static build failed (exit %d): %s" % (r.returncode, r.stdout))
    return BIN


def make_root():
    if os.path.exists(os.path.join(CHROOT, "usr", "bin", "python3")):
        return CHROOT
    if not shutil.which("debootstrap"):
        raise Skip("no debootstrap (apt-get install debootstrap)")
    os.makedirs(CACHE, exist_ok=True)
    shutil.rmtree(CHROOT + ".tmp", ignore_errors=True)
    with open(os.path.join(CACHE, "debootstrap.log"), "w") as log:
        r = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3", "bookworm",
                            CHROOT + ".tmp", "http://deb.debian.org/debian"],
                           stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Skip("debootstrap of Debian 12 failed (see %s/debootstrap.log)" % CACHE)
    os.rename(CHROOT + ".tmp", CHROOT)
    return CHROOT


def profile_in_root():
    """Runs the static binary in the root (one-shot, then continuous mode); the exit status and
    what it wrote."""
    binary, root = once("build", build_static), once("root", make_root)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    shutil.copy(binary, WORK)
    shutil.copy(os.path.join(ROOT, "scripts", "demo.py"), WORK)
    # a private mount namespace: /proc and /sys for the chroot vanish with it
    script = ("mount -t proc proc '{r}/proc' && mount --rbind /sys '{r}/sys' && "
              "chroot '{r}' /opt/pyi-test/pyinst-bpf -q -o /opt/pyi-test/demo.txt "
              "-- python3 /opt/pyi-test/demo.py && "
              "chroot '{r}' /opt/pyi-test/pyinst-bpf -q -i 0.01 --push-interval 0.5 "
              "--output-dir /opt/pyi-test/windows -- python3 /opt/pyi-test/demo.py").format(r=root)
    r = subprocess.run(["unshare", "-m", "bash", "-c", script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    demo = ""
    if os.path.exists(os.path.join(WORK, "demo.txt")):
        with open(os.path.join(WORK, "demo.txt"), errors="replace") as f:
            demo = f.read()
    windows = glob.glob(os.path.join(WORK, "windows", "pyinst-*.pb.gz"))
    shutil.rmtree(WORK, ignore_errors=True)
    return r.returncode, r.stdout, demo, windows


def test_root_has_no_build_dependency():
    root = once("root", make_root)
    found = []
    for d in ("usr/lib", "lib"):
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            found += [os.path.join(dirpath, f) for f in files
                      if f.startswith(("libbpf.so", "libelf", "libcjson", "libcurl"))
                      and ".so" in f]
    check(not found, "the root has %s" % found[:3])


def test_statically_linked():
    binary = once("build", build_static)
    out = subprocess.run(["file", binary], stdout=subprocess.PIPE, text=True).stdout
    check("statically linked" in out, "not static: %s" % out.strip())


def test_profiles_demo_in_root():
    status, log, demo, _ = once("run", profile_in_root)
    check(status == 0 and "compress_logs" in demo and "render_report" in demo,
          "profiling in the root (exit %d): %s"
          % (status, "\n".join((log + demo).splitlines()[:20])))


def test_continuous_mode_writes_windows():
    _, _, _, windows = once("run", profile_in_root)
    check(len(windows) >= 2, "%d window files" % len(windows))


if __name__ == "__main__":
    run_tests([(f.__name__, f) for f in (test_root_has_no_build_dependency, test_statically_linked,
                                         test_profiles_demo_in_root,
                                         test_continuous_mode_writes_windows)],
              needs_binary=False)
