# SPDX-License-Identifier: MIT
"""Why profiling could not start or finish: one exception class per reason."""


class ProfilerError(RuntimeError):
    """Base class: pyinst-bpf could not profile this process."""

    reason = "failed"


class AgentUnavailable(ProfilerError):
    """No privileges to sample directly, and no agent listening on the socket."""

    reason = "no agent"


class AgentBusy(ProfilerError):
    """The agent refused: too many sessions at once (for this user, or in all)."""

    reason = "busy"


class NotAllowed(ProfilerError):
    """The agent refused: the caller may profile only its own process."""

    reason = "not allowed"


class UnsupportedPython(ProfilerError):
    """The sampler cannot read this interpreter (version, build, or not CPython)."""

    reason = "unsupported Python"


class BinaryNotFound(ProfilerError):
    """The pyinst-bpf program was not found (set PYINST_BPF_BINARY)."""

    reason = "no binary"
