# SPDX-License-Identifier: MIT
"""pyinstrument's renderers by name; the output comes from pyinst-bpf's C renderers.

Each renderer's render(session) writes the session to a temporary .pyisession and runs
`pyinst-bpf --load FILE -r NAME`, so the text, HTML and other formats are exactly the CLI's.
"""
from . import _backend


class Renderer:
    output_file_extension = "txt"
    output_is_binary = False
    _name = None

    def __init__(self, show_all=False, timeline=False, processor_options=None):
        self.show_all = show_all
        self.timeline = timeline
        self.processor_options = dict(processor_options or {})

    def _options(self):
        opts = []
        if self.show_all:
            opts.append(("show_all", True))
        if self.timeline:
            opts.append(("timeline", True))
        if self.processor_options:
            opts.append(("processor_options", self.processor_options))
        return opts

    def _flags(self):
        return []

    def render_bytes(self, session):
        return _backend.render(session.to_json(), self._name, self._options(), self._flags())

    def render(self, session):
        out = self.render_bytes(session)
        if self.output_is_binary:
            return out.decode("utf-8", "surrogateescape")
        return out.decode("utf-8")


class FrameRenderer(Renderer):
    pass


class ConsoleRenderer(FrameRenderer):
    """The text tree (pyinstrument's ConsoleRenderer)."""

    output_file_extension = "txt"
    _name = "text"

    def __init__(self, show_all=False, timeline=False, processor_options=None, unicode=False,
                 color=False, flat=False, time="seconds", flat_time="self", short_mode=False):
        super().__init__(show_all, timeline, processor_options)
        if time not in ("seconds", "percent_of_total"):
            raise ValueError("time must be 'seconds' or 'percent_of_total', not %r" % (time,))
        if flat_time not in ("self", "total"):
            raise ValueError("flat_time must be 'self' or 'total', not %r" % (flat_time,))
        self.unicode = unicode
        self.color = color
        self.flat = flat
        self.time = time
        self.flat_time = flat_time
        self.short_mode = short_mode

    def _options(self):
        opts = super()._options()
        if self.flat:
            opts.append(("flat", True))
            opts.append(("flat_time", self.flat_time))
        if self.time != "seconds":
            opts.append(("time", self.time))
        if self.short_mode:
            opts.append(("short_mode", True))
        return opts

    def _flags(self):
        return ["--unicode" if self.unicode else "--no-unicode",
                "--color" if self.color else "--no-color"]


class HTMLRenderer(FrameRenderer):
    """The self-contained HTML report."""

    output_file_extension = "html"
    _name = "html"

    def __init__(self, show_all=False, timeline=False, processor_options=None,
                 resample_interval=None):
        super().__init__(show_all, timeline, processor_options)
        # pyinst-bpf's HTML merges runs itself past 2M samples; resampling is not needed
        self.resample_interval = resample_interval

    def _options(self):
        return []  # as pyinstrument: show_all and timeline mean nothing to the HTML


class JSONRenderer(FrameRenderer):
    output_file_extension = "json"
    _name = "json"


class SpeedscopeRenderer(FrameRenderer):
    output_file_extension = "speedscope.json"
    _name = "speedscope"


class PstatsRenderer(FrameRenderer):
    output_file_extension = "pstats"
    output_is_binary = True
    _name = "pstats"


class SessionRenderer(Renderer):
    output_file_extension = "pyisession"
    _name = "session"

    def __init__(self, tree_format=False):
        super().__init__()

    def render(self, session):
        import json
        return json.dumps(session.to_json())


class FoldedRenderer(FrameRenderer):
    """pyinst-bpf only: folded stacks for flamegraph.pl."""

    output_file_extension = "folded"
    _name = "folded"


class PprofRenderer(FrameRenderer):
    """pyinst-bpf only: pprof protobuf, gzipped."""

    output_file_extension = "pb.gz"
    output_is_binary = True
    _name = "pprof"


BY_NAME = {
    "text": ConsoleRenderer, "html": HTMLRenderer, "json": JSONRenderer,
    "speedscope": SpeedscopeRenderer, "pstats": PstatsRenderer, "session": SessionRenderer,
    "pyisession": SessionRenderer, "folded": FoldedRenderer, "pprof": PprofRenderer,
}

__all__ = ["Renderer", "FrameRenderer", "ConsoleRenderer", "HTMLRenderer", "JSONRenderer",
           "SpeedscopeRenderer", "PstatsRenderer", "SessionRenderer", "FoldedRenderer",
           "PprofRenderer", "BY_NAME"]
