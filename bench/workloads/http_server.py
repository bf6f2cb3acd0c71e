# A threaded HTTP server doing a little JSON and taking a lock per request (issue 12's server).
# Prints its port on stdout once it listens; serves until killed. With argv[1] "close": HTTP/1.0,
# a connection (and a thread) per request, as ThreadingHTTPServer does by default.
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"hits": 0, "paths": {}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one thread per connection
    disable_nagle_algorithm = True  # headers and body are two writes

    def do_GET(self):
        with lock:
            state["hits"] += 1
            state["paths"][self.path] = state["paths"].get(self.path, 0) + 1
            hits = state["hits"]
        body = json.dumps({"path": self.path, "hits": hits,
                           "items": [{"id": i, "name": "item-%d" % i} for i in range(10)]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if sys.argv[1:] == ["close"]:
    Handler.protocol_version = "HTTP/1.0"
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
