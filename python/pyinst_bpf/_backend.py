# SPDX-License-Identifier: MIT
"""Runs pyinst-bpf: sampling this process (directly or through the agent) and rendering.

The package samples nothing itself. With the capabilities (root, or CAP_BPF + CAP_PERFMON +
CAP_SYS_PTRACE), it starts `pyinst-bpf --pid <own pid> --ready-fd N` and waits for the byte
saying the sampler is attached; otherwise it asks `pyinst-bpf agent` over a Unix socket, handing
it a temporary file it opened itself. Either way the session comes back as a .pyisession file,
and the renderers are the binary's (`pyinst-bpf --load`).
"""
import array
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile

from . import errors

_HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOCKET = "/run/pyinst-bpf.sock"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0

# capability bits: CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21, CAP_PERFMON 38, CAP_BPF 39
_CAP_SYS_PTRACE, _CAP_SYS_ADMIN, _CAP_PERFMON, _CAP_BPF = 19, 21, 38, 39


def binary():
    """The pyinst-bpf program: $PYINST_BPF_BINARY, the installed one, a checkout's build/."""
    env = os.environ.get("PYINST_BPF_BINARY")
    if env:
        return env
    try:
        from . import _paths  # written by meson install
        candidates = [os.path.join(_paths.BINDIR, "pyinst-bpf")]
    except ImportError:
        candidates = []
    candidates.append(os.path.join(_HERE, "..", "..", "build", "pyinst-bpf"))
    for path in candidates:
        if os.access(path, os.X_OK):
            return os.path.normpath(path)
    found = shutil.which("pyinst-bpf")
    if found:
        return found
    raise errors.BinaryNotFound(
        "pyinst-bpf not found: install it, or set PYINST_BPF_BINARY to its path")


def socket_path():
    return os.environ.get("PYINST_BPF_SOCKET") or DEFAULT_SOCKET


def has_capabilities():
    """True when this process may load BPF and read its own memory from outside."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    eff = int(line.split()[1], 16)
                    break
            else:
                return False
    except OSError:
        return False

    def has(bit):
        return bool(eff >> bit & 1)

    admin = has(_CAP_SYS_ADMIN)
    return has(_CAP_SYS_PTRACE) and (has(_CAP_BPF) or admin) and (has(_CAP_PERFMON) or admin)


def _classify(message):
    if "not supported" in message or "not a Python process" in message or "CPython" in message:
        return errors.UnsupportedPython
    return errors.ProfilerError


class _Direct:
    """pyinst-bpf run by this process, which has the capabilities."""

    how = "direct"

    def __init__(self, interval, mode, out, async_mode="enabled"):
        r, w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [binary(), "--pid", str(os.getpid()), "--no-subprocesses", "-q",
                 "-r", "session", "-i", repr(float(interval)), "--mode", mode,
                 "--async-mode", async_mode,
                 "--ready-fd", str(w), "--target-description", "Python API session"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                pass_fds=(w,), start_new_session=True)
        finally:
            os.close(w)
        try:
            ready, _, _ = select.select([r], [], [], READY_TIMEOUT)
            got = os.read(r, 1) if ready else b""
        finally:
            os.close(r)
        if got != b"R":
            if not ready:
                self._proc.kill()
            self._fail(self._proc.communicate()[1])

    def _fail(self, stderr):
        lines = [l for l in stderr.decode("utf-8", "replace").splitlines() if l.strip()]
        msg = lines[-1] if lines else "pyinst-bpf exited with status %s" % self._proc.returncode
        if msg.startswith("pyinst-bpf: "):
            msg = msg[len("pyinst-bpf: "):]
        raise _classify(msg)(msg)

    def stop(self):
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
        try:
            _, stderr = self._proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, stderr = self._proc.communicate()
        if self._proc.returncode != 0:
            self._fail(stderr)


_REASONS = {
    "busy": errors.AgentBusy,
    "not-allowed": errors.NotAllowed,
    "unsupported": errors.UnsupportedPython,
}


def agent_error(reply):
    """The exception for an agent's "ERR <reason> <message>" reply."""
    parts = reply.split(" ", 2)
    reason = parts[1] if len(parts) > 1 else "failed"
    msg = parts[2] if len(parts) > 2 else reply
    cls = _REASONS.get(reason, errors.ProfilerError)
    return cls("pyinst-bpf agent refused (%s): %s" % (reason, msg))


