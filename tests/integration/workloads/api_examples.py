# pyinstrument's documented API examples (pyinstrument.md section 2), run with
# `import pyinst_bpf as pyinstrument`, each checked. Prints "examples ok" at the end.
import io
import json
import os
import sys
import threading
import time

import pyinst_bpf as pyinstrument
from pyinst_bpf import Profiler, Session
from pyinst_bpf.renderers import (ConsoleRenderer, HTMLRenderer, JSONRenderer, PstatsRenderer,
                                  SessionRenderer, SpeedscopeRenderer)

OUT = sys.argv[1]


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def code_you_want_to_profile():
    spin(0.15)


def expect(cond, what):
    if not cond:
        raise SystemExit("example failed: " + what)


# 2.1: start / stop / print
profiler = Profiler()
profiler.start()
code_you_want_to_profile()
profiler.stop()
buf = io.StringIO()
profiler.print(file=buf)
text = buf.getvalue()
expect("code_you_want_to_profile" in text, "print() shows the function:\n" + text)
expect("Profile at %s" % os.path.abspath(__file__) in text or "Profile at " in text,
       "the default description")
expect(profiler.last_session.target_description.startswith("Profile at "), "description")
first_duration = profiler.last_session.duration

# output_text with options, output_html, write_html, output(renderer)
expect("code_you_want_to_profile" in profiler.output_text(unicode=True, color=True),
       "output_text")
expect("\x1b[" in profiler.output_text(color=True), "color output has escapes")
expect("%" in profiler.output_text(time="percent_of_total"), "percent_of_total")
expect("spin" in profiler.output_text(flat=True), "flat")
html = profiler.output_html()
expect(html.lstrip().lower().startswith("<!doctype html"), "output_html is a page")
profiler.write_html(os.path.join(OUT, "example.html"))
expect(os.path.getsize(os.path.join(OUT, "example.html")) > 1000, "write_html")
os.environ["BROWSER"] = "true"  # webbrowser runs `true FILE`: nothing opens
opened = profiler.open_in_browser()
expect(os.path.exists(opened), "open_in_browser wrote %s" % opened)
os.unlink(opened)
for r in (ConsoleRenderer(), HTMLRenderer(), JSONRenderer(), SpeedscopeRenderer(),
          SessionRenderer()):
    out = profiler.output(r)
    expect(isinstance(out, str) and out, "output(%s)" % type(r).__name__)
json.loads(profiler.output(JSONRenderer()))
json.loads(profiler.output(SpeedscopeRenderer()))
expect(isinstance(profiler.output(PstatsRenderer()), str), "pstats as str")

# a restarted profiler combines its sessions
profiler.start()
code_you_want_to_profile()
session = profiler.stop()
expect(session.duration > first_duration, "restart combines: durations summed")
expect(len(session.frame_records) > 0 and session is profiler.last_session, "last_session")

# errors as pyinstrument raises them
profiler.start()
try:
    profiler.start()
    expect(False, "a second start() raises")
except ValueError as e:
    expect("already running" in str(e), str(e))
try:
    profiler.output_text()
    expect(False, "output while running raises")
except Exception as e:
    expect("still running" in str(e), str(e))
profiler.stop()
profiler.reset()
expect(profiler.last_session is None and not profiler.is_running, "reset")

# context manager
with Profiler(interval=0.0005) as p:
    code_you_want_to_profile()
expect("code_you_want_to_profile" in p.output_text(), "with Profiler()")
root = p.last_session.root_frame()
found, todo = [], [root]
while todo:
    f = todo.pop()
    found.append(f.function)
    todo.extend(f.children)
expect(root.function == "<module>" and "code_you_want_to_profile" in found,
       "root_frame(): %r, %s; records %s" % (root, sorted(set(found)), [
           ([i.split("\x00")[0] for i in stack], round(w, 4))
           for stack, w in p.last_session.frame_records]))
expect(p.last_session.min_interval == 0.0005, "interval kept")
# nothing of the profiler's own waiting (for the sampler to attach, for its session): every
# record of this thread is the user's code under the with block, as pyinstrument shows it
main_ident = str(threading.get_ident())
outside = [[i.split("\x00")[0] for i in stack] for stack, _ in p.last_session.frame_records
           if stack[0].split("\x01")[0].endswith("\x00" + main_ident)
           and not any(i.startswith("<module>\x00") for i in stack)]
expect(not outside, "records outside start()..stop(): %s" % outside[:3])

# async_mode as pyinstrument: one async-aware profiler per thread
with Profiler(async_mode="enabled"):
    try:
        Profiler(async_mode="enabled").start()
        expect(False, "a second async profiler on the thread raises")
    except RuntimeError as e:
        expect("already a profiler running" in str(e), str(e))

# ... but one per async context: two requests profiled at once on one event loop are fine
import asyncio  # noqa: E402


async def profiled_request():
    p = Profiler()
    p.start()
    await asyncio.sleep(0.05)
    p.stop()
    return p.last_session


async def two_requests():
    return await asyncio.gather(profiled_request(), profiled_request())


sessions = asyncio.get_event_loop().run_until_complete(two_requests())
expect(all(s.duration >= 0.05 for s in sessions), "two profiled tasks at once")

# pyinst-bpf: every thread by default, the starting thread only with threads="current"

stop = threading.Event()


def background():
    while not stop.is_set():
        spin(0.005)


t = threading.Thread(target=background)
t.start()
try:
    for threads, want in (("all", 2), ("current", 1)):
        with Profiler(threads=threads) as p:
            code_you_want_to_profile()
        roots = {stack[0] for stack, _ in p.last_session.frame_records}
        expect(len(roots) == want, "threads=%s: %d thread roots, want %d: %s"
               % (threads, len(roots), want, roots))
finally:
    stop.set()
    t.join()

# 2.2 profile(): decorator (with and without brackets) and context manager, to stderr
stderr, sys.stderr = sys.stderr, io.StringIO()
try:
    @pyinstrument.profile
    def decorated():
        code_you_want_to_profile()

    @pyinstrument.profile(interval=0.002)
    def decorated_options():
        code_you_want_to_profile()

    decorated()
    decorated_options()
    with pyinstrument.profile():
        code_you_want_to_profile()
    printed = sys.stderr.getvalue()
finally:
    sys.stderr = stderr
expect(printed.count("code_you_want_to_profile") >= 3, "profile() printed 3 reports:\n"
       + printed)
expect("Function decorated at " in printed, "decorator description")
expect("Block at " in printed, "block description")

# Session: save, load, combine, to_json / from_json
path = os.path.join(OUT, "example.pyisession")
session.save(path)
loaded = Session.load(path)
expect(json.dumps(loaded.to_json()) == json.dumps(session.to_json()), "save/load round trip")
again = Session.from_json(session.to_json())
combined = Session.combine(loaded, again)
expect(combined.sample_count == 2 * session.sample_count, "combine sums samples")
expect(len(combined.frame_records) == 2 * len(session.frame_records), "combine concatenates")
expect("code_you_want_to_profile" in ConsoleRenderer().render(combined), "render combined")
print("examples ok")
