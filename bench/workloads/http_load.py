# SPDX-License-Identifier: MIT
"""A many-thread HTTP server under load, for bench/long_session.sh.

The server (this process) is a ThreadingHTTPServer: a thread per keep-alive connection, plus
the main thread in accept. A forked client keeps CLIENTS connections busy, so the server has
CLIENTS + 1 threads. Requests parse a JSON body, pick one of a few dozen handlers (templating,
hashing, sorting, a lock, a short sleep standing for a database), and answer JSON.
Prints the server's pid, then runs until killed.
    python3 http_load.py [CLIENTS]
"""
import hashlib
import http.client
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 32
LOCK = threading.Lock()
CACHE = {}


def render_template(n):
    return "".join("<li>%d: %s</li>" % (i, "x" * (i % 7)) for i in range(n))


def hash_payload(data, rounds):
    h = data.encode()
    for _ in range(rounds):
        h = hashlib.sha256(h).digest()
    return h.hex()


def sort_rows(n):
    rows = [(random.random(), i) for i in range(n)]
    rows.sort()
    return rows[0][1]


def cached_lookup(key):
    with LOCK:
        if key not in CACHE:
            CACHE[key] = sum(range(key % 500))
        return CACHE[key]


def query_database(ms):
    time.sleep(ms / 1000.0)
    return ms


def make_handler(kind, depth):
    # distinct code objects, so that stacks are as varied as a real application's
    def step(n, level=0):
        if level < depth:
            return step(n, level + 1)
        if kind == 0:
            return len(render_template(20 + n % 60))
        if kind == 1:
            return hash_payload(str(n), 20 + n % 40)
        if kind == 2:
            return sort_rows(200 + n % 400)
        if kind == 3:
            return cached_lookup(n)
        return query_database(1 + n % 3)
    step.__name__ = step.__qualname__ = "handler_%d_%d" % (kind, depth)
    return step


HANDLERS = [make_handler(k, d) for k in range(5) for d in range(8)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        n = body["n"]
        result = HANDLERS[n % len(HANDLERS)](n)
        out = json.dumps({"n": n, "result": str(result)[:32]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def client(port):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n = random.randrange(1 << 20)
    try:
        while True:
            n += 1
            body = json.dumps({"n": n})
            conn.request("POST", "/", body, {"Content-Type": "application/json"})
            conn.getresponse().read()
    except OSError:
        os._exit(0)  # the server went away


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if os.fork() == 0:
        server.socket.close()
        for _ in range(CLIENTS):
            threading.Thread(target=client, args=(port,), daemon=True).start()
        while os.getppid() != 1:
            time.sleep(0.5)
        os._exit(0)
    print(os.getpid(), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
