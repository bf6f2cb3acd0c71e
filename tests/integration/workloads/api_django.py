# Django's test client through pyinst_bpf.middleware.ProfilerMiddleware: a plain request,
# `?profile` (the HTML report instead of the page), and PYINSTRUMENT_PROFILE_DIR with the
# session renderer. Prints one JSON line.
import json
import os
import shutil
import sys
import time

import django
from django.conf import settings

OUT = sys.argv[1]
PROFILE_DIR = os.path.join(OUT, "django-profiles")
shutil.rmtree(PROFILE_DIR, ignore_errors=True)  # this run's files only
spent = []

settings.configure(
    DEBUG=True, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="test",
    MIDDLEWARE=["pyinst_bpf.middleware.ProfilerMiddleware"])

from django.http import HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402


def slow_view(request):
    t0 = time.perf_counter()
    end = t0 + 0.3
    while time.perf_counter() < end:
        pass
    spent.append(time.perf_counter() - t0)
    return HttpResponse("hello")


urlpatterns = [path("slow", slow_view)]
django.setup()
client = Client()
plain = client.get("/slow")
profiled = client.get("/slow?profile")
with override_settings(PYINSTRUMENT_PROFILE_DIR=PROFILE_DIR,
                       PYINSTRUMENT_PROFILE_DIR_RENDERER="pyinst_bpf.renderers.SessionRenderer"):
    client.get("/slow")
# the agent busy with every session this user may have: the page is served, unprofiled
import socket  # noqa: E402
held = []
for _ in range(4):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.environ["PYINST_BPF_SOCKET"])
    held.append(s)
# Accepting is first come, first served: once a probe is refused as busy, the agent has
# taken every held connection before it (a fixed sleep raced a loaded machine).
probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
probe.settimeout(10)
probe.connect(os.environ["PYINST_BPF_SOCKET"])
refusal = probe.recv(4096)
probe.close()
if not refusal.startswith(b"ERR busy"):
    sys.exit("the probe was not refused as busy: %r" % refusal[:200])
busy = client.get("/slow?profile")
for s in held:
    s.close()
files = sorted(os.listdir(PROFILE_DIR))
with open(os.path.join(PROFILE_DIR, files[0])) as f:
    session = json.load(f)
view_time = sum(w for stack, w in session["frame_records"]
                if any(info.startswith("slow_view\x00") for info in stack))
print(json.dumps({
    "plain": [plain.status_code, plain.content.decode()],
    "profile_status": profiled.status_code, "profile_head": profiled.content[:20].decode(),
    "busy": [busy.status_code, busy.content.decode()],
    "dir_files": files, "view_time": view_time, "truth": spent[-1],
}))
