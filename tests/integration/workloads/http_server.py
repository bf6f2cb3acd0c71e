# A ThreadingHTTPServer (a thread per connection) under load from a local client for argv[1]
# seconds, on loopback only. The client is Debian's wrk when installed, else a Python process
# with a few threads. Writes what it served to argv[2]; argv[3] is the --pid handshake file.
import hashlib
import http.server
import json
import shutil
import socketserver
import subprocess
import sys
import threading
import time

DURATION = float(sys.argv[1])
served = [0]
lock = threading.Lock()

CLIENT = """
import http.client, sys, threading, time
port, end = int(sys.argv[1]), time.time() + float(sys.argv[2])
def hammer():
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/item/%d" % time.time_ns())
            c.getresponse().read()
            c.close()
        except OSError:
            time.sleep(0.01)
ts = [threading.Thread(target=hammer) for _ in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = hashlib.sha256(self.path.encode() * 200).hexdigest().encode() * 20
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            served[0] += 1

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except OSError:
            pass  # the client hung up when its time was over


def load(port):
    """The client process: bounded in time and connections, loopback only."""
    url = "http://127.0.0.1:%d/" % port
    if shutil.which("wrk"):
        return subprocess.Popen(["wrk", "-t1", "-c16", "-d%ds" % max(1, round(DURATION)), url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-c", CLIENT, str(port), str(DURATION)])


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    pass  # http.server.ThreadingHTTPServer, which 3.6 lacks


def main():
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            f.write("ready")
        while not open(sys.argv[3]).read().startswith("go"):
            time.sleep(0.01)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = load(server.server_address[1])
    try:
        client.wait(timeout=DURATION + 30)
    finally:
        if client.poll() is None:
            client.kill()
    server.shutdown()
    with open(sys.argv[2], "w") as f:
        json.dump({"served": served[0], "client": "wrk" if shutil.which("wrk") else "python"}, f)


main()
