# SPDX-License-Identifier: MIT
"""pyinstrument's Python API, sampled from outside by pyinst-bpf's BPF sampler.

    import pyinst_bpf as pyinstrument

runs pyinstrument's documented snippets unchanged. See docs/python-api.md for what differs.
"""
from .context_manager import profile
from .errors import (AgentBusy, AgentUnavailable, BinaryNotFound, NotAllowed, ProfilerError,
                     UnsupportedPython)
from .profiler import Profiler
from .session import Session
from . import renderers

__version__ = "0.1.0"

__all__ = ["Profiler", "Session", "profile", "renderers", "load_ipython_extension",
           "ProfilerError", "AgentUnavailable", "AgentBusy", "NotAllowed", "UnsupportedPython",
           "BinaryNotFound"]


def load_ipython_extension(ipython):
    """%load_ext pyinst_bpf: the %pyinstrument line and %%pyinstrument cell magics."""
    from .magic import PyinstrumentMagic
    ipython.register_magics(PyinstrumentMagic(ipython))
