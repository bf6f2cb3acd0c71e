# SPDX-License-Identifier: MIT
"""Django middleware with pyinstrument's settings (spec section 2.4).

    MIDDLEWARE = [..., "pyinst_bpf.middleware.ProfilerMiddleware"]

- `?profile` on a URL (PYINSTRUMENT_URL_ARGUMENT) returns the HTML report instead of the
  response, when PYINSTRUMENT_SHOW_CALLBACK (a callable or its dotted path) allows it;
- PYINSTRUMENT_PROFILE_DIR: every request is profiled and its report written there, named by
  PYINSTRUMENT_FILENAME ("{total_time:.3f}s {path} {timestamp:.0f}.{ext}") or
  PYINSTRUMENT_FILENAME_CALLBACK(request, session, renderer), rendered by
  PYINSTRUMENT_PROFILE_DIR_RENDERER (a dotted path to a Renderer class; HTML by default);
- PYINSTRUMENT_INTERVAL: seconds between samples (0.001).
pyinst-bpf's own: PYINSTRUMENT_THREADS ("current", the request's thread, by default here).
"""
import logging
import os
import time

from django.conf import settings
from django.http import HttpResponse
from django.utils.module_loading import import_string

from .errors import ProfilerError
from .profiler import Profiler
from .renderers import HTMLRenderer, Renderer

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "{total_time:.3f}s {path} {timestamp:.0f}.{ext}"


def get_renderer(path):
    if not path:
        return HTMLRenderer()
    renderer = import_string(path)()
    if not isinstance(renderer, Renderer):
        raise ValueError("PYINSTRUMENT_PROFILE_DIR_RENDERER must name a subclass of %r"
                         % Renderer)
    return renderer


def _show_callback():
    func_or_path = getattr(settings, "PYINSTRUMENT_SHOW_CALLBACK", None)
    if isinstance(func_or_path, str):
        return import_string(func_or_path)
    if callable(func_or_path):
        return func_or_path
    return lambda request: True


class ProfilerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        argument = getattr(settings, "PYINSTRUMENT_URL_ARGUMENT", "profile")
        profile_dir = getattr(settings, "PYINSTRUMENT_PROFILE_DIR", None)
        asked = argument in request.GET and _show_callback()(request)
        if not asked and not profile_dir:
            return self.get_response(request)
        profiler = Profiler(interval=getattr(settings, "PYINSTRUMENT_INTERVAL", 0.001),
                            threads=getattr(settings, "PYINSTRUMENT_THREADS", "current"))
        try:
            profiler.start(target_description="%s %s" % (request.method,
                                                          request.get_full_path()))
        except ProfilerError as e:
            # no profile (the agent busy with this user's other requests...), but the page
            log.warning("request not profiled: %s", e)
            return self.get_response(request)
        try:
            response = self.get_response(request)
        finally:
            session = profiler.stop()
        renderer = get_renderer(getattr(settings, "PYINSTRUMENT_PROFILE_DIR_RENDERER", None))
        output = renderer.render(session)
        if profile_dir:
            self._write(request, session, renderer, output, profile_dir)
        if asked:
            if not isinstance(renderer, HTMLRenderer):
                output = HTMLRenderer().render(session)
            return HttpResponse(output)
        return response

    @staticmethod
    def _write(request, session, renderer, output, profile_dir):
        callback = getattr(settings, "PYINSTRUMENT_FILENAME_CALLBACK", None)
        if callable(callback):
            filename = callback(request, session, renderer)
            if not isinstance(filename, str):
                raise ValueError("Filename callback return value should be a string")
        else:
            filename = getattr(settings, "PYINSTRUMENT_FILENAME", DEFAULT_FILENAME).format(
                total_time=session.duration,
                path=request.get_full_path().replace("/", "_")[:100],
                timestamp=time.time(),
                ext=renderer.output_file_extension)
        os.makedirs(profile_dir, exist_ok=True)
        mode = "w" if not renderer.output_is_binary else "wb"
        with open(os.path.join(profile_dir, filename), mode,
                  **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            f.write(output if mode == "w" else output.encode("utf-8", "surrogateescape"))
