# SPDX-License-Identifier: MIT
"""Profiler: pyinstrument 5.1's Profiler, with the sampling done by pyinst-bpf from outside."""
import contextvars
import inspect
import json
import os
import sys
import tempfile
import threading
import time

from . import _backend, renderers
from .session import Session

ASYNC_MODES = ("enabled", "disabled", "strict")
THREADS = ("all", "current")
MODES = ("wall", "cpu")

# Samples taken while the thread was inside these files are the profiler's own work (waiting
# for the sampler to attach, or for it to write the session): left out, as pyinstrument's
# hook never sees itself.
_OWN_FILES = tuple(os.sep + os.path.join("pyinst_bpf", name)
                   for name in ("profiler.py", "_backend.py"))

# pyinstrument allows one async-aware profiler per thread or async context (a context
# variable, inherited by the tasks created meanwhile); the same rule, the same message.
_active_profiler = contextvars.ContextVar("pyinst_bpf_active_profiler", default=None)


def _frame_file(info):
    parts = info.split("\x00", 2)
    return parts[1] if len(parts) > 1 else ""


def _is_own(stack):
    return any(_frame_file(info).endswith(_OWN_FILES) for info in stack)


def _own_call(stack):
    """"start" or "stop" when the stack is inside that call of the profiler, else None."""
    for info in stack:
        if _frame_file(info).endswith(_OWN_FILES[0]):
            name = info.split("\x00", 1)[0]
            if name in ("start", "stop"):
                return name
    return None


def _has_code(stack):
    """Has a real frame (a file), not just the thread root and a wait."""
    return any(_frame_file(info) not in ("", "<thread>", "<wait>", "<idle>") for info in stack)


def _window(records, own):
    """The indexes [begin, end) of the records taken between start() returning and stop()
    being called, told by the starting thread's own timeline (records come in time order):
    before, it waited in start() for the sampler to attach (seen in start(), or with no frames
    at all when it has not run since the attach); after, it is in stop(). The sampler runs a
    little before and after: pyinstrument's session starts when start() returns."""
    begin, end = 0, len(records)
    for i, (stack, _) in enumerate(records):
        if not stack or _thread_ident(stack[0]) != own:
            continue
        call = _own_call(stack)
        if call == "start" or not _has_code(stack):
            begin = i + 1
        else:
            break
    for i in range(begin, len(records)):
        stack = records[i][0]
        if stack and _thread_ident(stack[0]) == own and _own_call(stack) == "stop":
            end = i
            break
    # bare waits of the starting thread right before that are its way into stop() (read while
    # it waited for a CPU, before its stack in there was walked)
    for i in range(end - 1, begin - 1, -1):
        stack = records[i][0]
        if stack and _thread_ident(stack[0]) == own:
            if _has_code(stack):
                break
            end = i
    return begin, end


def _thread_ident(info):
    parts = info.split("\x01", 1)[0].split("\x00")
    if len(parts) == 3 and parts[1] == "<thread>":
        return parts[2]
    return None


def _call_stack(frame):
    """frame_info strings of frame and its callers, root first, as the sampler writes them."""
    stack = []
    while frame is not None:
        code = frame.f_code
        stack.append("%s\x00%s\x00%d\x01l%d" % (code.co_name, code.co_filename,
                                                code.co_firstlineno, frame.f_lineno or 0))
        frame = frame.f_back
    stack.reverse()
    return stack


class _Active:
    def __init__(self, sampler, out, caller_stack, description, interval):
        self.sampler = sampler
        self.out = out
        self.caller_stack = caller_stack
        self.description = description
        self.interval = interval
        self.thread = threading.get_ident()
        self.thread_name = threading.current_thread().name
        self.start_time = time.time()
        self.start_process_time = time.process_time()


