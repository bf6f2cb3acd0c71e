# FastAPI's TestClient through pyinst_bpf.asgi.ProfilerMiddleware: an async endpoint and a
# sync one (run in a worker thread), plain and with `?profile`; each profile's session is also
# written (profile_dir, session renderer) to find the endpoint's time. Prints one JSON line.
import json
import os
import shutil
import sys
import threading
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pyinst_bpf.asgi import ProfilerMiddleware
from pyinst_bpf.renderers import SessionRenderer

OUT = sys.argv[1]
spent = []
sync_thread = []


def spin(seconds):
    t0 = time.perf_counter()
    while time.perf_counter() < t0 + seconds:
        pass
    spent.append(time.perf_counter() - t0)


plain_app = FastAPI()


@plain_app.get("/async")
async def async_endpoint():
    spin(0.3)
    return {"ok": 1}


@plain_app.get("/sync")
def sync_endpoint():
    sync_thread.append(threading.current_thread().name)
    spin(0.3)
    return {"ok": 2}


plain_app.add_middleware(ProfilerMiddleware)
client = TestClient(plain_app)
plain = [client.get("/async").json(), client.get("/sync").json()]
profiles = {}
for path, fn in (("/async", "async_endpoint"), ("/sync", "sync_endpoint")):
    r = client.get(path + "?profile")
    # the same request with the session written beside, to read the endpoint's time
    directory = os.path.join(OUT, "fastapi" + path.replace("/", "-"))
    shutil.rmtree(directory, ignore_errors=True)  # this run's files only
    app = ProfilerMiddleware(plain_app, profile_dir=directory, renderer=SessionRenderer())
    TestClient(app).get(path)
    with open(os.path.join(directory, os.listdir(directory)[0])) as f:
        session = json.load(f)
    profiles[path] = {
        "status": r.status_code, "type": r.headers["content-type"], "head": r.text[:20],
        "endpoint_time": sum(w for stack, w in session["frame_records"]
                             if any(i.startswith(fn + "\x00") for i in stack)),
    }
print(json.dumps({"plain": plain, "profiles": profiles, "truth": min(spent),
                  "sync_thread": sync_thread[-1]}))
