# SPDX-License-Identifier: MIT
"""ASGI middleware (Starlette, FastAPI, any ASGI app): pyinstrument's Django behaviour.

    app.add_middleware(pyinst_bpf.asgi.ProfilerMiddleware)          # Starlette / FastAPI
    app = pyinst_bpf.asgi.ProfilerMiddleware(app, profile_dir="profiles")

An HTTP request with `?profile` in its query string gets the HTML report of its handling
instead of the response; with profile_dir, every request's report is written there (the
response goes out as usual). The whole process is sampled (threads="all"), because sync
endpoints run in a thread pool. Starting and stopping the sampler (about 0.1 s) happen on a
helper thread of the middleware, so the event loop keeps serving meanwhile.
"""
import asyncio
import concurrent.futures
import logging
import os
import time
from urllib.parse import parse_qs

from .errors import ProfilerError
from .profiler import Profiler
from .renderers import HTMLRenderer

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "{total_time:.3f}s {path} {timestamp:.0f}.{ext}"


class ProfilerMiddleware:
    def __init__(self, app, *, url_argument="profile", profile_dir=None, interval=0.001,
                 renderer=None, filename=DEFAULT_FILENAME, threads="all", show_callback=None):
        self.app = app
        self.url_argument = url_argument
        self.profile_dir = profile_dir
        self.interval = interval
        self.renderer = renderer or HTMLRenderer()
        self.filename = filename
        self.threads = threads
        self.show_callback = show_callback
        # start() and stop() of one Profiler must run on one thread: this one
        self._control = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pyinst-bpf-asgi")

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"),
                         keep_blank_values=True)
        asked = self.url_argument in query and (self.show_callback is None
                                                or self.show_callback(scope))
        if not asked and not self.profile_dir:
            await self.app(scope, receive, send)
            return
        held = []

        async def hold(message):
            held.append(message)

        path = scope.get("path", "") + ("?" + scope["query_string"].decode("latin-1")
                                         if scope.get("query_string") else "")
        profiler = Profiler(interval=self.interval, async_mode="disabled",
                            threads=self.threads)
        loop = asyncio.get_running_loop()
        description = "%s %s" % (scope.get("method", "GET"), path)
        try:
            await loop.run_in_executor(self._control, lambda: profiler.start(
                caller_frame=None, target_description=description))
        except ProfilerError as e:
            # no profile (the agent busy with this user's other requests...), but the response
            log.warning("request not profiled: %s", e)
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, hold if asked else send)
        finally:
            session = await loop.run_in_executor(self._control, profiler.stop)
        output = await loop.run_in_executor(None, self.renderer.render, session)
        if self.profile_dir:
            self._write(session, path, output)
        if asked:
            if not isinstance(self.renderer, HTMLRenderer):
                output = await loop.run_in_executor(None, HTMLRenderer().render, session)
            body = output.encode("utf-8")
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    def _write(self, session, path, output):
        name = self.filename.format(total_time=session.duration,
                                    path=path.replace("/", "_")[:100], timestamp=time.time(),
                                    ext=self.renderer.output_file_extension)
        os.makedirs(self.profile_dir, exist_ok=True)
        binary = self.renderer.output_is_binary
        with open(os.path.join(self.profile_dir, name), "wb" if binary else "w",
                  **({} if binary else {"encoding": "utf-8"})) as f:
            f.write(output.encode("utf-8", "surrogateescape") if binary else output)
