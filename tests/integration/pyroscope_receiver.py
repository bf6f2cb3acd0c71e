#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for Grafana Pyroscope's HTTP ingest endpoint, on 127.0.0.1 only.

It follows the documented contract of POST /ingest (Pyroscope v1 server API, the "ingest"
endpoint that Grafana Alloy's pyroscope.receive_http also serves): query parameters name
(required, "app{key=value,...}"), from and until (required, UNIX seconds), format (pprof here),
sampleRate (Hz), spyName; the pprof in a multipart/form-data field named "profile"; the tenant
in X-Scope-OrgID; authentication, where a proxy asks for it, as HTTP basic or bearer.

Every request it accepts is stored as N.pb.gz (the profile) and N.json (query, headers) in the
output directory before the 200 goes out. Requests that break the contract get a 400 and are
recorded in rejected.log, which the tests expect to stay empty.

Behaviours for the failure tests: --status CODE answers every request with CODE; --fail-first N
answers the first N with 500; --delay S waits S seconds before answering; --tls CERT KEY serves
https.
"""
import argparse
import email.parser
import email.policy
import gzip
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME_RE = re.compile(r"^[^{}]+(\{([A-Za-z_][A-Za-z0-9_]*=[^,{}=]*)(,[A-Za-z_][A-Za-z0-9_]*=[^,{}=]*)*\})?$")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        # a restarted receiver goes on numbering after what it stored before
        self.count = len([f for f in os.listdir(args.out) if f.endswith(".json")])
        self.requests = 0


def contract_problem(handler, query, body):
    """Why a request breaks the ingest contract, or None."""
    for key in ("name", "from", "until"):
        if len(query.get(key, [])) != 1:
            return f"{key} missing or repeated"
    if not NAME_RE.match(query["name"][0]):
        return f"bad name {query['name'][0]!r}"
    for key in ("from", "until"):
        if not query[key][0].isdigit():
            return f"{key} is not UNIX seconds"
    if int(query["from"][0]) > int(query["until"][0]):
        return "from after until"
    if query.get("format", [""])[0] != "pprof":
        return "format is not pprof"
    if "sampleRate" in query and not query["sampleRate"][0].isdigit():
        return "sampleRate is not a number of Hz"
    ctype = handler.headers.get("Content-Type", "")
    if not ctype.startswith("multipart/form-data"):
        return f"content type {ctype!r}"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    profile = None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == "profile":
            profile = part.get_payload(decode=True)
    if profile is None:
        return "no multipart field named profile"
    try:
        gzip.decompress(profile)
    except OSError:
        return "profile is not gzipped"
    return profile


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, text=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with st.lock:
            st.requests += 1
            n_request = st.requests
        if st.args.delay:
            time.sleep(st.args.delay)
        url = urlsplit(self.path)
        if url.path != "/ingest":
            return self.answer(404, b"404 page not found\n")
        if st.args.status:
            return self.answer(st.args.status, b"refused by the test receiver\n")
        if n_request <= st.args.fail_first:
            return self.answer(500, b"internal error (test)\n")
        query = parse_qs(url.query, keep_blank_values=True)
        profile = contract_problem(self, query, body)
        if isinstance(profile, str):
            with open(os.path.join(st.args.out, "rejected.log"), "a") as f:
                f.write(profile + "\n")
            return self.answer(400, profile.encode() + b"\n")
        with st.lock:
            st.count += 1
            n = st.count
        base = os.path.join(st.args.out, f"{n:06d}")
        meta = {
            "query": {k: v[0] for k, v in query.items()},
            "tenant": self.headers.get("X-Scope-OrgID"),
            "authorization": self.headers.get("Authorization"),
            "user_agent": self.headers.get("User-Agent"),
        }
        with open(base + ".pb.gz.tmp", "wb") as f:
            f.write(profile)
        os.rename(base + ".pb.gz.tmp", base + ".pb.gz")
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        self.answer(200)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve https")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    if args.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*args.tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