def agent_request(sock, text, fd):
    """Sends one request with fd; returns the agent's reply (the agent may have refused
    before reading it: its reason is still waiting on the socket)."""
    try:
        sock.sendmsg([text.encode()],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    except (BrokenPipeError, ConnectionResetError):
        pass
    return agent_reply(sock)


def agent_reply(sock):
    """The agent's next message. An agent that refused at once (busy) and closed before
    reading the request leaves ECONNRESET, which the kernel reports before the reply queued
    ahead of it: the reply is still there to read."""
    try:
        return sock.recv(512).decode("utf-8", "replace")
    except ConnectionResetError:
        return sock.recv(512).decode("utf-8", "replace")


def agent_connect(path=None, timeout=READY_TIMEOUT + 10):
    path = path or socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        sock.close()
        raise errors.AgentUnavailable(
            "no agent: this process lacks CAP_BPF/CAP_PERFMON/CAP_SYS_PTRACE and nothing "
            "listens on %s (%s); start it with 'systemctl start pyinst-bpf-agent.socket', or "
            "run as root" % (path, e.strerror)) from None
    except PermissionError as e:
        sock.close()
        raise errors.AgentUnavailable("no agent: cannot connect to %s: %s"
                                      % (path, e.strerror)) from None
    return sock


class _Agent:
    """pyinst-bpf agent profiles this process for us (it finds our pid itself)."""

    how = "agent"

    def __init__(self, interval, mode, out, async_mode="enabled"):
        self._sock = agent_connect()
        try:
            reply = agent_request(self._sock, "pyinst-bpf/1 start interval=%r mode=%s async=%s"
                                  % (float(interval), mode, async_mode), out.fileno())
        except socket.timeout:
            self._sock.close()
            raise errors.ProfilerError("pyinst-bpf agent: no answer in %d s"
                                       % (READY_TIMEOUT + 10))
        if reply != "OK ready":
            self._sock.close()
            raise agent_error(reply or "ERR failed the agent closed the connection")

    def stop(self):
        self._sock.settimeout(STOP_TIMEOUT)
        try:
            self._sock.send(b"stop")
        except OSError:
            pass
        try:
            reply = agent_reply(self._sock)
        except socket.timeout:
            reply = "ERR timeout no answer from the agent"
        finally:
            self._sock.close()
        if reply != "OK done":
            raise agent_error(reply or "ERR failed the agent closed the connection")


def start_sampling(interval, mode="wall", how=None, async_mode="enabled"):
    """Returns (sampler, file): sampling of this process is running when it returns.
    async_mode: "enabled" (an event loop's idle time goes to [await] under its task when it
    has exactly one) or "disabled" (it stays the loop's wait)."""
    how = how or os.environ.get("PYINST_BPF_VIA") or ("direct" if has_capabilities() else "agent")
    if how not in ("direct", "agent"):
        raise ValueError("PYINST_BPF_VIA must be 'direct' or 'agent', not %r" % how)
    out = tempfile.TemporaryFile(prefix="pyinst-bpf-", suffix=".pyisession")
    try:
        sampler = (_Direct if how == "direct" else _Agent)(interval, mode, out, async_mode)
    except BaseException:
        out.close()
        raise
    return sampler, out


def render(session_json, renderer, options=(), flags=()):
    """Renders a session (its to_json()) with the binary's renderer; returns bytes."""
    import json
    with tempfile.NamedTemporaryFile("w", suffix=".pyisession", delete=False) as f:
        json.dump(session_json, f)
        path = f.name
    try:
        argv = [binary(), "--load", path, "-r", renderer]
        for key, value in options:
            argv += ["-P", key if value is True else "%s=%s" % (key, json.dumps(value))]
        argv += list(flags)
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise errors.ProfilerError("rendering failed: %s" % (msg[-1] if msg else proc.returncode))
    return proc.stdout
