# SPDX-License-Identifier: MIT
"""The Python package pyinst_bpf (docs/python-api.md) against real BPF.

Most tests run as an unprivileged system user (created if absent) through a `pyinst-bpf agent`
started here on a private socket: the Profiler around known work (shares, a second thread, the
HTML in chromium), refusals (another pid, another user's process, not Python, no agent), a
flood, and the IPython magic, Django middleware and FastAPI middleware on Debian's python3.11.
The API examples of pyinstrument's documentation run as root (sampling directly) on every
interpreter 3.8 and newer. Select tests with PYI_ONLY=<regex>.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import Failure, Skip, binary, check, interpreters, run_tests, WORKLOADS

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "..", "..", "python", "pyinst_bpf")
BROWSER = os.path.join(HERE, "..", "browser")
DEBIAN_PYTHON = "/usr/bin/python3.11"
USER = "pyinstbpf-test"
SHARE_TOLERANCE = 0.05


class Env:
    """The unprivileged user, a world-readable copy of the package and binary, the agent."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="pyi-api-")
        os.chmod(self.root, 0o755)
        self.lib = os.path.join(self.root, "lib")
        shutil.copytree(PACKAGE, os.path.join(self.lib, "pyinst_bpf"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(WORKLOADS, os.path.join(self.root, "workloads"))
        self.bin = os.path.join(self.root, "pyinst-bpf")
        shutil.copy2(binary(), self.bin)
        self.sock = os.path.join(self.root, "agent.sock")
        self.user = None
        self.agent = None

    def ensure_user(self):
        try:
            self.user = pwd.getpwnam(USER)
        except KeyError:
            r = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                                "--shell", "/usr/sbin/nologin", USER],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise Skip("cannot create the test user: %s" % r.stdout.decode().strip())
            self.user = pwd.getpwnam(USER)
        self.out = os.path.join(self.root, "out")
        self.home = os.path.join(self.root, "home")
        for d in (self.out, self.home):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.user.pw_uid, self.user.pw_gid)

    def start_agent(self, *extra):
        self.agent = subprocess.Popen([binary(), "agent", "--socket", self.sock,
                                       "--request-timeout", "2"] + list(extra),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            if os.path.exists(self.sock):
                return
            if self.agent.poll() is not None:
                raise Failure("the agent exited: %s" % self.agent.stderr.read().decode())
            time.sleep(0.05)
        raise Failure("the agent did not create %s" % self.sock)

    def stop_agent(self):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
                raise Failure("the agent did not stop on SIGTERM within 10 s")

    def as_user(self, argv, timeout=120, env=None):
        """Runs argv as the unprivileged user; returns (status, stdout, stderr)."""
        full_env = {"PATH": "/usr/bin:/bin", "HOME": self.home, "PYTHONPATH": self.lib,
                    "PYINST_BPF_SOCKET": self.sock, "PYINST_BPF_BINARY": self.bin,
                    "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        full_env.update(env or {})
        cmd = ["setpriv", "--reuid", str(self.user.pw_uid), "--regid", str(self.user.pw_gid),
               "--clear-groups", "--inh-caps=-all", "--"] + argv
        r = subprocess.run(cmd, env=full_env, cwd=self.out, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def workload(self, name):
        return os.path.join(self.root, "workloads", name)

    def close(self):
        self.stop_agent()
        shutil.rmtree(self.root, ignore_errors=True)


ENV = None


def env():
    global ENV
    if ENV is None:
        if not shutil.which("setpriv"):
            raise Skip("setpriv not found (util-linux)")
        ENV = Env()
        ENV.ensure_user()
        ENV.start_agent()
    return ENV


def user_python():
    """Debian's python3.11: the unprivileged user cannot reach pyenv's under /root."""
    if not os.path.exists(DEBIAN_PYTHON):
        raise Skip("no %s" % DEBIAN_PYTHON)
    return DEBIAN_PYTHON


def parse(info):
    ident = info.split("\x01", 1)[0].split("\x00")
    return {"name": ident[0], "file": ident[1] if len(ident) > 1 else "",
            "line": ident[2] if len(ident) > 2 else ""}


def records(path):
    with open(path) as f:
        raw = json.load(f)
    return [([parse(i) for i in stack], w) for stack, w in raw["frame_records"]], raw


def inclusive(recs, name, pred=lambda stack: True):
    return sum(w for stack, w in recs if pred(stack) and any(f["name"] == name for f in stack))


# ---- the Profiler through the agent ----------------------------------------------------------

RUN = {}


def shares_run():
    """One run of api_shares.py as the user, shared by the tests that read it."""
    if "shares" not in RUN:
        e = env()
        status, out, err = e.as_user([user_python(), e.workload("api_shares.py"), e.out])
        check(status == 0, "api_shares.py as %s exited %d: %s" % (USER, status, err.strip()))
        with open(os.path.join(e.out, "truth.json")) as f:
            RUN["shares"] = json.load(f)
    return RUN["shares"]


def test_agent_shares():
    """Profiler().start() returns once sampling runs: shares of the work agree with the truth."""
    truth = shares_run()
    check(not truth["capabilities"] and truth["uid"] != 0,
          "the workload ran with privileges: %s" % truth)
    recs, _ = records(os.path.join(env().out, "api.pyisession"))
    main = lambda stack: stack and stack[0]["line"] == str(truth["thread"])
    spent = truth["spent"]
    seen = {k: inclusive(recs, k, main) for k in spent}
    total_seen, total_truth = sum(seen.values()), sum(spent.values())
    check(total_seen > 0, "no time in the work: %s" % seen)
    for k in spent:
        share, want = seen[k] / total_seen, spent[k] / total_truth
        check(abs(share - want) <= SHARE_TOLERANCE,
              "%s: %.1f%% in the profile, %.1f%% measured (profile %s, truth %s)"
              % (k, 100 * share, 100 * want, seen, spent))


def test_agent_async_mode():
    """async_mode="enabled": a loop's idle time is its sole task's [await] (as the CLI's wall
    mode); "disabled": it stays the loop's wait, as pyinstrument leaves it."""
    e = env()
    awaited = {}
    for mode in ("enabled", "disabled"):
        status, out, err = e.as_user([user_python(), e.workload("api_async.py"), e.out, mode])
        check(status == 0, "api_async.py %s exited %d: %s" % (mode, status, err.strip()))
        recs, _ = records(os.path.join(e.out, "api-async-%s.pyisession" % mode))
        total = sum(w for _, w in recs)
        awaited[mode] = sum(w for stack, w in recs if stack and stack[-1]["name"] == "[await]" and
                            any(f["name"] == "napping" for f in stack)) / total
    # the task sleeps 20 ms for every 2 ms it computes
    check(awaited["enabled"] > 0.5, "enabled: [await] under napping is %.0f%% of the session"
          % (100 * awaited["enabled"]))
    check(awaited["disabled"] == 0, "disabled: [await] under napping is %.0f%% of the session"
          % (100 * awaited["disabled"]))


def test_agent_second_thread():
    truth = shares_run()
    recs, _ = records(os.path.join(env().out, "api.pyisession"))
    roots = {}
    for stack, w in recs:
        if stack[0]["file"] == "<thread>":
            roots[stack[0]["name"]] = roots.get(stack[0]["name"], 0) + w
    worker = inclusive(recs, "worker_loop")
    check(len(roots) >= 2 and worker > 0.3,
          "a second thread with worker_loop: roots %s, worker_loop %.3fs" % (roots, worker))
    text = open(os.path.join(env().out, "api.txt")).read()
    check("worker_loop" in text and "crunch" in text, "the text report:\n" + text)
    check(truth["spent"]["doze"] > 0.35, "the workload did not sleep: %s" % truth)


def test_agent_html_opens_clean():
    """output_html() of the run opens clean in headless chromium (the browser suite's harness)."""
    shares_run()
    chromium = os.environ.get("PYI_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium) or not shutil.which("node"):
        raise Skip("no chromium or node: the browser check did not run")
    if not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=BROWSER, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(r.returncode == 0, "npm ci: %s" % r.stdout.decode(errors="replace"))
    html = os.path.join(env().out, "api.html")
    r = subprocess.run(["node", "--no-warnings", "open_reports.mjs",
                        html + ":crunch,doze:2"],
                       cwd=BROWSER, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, PYI_CHROMIUM=chromium), timeout=300)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 0 and " 0 failed" in out, "browser:\n" + out)


# ---- refusals ------------------------------------------------------------------------------

def client(*args):
    e = env()
    status, out, err = e.as_user([user_python(), e.workload("api_agent_client.py"), e.sock]
                                 + list(args))
    check(status == 0, "api_agent_client.py %s exited %d: %s" % (args, status, err.strip()))
    return json.loads(out)


def test_refuses_other_pids():
    """Naming another user's process (root's agent), or another process of the same user."""
    e = env()
    same_user = subprocess.Popen(["setpriv", "--reuid", str(e.user.pw_uid), "--regid",
                                  str(e.user.pw_gid), "--clear-groups", "sleep", "30"])
    try:
        time.sleep(0.2)
        answers = client("refuse", str(e.agent.pid), str(same_user.pid), "1")
    finally:
        same_user.kill()
        same_user.wait()
    for a in answers:
        check(a["exception"] == "NotAllowed" and "not-allowed" in a["message"]
              and "own process" in a["message"], "not refused as not allowed: %s" % a)


def test_refuses_not_python():
    """The connecting process became /bin/sleep: the agent profiles it and says unsupported."""
    e = env()
    code = r"""
import os, socket, sys, tempfile, time
from pyinst_bpf import _backend
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
parent = os.getpid()
if os.fork() == 0:
    for _ in range(200):
        if os.readlink("/proc/%d/exe" % parent).endswith("sleep"):
            break
        time.sleep(0.01)
    out = tempfile.TemporaryFile()
    print(_backend.agent_request(s, "pyinst-bpf/1 start", out.fileno()), flush=True)
    os.kill(parent, 9)
    os._exit(0)
s.set_inheritable(True)
os.execv("/bin/sleep", ["sleep", "30"])
"""
    status, out, err = e.as_user([user_python(), "-c", code, e.sock], timeout=60)
    reply = out.strip()
    check(reply.startswith("ERR unsupported") and "not a Python process" in reply,
          "reply %r (stderr %s)" % (reply, err.strip()))
    sys.path.insert(0, e.lib)
    from pyinst_bpf import _backend, errors
    check(isinstance(_backend.agent_error(reply), errors.UnsupportedPython),
          "%r is not UnsupportedPython" % reply)


def test_setuid_exec_ends_session():
    """A caller that execs a setuid program while profiled: the agent drops the session."""
    e = env()
    setuid_sleep = os.path.join(e.root, "setuid-sleep")
    shutil.copy2("/bin/sleep", setuid_sleep)
    os.chown(setuid_sleep, 0, 0)
    os.chmod(setuid_sleep, 0o4755)
    code = r"""
import os, socket, sys, tempfile, time
from pyinst_bpf import _backend
s = _backend.agent_connect(sys.argv[1])
out = tempfile.TemporaryFile()
print(_backend.agent_request(s, "pyinst-bpf/1 start", out.fileno()), flush=True)
parent = os.getpid()
if os.fork() == 0:
    s.settimeout(10)
    t0 = time.monotonic()
    print(s.recv(512).decode(), "%.2f" % (time.monotonic() - t0), flush=True)
    os.kill(parent, 9)
    os._exit(0)
os.execv(sys.argv[2], ["sleep", "20"])
"""
    status, out, err = e.as_user([user_python(), "-c", code, e.sock, setuid_sleep], timeout=60)
    lines = out.strip().splitlines()
    check(len(lines) == 2 and lines[0] == "OK ready", "replies %r (stderr %s)" % (out, err))
    reply, seconds = lines[1].rsplit(" ", 1)
    check(reply.startswith("ERR not-allowed") and "changed credentials" in reply
          and float(seconds) < 2, "after the setuid exec: %r in %ss" % (reply, seconds))


def test_no_agent_is_clear():
    e = env()
    a = client("no-agent")
    check(a["exception"] is None, "the agent is up, yet: %s" % a)
    status, out, err = e.as_user([user_python(), "-c",
                                  "import pyinst_bpf; pyinst_bpf.Profiler().start()"],
                                 env={"PYINST_BPF_SOCKET": os.path.join(e.root, "none.sock")})
    check(status != 0 and "AgentUnavailable: no agent" in err and "none.sock" in err,
          "no clear AgentUnavailable: %s" % err.strip()[-400:])


def test_busy_is_agent_busy():
    """The user's slots all taken: each further request is AgentBusy, never a reset socket
    (the agent refuses before reading, and the kernel reports ECONNRESET before the reply)."""
    replies = client("busy", "50")
    check(replies == {"AgentBusy: ERR busy": 50}, "replies: %s" % replies)


def agent_resources(pid):
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    children = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    children += int(f.read().rsplit(")", 1)[1].split()[1]) == pid
            except (OSError, IndexError, ValueError):
                pass
    return fds, rss, children


def test_flood_does_not_exhaust():
    """300 idle connections and garbage from one user: refused at once past the per-user
    limit, idle ones dropped after the request timeout, the agent's descriptors, memory and
    handlers back to where they were, and the user's next Profiler session works."""
    e = env()
    before = agent_resources(e.agent.pid)
    result = client("flood", "300")
    idle = result["idle"]
    check(idle.get("ERR busy", 0) >= 290 and idle.get("ERR timeout", 0) <= 4
          and sum(idle.values()) == 300, "idle connections: %s" % idle)
    check(result["idle_seconds"] < 2 + 3, "idle connections held for %.1fs"
          % result["idle_seconds"])
    for what, reply in result["garbage"].items():
        check(reply.startswith("ERR bad-request"), "%s: %r" % (what, reply))
    check(e.agent.poll() is None, "the agent died")
    for _ in range(30):  # the last handlers are exiting: wait until they are reaped
        after = agent_resources(e.agent.pid)
        if after[2] == 0:
            break
        time.sleep(0.1)
    check(after[0] <= before[0] and after[2] == 0 and after[1] <= before[1] + 1024,
          "agent fds/rss KiB/handlers before %s, after %s" % (before, after))
    status, out, err = e.as_user([user_python(), "-c", """
import pyinst_bpf, time
with pyinst_bpf.Profiler() as p:
    time.sleep(0.2)
print(p.last_session.duration)
"""])
    check(status == 0, "a session after the flood failed: %s" % err.strip()[-300:])


# ---- IPython, Django, FastAPI on Debian's python3.11 -------------------------------------

def needs(*modules):
    python = user_python()
    r = subprocess.run([python, "-c", "import " + ", ".join(modules)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        raise Skip("%s lacks %s (scripts/install-deps.sh installs them)"
                   % (python, ", ".join(modules)))
    return python


def run_script(name, python):
    e = env()
    status, out, err = e.as_user([python, e.workload(name), e.out])
    check(status == 0, "%s exited %d: %s" % (name, status, err.strip()[-1500:]))
    return json.loads(out.strip().splitlines()[-1])


def test_ipython_magic():
    r = run_script("api_magic.py", needs("IPython"))
    text, frame = r["text"], r["html"]
    check(r["mimetypes"] == ["text/html", "text/plain"], "display() kinds: %s" % r["mimetypes"])
    check(frame.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;"), frame[:120])
    check("Cell [" in text and "crunch" in text and "doze" in text, text)
    check(all(ord(c) < 128 for c in text) and "\x1b[" not in text, "text not ASCII/plain")
    check("IPython" not in text and "interactiveshell" not in text, "IPython frames:\n" + text)
    check(r["line_text"] and "crunch" in r["line_text"], "line magic: %s" % r["line_text"])
    share = r["crunch"] / (r["crunch"] + r["doze"])
    want = r["truth"]["crunch"] / (r["truth"]["crunch"] + r["truth"]["doze"])
    check(abs(share - want) <= SHARE_TOLERANCE, "crunch %.1f%%, measured %.1f%%"
          % (100 * share, 100 * want))


def test_django_middleware():
    # The script holds every session this user may have, then asks for a profile: the held
    # connections must outlast that request. With the agent's 2 s request timeout (which
    # test_flood_does_not_exhaust needs) a loaded machine let one expire first, and the page
    # came back profiled; this test's agent waits 60 s for a request.
    e = env()
    e.stop_agent()
    e.start_agent("--request-timeout", "60")
    try:
        r = run_script("api_django.py", needs("django"))
    finally:
        e.stop_agent()
        e.start_agent()
    check(r["plain"] == [200, "hello"], "without ?profile: %s" % r["plain"])
    check(r["profile_status"] == 200 and r["profile_head"].lower().startswith("<!doctype html"),
          "?profile: %s %r" % (r["profile_status"], r["profile_head"]))
    check(len(r["dir_files"]) == 1 and r["dir_files"][0].endswith(".pyisession")
          and "_slow" in r["dir_files"][0], "PYINSTRUMENT_PROFILE_DIR wrote %s" % r["dir_files"])
    check(r["view_time"] >= 0.8 * r["truth"], "slow_view %.3fs in the profile, ran %.3fs"
          % (r["view_time"], r["truth"]))
    check(r["busy"] == [200, "hello"], "the agent busy: %s" % r["busy"])


def test_fastapi_middleware():
    r = run_script("api_fastapi.py", needs("fastapi", "httpx"))
    check(r["plain"] == [{"ok": 1}, {"ok": 2}], "responses: %s" % r["plain"])
    for path in ("/async", "/sync"):
        got = r["profiles"][path]
        check(got["status"] == 200 and got["type"].startswith("text/html")
              and got["head"].lower().startswith("<!doctype html"), "%s?profile: %s" % (path, got))
        check(got["endpoint_time"] >= 0.8 * r["truth"], "%s: the endpoint %.3fs, ran %.3fs"
              % (path, got["endpoint_time"], r["truth"]))
    check(r["sync_thread"] != "MainThread", "the sync endpoint ran on %s" % r["sync_thread"])


# ---- the CLI pieces the package uses ----------------------------------------------------------

def test_ready_fd_and_agent_options():
    """--ready-fd needs an open descriptor above 2; the agent's options are checked; each
    mistake is one line naming the option and exit status 2, before anything runs."""
    cases = [(["--ready-fd", "99", "--pid", "1"], "--ready-fd"),
             (["--ready-fd", "1", "--pid", "1"], "--ready-fd"),
             (["--ready-fd", "x", "--pid", "1"], "--ready-fd"),
             (["agent", "--max-per-user", "0"], "--max-per-user"),
             (["agent", "--max-sessions", "100000"], "--max-sessions"),
             (["agent", "--request-timeout", "-1"], "--request-timeout"),
             (["agent", "extra"], "extra")]
    for argv, name in cases:
        r = subprocess.run([binary()] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
        err = r.stderr.decode(errors="replace").strip()
        check(r.returncode == 2 and name in err and len(err.splitlines()) == 1,
              "%s: exit %d, %r" % (argv, r.returncode, err))
    sock = os.path.join(tempfile.mkdtemp(prefix="pyi-api-sock-"), "file")
    open(sock, "w").close()
    r = subprocess.run([binary(), "agent", "--socket", sock], stderr=subprocess.PIPE, timeout=10)
    check(r.returncode == 1 and b"not replacing it" in r.stderr and os.path.isfile(sock),
          "an agent over a regular file: %d %s" % (r.returncode, r.stderr))
    shutil.rmtree(os.path.dirname(sock))


# ---- Session against pyinstrument's own files ---------------------------------------------

def samples_dir():
    """pyinstrument 5.1.2's own files, kept in this repository (or PYI_SAMPLES)."""
    return os.environ.get("PYI_SAMPLES") or os.path.join(HERE, "..", "data",
                                                         "pyinstrument-samples")


def test_session_as_pyinstrument():
    """Session.load/save round-trips pyinstrument's files byte for byte, and combine(demo,
    demo2) is pyinstrument's combined.pyisession, whichever argument comes first."""
    sys.path.insert(0, os.path.dirname(PACKAGE))
    from pyinst_bpf import Session
    d = samples_dir()
    out = tempfile.mkdtemp(prefix="pyi-api-session-")
    try:
        for name in ("demo", "demo2", "async_enabled", "empty"):
            src = os.path.join(d, name + ".pyisession")
            Session.load(src).save(os.path.join(out, name))
            with open(src, "rb") as a, open(os.path.join(out, name), "rb") as b:
                check(a.read() == b.read(), "%s.pyisession changed in a load/save" % name)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    demo, demo2 = (Session.load(os.path.join(d, n + ".pyisession")) for n in ("demo", "demo2"))
    with open(os.path.join(d, "combined.pyisession")) as f:
        want = json.load(f)
    for a, b in ((demo, demo2), (demo2, demo)):
        got = Session.combine(a, b).to_json()
        got["sys_prefixes"], want["sys_prefixes"] = (sorted(got["sys_prefixes"]),
                                                     sorted(want["sys_prefixes"]))
        check(got == want, "combine differs from pyinstrument's: %s" % sorted(
            k for k in want if got.get(k) != want[k]))
    # root_frame(): trimmed down to the frame that called start(), as pyinstrument's
    root = demo.root_frame()
    check(root.function == "main" and root.file_path.endswith("pyinstrument/__main__.py"),
          "demo's root: %r" % root)
    nodes, stack = [], [root]
    while stack:
        f = stack.pop()
        nodes.append(f)
        stack.extend(f.children)
    own = sum(f.total_self_time for f in nodes if not f.is_synthetic)
    check(abs(own - root.time) < 1e-9 and abs(root.time - 0.450021) < 1e-6,
          "own times %.6f, root %.6f" % (own, root.time))
    module = next(f for f in nodes if f.function == "<module>" and f.file_path.endswith("demo.py"))
    check(abs(module.time - root.time) < 1e-9, "demo.py's <module> %.6f" % module.time)
    combined = Session.load(os.path.join(d, "combined.pyisession")).root_frame()
    check(combined.identifier == "[root]" and len(combined.children) == 2,
          "combined: %r %s" % (combined, combined.children))


def test_session_window():
    """The session is what ran between start() returning and stop() being called, on every
    thread: the sampler attaches before start() returns and detaches after stop() is entered,
    and the starting thread's records then (waiting in start() or stop(), or bare waits when
    its stack there was not walked, as in the failures seen) are the profiler's."""
    sys.path.insert(0, os.path.dirname(PACKAGE))
    from pyinst_bpf import profiler
    pkg = os.path.join(os.path.dirname(PACKAGE), "pyinst_bpf")

    def frame(name, path, line=1):
        return "%s\x00%s\x00%d" % (name, path, line)

    main, other = "MainThread\x00<thread>\x001", "T2\x00<thread>\x002"
    module = frame("<module>", "/app/x.py")
    start = [main, module, frame("start", os.path.join(pkg, "profiler.py")),
             frame("__init__", os.path.join(pkg, "_backend.py"))]
    stop = [main, module, frame("stop", os.path.join(pkg, "profiler.py"))]
    user = [main, module, frame("spin", "/app/x.py")]
    # wait leaves as the binary writes them ("<wait>" is their file, not code: a bare wait
    # first in the starting thread's timeline was kept, failing test_examples 2 runs in 5)
    wait = frame("[waiting for a CPU]", "<wait>", 0)
    records = [[[main, wait], 0.01], [[other, frame("early", "/app/t.py")], 0.01],
               [start, 0.02], [[main, "[polling]"], 0.01], [user, 0.1],
               [[other, frame("work", "/app/t.py")], 0.1], [[main, wait], 0.01],
               [stop, 0.02],
               [[other, frame("late", "/app/t.py")], 0.01]]
    active = profiler._Active(None, None, [module], "d", 0.001)
    active.thread, active.thread_name = 1, "MainThread"
    got = profiler.Profiler()._session({"frame_records": records, "sample_count": 8}, active,
                                       active.start_time + 0.2, 0.1)
    names = [[i.split("\x00")[0] for i in stack] for stack, _ in got.frame_records]
    check(names == [["MainThread", "<module>", "spin"], ["T2", "work"]],
          "records outside start()..stop() kept: %s" % names)
    root = got.root_frame()
    check(root.function == "[root]" and abs(root.time - 0.2) < 1e-9, "root %r" % root)


# ---- pyinstrument's documented examples, every interpreter -------------------------------

def example_test(label, python):
    def test():
        out = tempfile.mkdtemp(prefix="pyi-api-ex-")
        try:
            r = subprocess.run([python, os.path.join(WORKLOADS, "api_examples.py"), out],
                               env=dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE),
                                        PYINST_BPF_BINARY=binary(), PYINST_BPF_VIA="direct"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        check(r.returncode == 0 and b"examples ok" in r.stdout,
              "%s: %s" % (label, (r.stdout + r.stderr).decode(errors="replace")[-1500:]))
    test.__name__ = "test_examples[%s]" % label
    return test


def version_of(python):
    r = subprocess.run([python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                       stdout=subprocess.PIPE)
    return tuple(int(x) for x in r.stdout.split()) if r.returncode == 0 else (0, 0)


def all_tests():
    tests = [(f.__name__, f) for f in (
        test_agent_shares, test_agent_async_mode, test_agent_second_thread,
        test_agent_html_opens_clean,
        test_refuses_other_pids, test_refuses_not_python, test_setuid_exec_ends_session,
        test_no_agent_is_clear, test_busy_is_agent_busy, test_flood_does_not_exhaust,
        test_ipython_magic, test_django_middleware, test_fastapi_middleware,
        test_ready_fd_and_agent_options, test_session_as_pyinstrument, test_session_window)]
    for label, python in interpreters():
        if version_of(python) >= (3, 8):
            t = example_test(label, python)
            tests.append((t.__name__, t))
    return tests


if __name__ == "__main__":
    try:
        run_tests(all_tests())
    finally:
        if ENV is not None:
            ENV.close()
