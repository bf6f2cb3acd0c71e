# SPDX-License-Identifier: MIT
"""The quick start's demo: a small service handling requests, in about three seconds.

Each request parses JSON, renders a report (CPU), queries a slow "database" (a sleep standing
for I/O) and hashes its answer; a thread pool compresses logs with the GIL released.
"""
import hashlib
import json
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor


class Database:
    def query(self, sql):
        time.sleep(0.004)  # the network round trip
        return [{"id": i, "name": "item-%d" % i, "price": i * 1.5} for i in range(200)]


def parse_request(raw):
    return json.loads(raw)


def render_report(rows):
    lines = []
    for row in rows:
        lines.append("%(id)5d  %(name)-12s %(price)10.2f" % row)
    total = sum(fib(18) for _ in range(3))
    return "\n".join(lines) + "\ntotal %d" % total


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sign(text):
    digest = text.encode()
    for _ in range(200):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def handle(db, raw):
    request = parse_request(raw)
    rows = db.query("SELECT * FROM items WHERE kind = '%s'" % request["kind"])
    body = render_report(rows)
    return sign(body)


def compress_logs(stop):
    data = b"GET /items?kind=book 200 0.004s\n" * 200000
    while not stop.is_set():
        zlib.compress(data, 9)


def main():
    db = Database()
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(compress_logs, stop)
        end = time.time() + 3.0
        while time.time() < end:
            handle(db, '{"kind": "book", "page": 1}')
        stop.set()


if __name__ == "__main__":
    main()
