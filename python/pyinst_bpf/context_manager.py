# SPDX-License-Identifier: MIT
"""profile(): pyinstrument's decorator and context manager, printing to stderr on exit."""
import functools
import inspect
import sys

from .profiler import Profiler, _file_supports_color, _file_supports_unicode
from .renderers import ConsoleRenderer

_DEFAULTS = dict(interval=0.001, async_mode="disabled", use_timing_thread=None, renderer=None,
                 target_description=None, threads="all", mode="wall")


class ProfileContext:
    """`with profile():`, `@profile`, `@profile(**options)`. Options: interval,
    async_mode ("disabled" by default, as pyinstrument's), use_timing_thread, renderer,
    target_description, and pyinst-bpf's threads and mode."""

    def __init__(self, **options):
        unknown = set(options) - set(_DEFAULTS)
        if unknown:
            raise TypeError("unknown option(s) for profile(): %s" % ", ".join(sorted(unknown)))
        self.options = dict(_DEFAULTS, **options)
        self.profiler = None

    def __call__(self, func=None, **options):
        if func is None:
            return ProfileContext(**dict(self.options, **options))
        if not callable(func):
            raise TypeError("profile() takes a function or keyword options")
        code = func.__code__ if hasattr(func, "__code__") else None
        description = self.options["target_description"] or (
            "Function %s at %s:%d" % (func.__qualname__, code.co_filename, code.co_firstlineno)
            if code else "Function %s" % getattr(func, "__qualname__", func))
        context_options = dict(self.options, target_description=description)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with ProfileContext(**context_options):
                return func(*args, **kwargs)

        return wrapper

    def __enter__(self):
        if self.profiler is not None:
            raise ValueError("This profiler is already running - did you forget the brackets "
                             "on pyinstrument.profile() ?")
        o = self.options
        caller = inspect.currentframe().f_back
        self.profiler = Profiler(interval=o["interval"], async_mode=o["async_mode"],
                                 use_timing_thread=o["use_timing_thread"],
                                 threads=o["threads"], mode=o["mode"])
        description = o["target_description"] or "Block at %s:%d" % (
            caller.f_code.co_filename, caller.f_lineno)
        self.profiler.start(caller_frame=caller, target_description=description)

    def __exit__(self, *exc_info):
        profiler, self.profiler = self.profiler, None
        session = profiler.stop()
        renderer = self.options["renderer"] or ConsoleRenderer(
            color=_file_supports_color(sys.stderr), unicode=_file_supports_unicode(sys.stderr),
            short_mode=True)
        print(renderer.render(session), file=sys.stderr)


profile = ProfileContext()
