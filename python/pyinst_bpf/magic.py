# SPDX-License-Identifier: MIT
"""%pyinstrument and %%pyinstrument for IPython, as pyinstrument's magic (spec section 2.3).

One display() with text/html (an iframe whose srcdoc is the HTML report) and text/plain (the
console tree, ASCII and without color, as pyinstrument's magic prints it). Frames of IPython,
ipykernel and traitlets are deleted from the profile, so the cell's code is at the top.
"""
import html as _html
import inspect
import os

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from . import _backend
from .profiler import Profiler, _call_stack
from .session import Session

_IPYTHON_PARTS = tuple(os.sep + p + os.sep for p in ("IPython", "ipykernel", "traitlets"))
_THIS_FILE = os.sep + os.path.join("pyinst_bpf", "magic.py")


def _is_ipython_frame(info):
    parts = info.split("\x00", 2)
    path = parts[1] if len(parts) > 1 else ""
    return (any(p in path for p in _IPYTHON_PARTS) or path.endswith(_THIS_FILE)
            or os.path.basename(path).startswith("ipykernel_launcher"))


def _ident(info):
    return info.split("\x01", 1)[0]


def _drop_prefix(stack, prefix):
    """stack without the frames, after its thread root, that called the magic."""
    i = 1
    for ident in prefix:
        if i >= len(stack) or _ident(stack[i]) != ident:
            break
        i += 1
    return stack[:1] + stack[i:]


def strip_ipython_frames(session, magic_stack=()):
    """A copy of session without the frames of IPython's own machinery, nor those that called
    the magic (magic_stack, root first), so the cell's code is right under its thread."""
    prefix = [_ident(info) for info in magic_stack]
    records = []
    for stack, weight in session.frame_records:
        kept = [info for info in _drop_prefix(stack, prefix) if not _is_ipython_frame(info)]
        if len(kept) > 1:  # a thread root alone was IPython's time, not the cell's
            records.append((kept, weight))
    data = session.to_json()
    data["frame_records"] = records
    # the stem is trimmed down to the cell when every record of its thread goes through it
    seconds = {_ident(s[1]) for s, _ in records if len(s) > 1 and s[0] == records[0][0][0]}
    if len(seconds) == 1:
        first = next(s for s, _ in records if len(s) > 1 and s[0] == records[0][0][0])
        data["start_call_stack"] = first[:2]
    return Session.from_json(data)


def _iframe(report, height):
    return ('<iframe srcdoc="%s" width="100%%" height="%s" frameborder="0" '
            'style="resize: vertical"></iframe>' % (_html.escape(report, quote=True),
                                                    _html.escape(str(height), quote=True)))


@magics_class
class PyinstrumentMagic(Magics):
    @magic_arguments()
    @argument("-p", "--render-option", dest="render_options", action="append", default=[],
              metavar="RENDER_OPTION", help="a renderer option, KEY=VALUE, as the CLI's -p")
    @argument("--show-regex", default=None, help="always show frames whose path matches")
    @argument("--show", default=None, help="the same with a glob")
    @argument("--interval", type=float, default=0.001,
              help="seconds between samples (default 0.001)")
    @argument("--show-all", action="store_true", help="show every frame")
    @argument("--async_mode", default="disabled", help="accepted; see docs/python-api.md")
    @argument("--height", "-h", default=400, help="the output iframe's height")
    @argument("--timeline", type=bool, default=False, help="the timeline view")
    @argument("--hide", default=None, help="hide library frames whose path matches this glob")
    @argument("--hide-regex", default=None, help="the same with a regular expression")
    @argument("--all-threads", action="store_true",
              help="pyinst-bpf: every thread of the kernel process (default: the cell's)")
    @argument("--mode", default="wall", help="pyinst-bpf: wall (default) or cpu")
    @argument("code", type=str, nargs="*", help="as a line magic, the code to profile")
    @line_cell_magic
    def pyinstrument(self, line, cell=None):
        """Runs the line or cell under pyinst-bpf and shows pyinstrument's report."""
        args = parse_argstring(self.pyinstrument, line)
        code = cell if cell is not None else " ".join(args.code)
        if not code.strip():
            return
        ip = self.shell
        number = ip.execution_count
        description = "Cell [%d]" % number if cell is not None else "Line in cell [%d]" % number
        profiler = Profiler(interval=args.interval, async_mode=args.async_mode,
                            threads="all" if args.all_threads else "current", mode=args.mode)
        magic_stack = _call_stack(inspect.currentframe())
        profiler.start(target_description=description)
        try:
            ip.run_cell(code)
        finally:
            session = profiler.stop()
        session = strip_ipython_frames(session, magic_stack)
        text_options = self._text_options(args)
        report = _backend.render(session.to_json(), "html",
                                 self._processor_options(args)).decode("utf-8")
        text = _backend.render(session.to_json(), "text", text_options,
                               ["--no-unicode", "--no-color"]).decode("utf-8")
        display({"text/html": _iframe(report, args.height), "text/plain": text}, raw=True)

    @staticmethod
    def _processor_options(args):
        opts = []
        if args.show_all:
            opts.append(("processor_options.show_regex", ".*"))
        for key, value in (("hide_regex", args.hide_regex), ("show_regex", args.show_regex)):
            if value is not None:
                opts.append(("processor_options." + key, value))
        for key, glob in (("hide_regex", args.hide), ("show_regex", args.show)):
            if glob is not None:
                import fnmatch
                opts.append(("processor_options." + key, fnmatch.translate(glob)))
        return opts

    @staticmethod
    def _text_options(args):
        # as pyinstrument's magic: hide/show regexes do not reach the text output
        opts = []
        if args.show_all:
            opts.append(("show_all", True))
        if args.timeline:
            opts.append(("timeline", True))
        for kv in args.render_options:
            key, eq, value = kv.partition("=")
            if not eq:
                opts.append((key, True))
                continue
            try:
                import json
                opts.append((key, json.loads(value)))
            except ValueError:
                opts.append((key, value))
        return opts


__all__ = ["PyinstrumentMagic", "strip_ipython_frames"]