class Profiler:
    """Profiles this process between start() and stop(); the report is pyinstrument's.

    Unlike pyinstrument, which samples the thread that called start(), pyinst-bpf samples
    every thread of the process by default (threads="all"), each under its own root, in wall
    time with the reason of every wait; threads="current" keeps only the starting thread.
    mode="cpu" keeps only time on a CPU.
    """

    def __init__(self, interval=0.001, async_mode="enabled", use_timing_thread=None, *,
                 threads="all", mode="wall"):
        self._interval = float(interval)
        if not 0.00001 <= self._interval <= 10:
            raise ValueError("interval must be between 0.00001 and 10 seconds")
        self.async_mode = async_mode
        if threads not in THREADS:
            raise ValueError("threads must be 'all' or 'current', not %r" % (threads,))
        if mode not in MODES:
            raise ValueError("mode must be 'wall' or 'cpu', not %r" % (mode,))
        self.threads = threads
        self.mode = mode
        # accepted for compatibility: the kernel's timer does the timing, not a thread
        self.use_timing_thread = use_timing_thread
        self._last_session = None
        self._active = None

    @property
    def interval(self):
        """Seconds between samples (each CPU's timer fires at this interval)."""
        return self._interval

    @property
    def async_mode(self):
        return self._async_mode

    @async_mode.setter
    def async_mode(self, value):
        if value not in ASYNC_MODES:
            raise ValueError("Invalid async_mode %r, must be one of %s"
                             % (value, ", ".join(ASYNC_MODES)))
        self._async_mode = value

    @property
    def last_session(self):
        return self._last_session

    @property
    def is_running(self):
        return self._active is not None

    def start(self, caller_frame=None, target_description=None):
        if self._active is not None:
            raise ValueError("Profiler is already running.")
        if caller_frame is None:
            caller_frame = inspect.currentframe().f_back
        if target_description is None:
            if caller_frame is None:
                target_description = "Profile at unknown location"
            else:
                target_description = "Profile at %s:%d" % (caller_frame.f_code.co_filename,
                                                          caller_frame.f_lineno)
        self._claim_async()
        try:
            # "strict" keeps the loop's idle time with its sole task as "enabled" does: the
            # sampler sees every thread, it has no [out-of-context] (docs/python-api.md)
            sampler, out = _backend.start_sampling(
                self._interval, self.mode,
                async_mode="disabled" if self._async_mode == "disabled" else "enabled")
        except BaseException:
            self._release_async()
            raise
        self._active = _Active(sampler, out, _call_stack(caller_frame), target_description,
                               self._interval)

    def _claim_async(self):
        self._async_token = None
        if self._async_mode == "disabled":
            return
        owner = _active_profiler.get()
        if owner is not None and owner is not self and owner.is_running:
            raise RuntimeError(
                "There is already a profiler running. You cannot run multiple profilers "
                "in the same thread or async context, unless you disable async support.")
        self._async_token = _active_profiler.set(self)

    def _release_async(self):
        token, self._async_token = getattr(self, "_async_token", None), None
        if token is None:
            return
        try:
            _active_profiler.reset(token)
        except ValueError:  # stopped from another context: leave that one's value alone
            pass

    def stop(self):
        active = self._active
        if active is None:
            raise RuntimeError("This profiler is not currently running.")
        if threading.get_ident() != active.thread:
            raise RuntimeError("Failed to stop profiling. Make sure that you start/stop "
                               "profiling on the same thread.")
        stop_time = time.time()
        cpu_time = time.process_time() - active.start_process_time
        self._active = None
        self._release_async()
        try:
            active.sampler.stop()
            active.out.seek(0)
            raw = json.load(active.out)
        finally:
            active.out.close()
        session = self._session(raw, active, stop_time, cpu_time)
        if self._last_session is not None:
            session = Session.combine(self._last_session, session)
        self._last_session = session
        return session

    def _session(self, raw, active, stop_time, cpu_time):
        records = raw.get("frame_records", [])
        total = sum(w for _, w in records) or 1.0
        own = str(active.thread)
        begin, end = _window(records, own)
        kept = [(stack, w) for stack, w in records[begin:end]
                if stack and not _is_own(stack)
                and (self.threads == "all" or _thread_ident(stack[0]) == own)]
        thread_root = next((stack[0] for stack, _ in kept if _thread_ident(stack[0]) == own),
                           "%s\x00<thread>\x00%s" % (active.thread_name, own))
        # the binary counts samples; records merge runs of equal stacks: scale its count
        kept_weight = sum(w for _, w in kept)
        samples = int(round(raw.get("sample_count", len(records)) * kept_weight / total))
        return Session(
            frame_records=kept,
            start_time=active.start_time,
            duration=stop_time - active.start_time,
            min_interval=active.interval,
            max_interval=active.interval,
            sample_count=max(samples, len(kept)),
            start_call_stack=[thread_root] + active.caller_stack,
            target_description=active.description,
            cpu_time=cpu_time,
            sys_path=list(sys.path),
            sys_prefixes=[sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix],
        )

    def reset(self):
        if self.is_running:
            self.stop()
        self._last_session = None

    def __enter__(self):
        self.start(caller_frame=inspect.currentframe().f_back)
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _get_last_session_or_fail(self):
        if self.is_running:
            raise Exception("can't render profile output because this profiler is still running")
        if self._last_session is None:
            raise Exception("can't render profile output because this profiler has not "
                            "completed a profile session yet")
        return self._last_session

    def print(self, file=sys.stdout, *, unicode=None, color=None, show_all=False,
              timeline=False, time="seconds", flat=False, flat_time="self", short_mode=False,
              processor_options=None):
        if unicode is None:
            unicode = _file_supports_unicode(file)
        if color is None:
            color = _file_supports_color(file)
        print(self.output_text(unicode=unicode, color=color, show_all=show_all,
                               timeline=timeline, time=time, flat=flat, flat_time=flat_time,
                               short_mode=short_mode, processor_options=processor_options),
              file=file)

    def output_text(self, unicode=False, color=False, show_all=False, timeline=False,
                    time="seconds", flat=False, flat_time="self", short_mode=False,
                    processor_options=None):
        return self.output(renderers.ConsoleRenderer(
            unicode=unicode, color=color, show_all=show_all, timeline=timeline, time=time,
            flat=flat, flat_time=flat_time, short_mode=short_mode,
            processor_options=processor_options))

    def output_html(self, resample_interval=None):
        return self.output(renderers.HTMLRenderer(resample_interval=resample_interval))

    def write_html(self, path, timeline=False, show_all=False, resample_interval=None):
        """timeline and show_all are ignored, as in pyinstrument: the HTML has both views."""
        html = self.output_html(resample_interval=resample_interval)
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(html)

    def open_in_browser(self, timeline=False, resample_interval=None):
        import webbrowser
        html = self.output_html(resample_interval=resample_interval)
        fd, path = tempfile.mkstemp(suffix=".html")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        webbrowser.open("file://" + path)
        return path

    def output(self, renderer):
        return renderer.render(self._get_last_session_or_fail())


def _file_supports_unicode(file):
    encoding = getattr(file, "encoding", None)
    return bool(encoding) and "utf" in encoding.lower()


def _file_supports_color(file):
    try:
        return file.isatty() and sys.platform != "win32"
    except (AttributeError, ValueError):
        return False
