# SPDX-License-Identifier: MIT
"""Session: pyinstrument's session model, the same .pyisession files (section 5 of the spec)."""
import json
import os
import sys

_REQUIRED = ("frame_records", "start_time", "duration", "sample_count", "start_call_stack",
             "target_description", "cpu_time")


def _prefixes():
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]


class Session:
    """A profile: frame records (stack of frame_info strings, root first; weight in seconds)
    and the header fields pyinstrument writes."""

    def __init__(self, frame_records, start_time, duration, min_interval, max_interval,
                 sample_count, start_call_stack, target_description, cpu_time, sys_path,
                 sys_prefixes):
        self.frame_records = frame_records
        self.start_time = start_time
        self.duration = duration
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.sample_count = sample_count
        self.start_call_stack = start_call_stack
        self.target_description = target_description
        self.cpu_time = cpu_time
        self.sys_path = sys_path
        self.sys_prefixes = sys_prefixes

    @staticmethod
    def load(filename):
        """Loads a .pyisession written by pyinst-bpf or by pyinstrument."""
        with open(filename) as f:
            return Session.from_json(json.load(f))

    def save(self, filename):
        with open(filename, "w") as f:
            json.dump(self.to_json(), f)

    def to_json(self, include_frame_records=True):
        result = {
            "start_time": self.start_time,
            "duration": self.duration,
            "min_interval": self.min_interval,
            "max_interval": self.max_interval,
            "sample_count": self.sample_count,
            "start_call_stack": self.start_call_stack,
            "target_description": self.target_description,
            "cpu_time": self.cpu_time,
            "sys_path": self.sys_path,
            "sys_prefixes": self.sys_prefixes,
        }
        if include_frame_records:
            result["frame_records"] = self.frame_records
        return result

    @staticmethod
    def from_json(json_dict):
        missing = [k for k in _REQUIRED if k not in json_dict]
        if missing:
            raise ValueError("not a session: missing %s" % ", ".join(missing))
        return Session(
            frame_records=[[list(stack), weight] for stack, weight in json_dict["frame_records"]],
            start_time=json_dict["start_time"],
            duration=json_dict["duration"],
            min_interval=json_dict.get("min_interval", 0.001),
            max_interval=json_dict.get("max_interval", 0.001),
            sample_count=json_dict["sample_count"],
            start_call_stack=json_dict["start_call_stack"],
            target_description=json_dict["target_description"],
            cpu_time=json_dict["cpu_time"] or 0,
            sys_path=json_dict.get("sys_path", sys.path),
            sys_prefixes=json_dict.get("sys_prefixes", _prefixes()),
        )

    @staticmethod
    def combine(session1, session2):
        """Both sessions in one, the earlier first, as pyinstrument's Session.combine."""
        if session1.start_time > session2.start_time:
            session1, session2 = session2, session1
        return Session(
            frame_records=session1.frame_records + session2.frame_records,
            start_time=session1.start_time,
            duration=session1.duration + session2.duration,
            min_interval=min(session1.min_interval, session2.min_interval),
            max_interval=max(session1.max_interval, session2.max_interval),
            sample_count=session1.sample_count + session2.sample_count,
            start_call_stack=session1.start_call_stack,
            target_description=session1.target_description,
            cpu_time=(session1.cpu_time or 0) + (session2.cpu_time or 0),
            sys_path=session1.sys_path + [p for p in session2.sys_path
                                          if p not in session1.sys_path],
            sys_prefixes=list(set(session1.sys_prefixes + session2.sys_prefixes)),
        )

    def root_frame(self, trim_stem=True):
        """The call tree (pyinst_bpf.frame.Frame), before any processor; None if empty."""
        from .frame import build_frame_tree, trim_stem as trim
        if not self.frame_records:
            return None
        root = build_frame_tree(self.frame_records)
        return trim(root, self.start_call_stack) if trim_stem else root

    def shorten_path(self, path):
        """The shortest path relative to a sys.path entry, as pyinstrument shows files."""
        if os.sep not in path:
            return path
        best = path
        for entry in self.sys_path:
            try:
                candidate = os.path.relpath(path, entry or os.getcwd())
            except ValueError:
                continue
            if len(candidate.split(os.sep)) < len(best.split(os.sep)):
                best = candidate
        return best
