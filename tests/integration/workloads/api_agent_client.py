# Talks to pyinst-bpf agent the way a hostile or careless client would; prints one JSON object
# of what the agent answered. argv: socket path, then one of
#   refuse PID...   requests naming pids that are not the caller's own
#   flood N         N idle connections, garbage, oversized and fd-less requests, at once
#   busy N          the user's sessions all taken: N more full requests
#   no-agent        the exception when nothing listens
import array
import json
import os
import socket
import sys
import tempfile
import time

from pyinst_bpf import _backend, errors

SOCK = sys.argv[1]
os.environ["PYINST_BPF_SOCKET"] = SOCK
out = tempfile.TemporaryFile()


def exception_for(reply):
    e = _backend.agent_error(reply)
    return {"reply": reply, "exception": type(e).__name__, "message": str(e)}


def refuse(pids):
    result = []
    for pid in pids:
        s = _backend.agent_connect(SOCK)
        reply = _backend.agent_request(s, "pyinst-bpf/1 start pid=%s" % pid, out.fileno())
        s.close()
        result.append(exception_for(reply))
    return result


def raw(payload, fd=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(SOCK)
    try:
        if fd:
            s.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   array.array("i", [out.fileno()]))])
        else:
            s.send(payload)
    except OSError:
        pass
    try:
        return _backend.agent_reply(s)
    except OSError as e:
        return "no reply: %s" % e
    finally:
        s.close()


def flood(n):
    t0 = time.monotonic()
    idle, replies = [], {}
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(SOCK)
        idle.append(s)
    # those over the per-user limit are refused at once; the others wait for the timeout
    for s in idle:
        s.settimeout(15)
    answered = 0
    for s in idle:
        try:
            r = _backend.agent_reply(s)
        except OSError as e:
            r = "no reply: %s" % e
        key = " ".join(r.split()[:2])
        replies[key] = replies.get(key, 0) + 1
        answered += 1
        s.close()
    idle_seconds = time.monotonic() - t0
    garbage = {
        "oversized": raw(b"pyinst-bpf/1 start " + b"x" * 8192),
        "bad protocol": raw(b"GET / HTTP/1.0\r\n\r\n"),
        "no fd": raw(b"pyinst-bpf/1 start", fd=False),
        "bad interval": raw(b"pyinst-bpf/1 start interval=1e9"),
        "unknown field": raw(b"pyinst-bpf/1 start path=/etc/shadow"),
    }
    return {"idle": replies, "idle_seconds": idle_seconds, "garbage": garbage}


def busy(n, slots=4):
    held = []
    for _ in range(slots):  # idle connections hold every slot of this user until the timeout
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(SOCK)
        held.append(s)
    time.sleep(0.2)
    replies = {}
    for _ in range(n):
        s = _backend.agent_connect(SOCK)
        try:
            r = _backend.agent_request(s, "pyinst-bpf/1 start", out.fileno())
            e = _backend.agent_error(r)
            key = type(e).__name__ + ": " + " ".join(r.split()[:2])
        except OSError as e:
            key = "%s: %s" % (type(e).__name__, e)
        replies[key] = replies.get(key, 0) + 1
        s.close()
    for s in held:
        s.close()
    return replies


def no_agent():
    try:
        _backend.agent_connect(SOCK)
    except errors.ProfilerError as e:
        return {"exception": type(e).__name__, "message": str(e)}
    return {"exception": None}


cmd = sys.argv[2]
if cmd == "refuse":
    print(json.dumps(refuse(sys.argv[3:])))
elif cmd == "flood":
    print(json.dumps(flood(int(sys.argv[3]))))
elif cmd == "busy":
    print(json.dumps(busy(int(sys.argv[3]))))
elif cmd == "no-agent":
    print(json.dumps(no_agent()))
