# SPDX-License-Identifier: MIT
"""--async against real interpreters: tasks' await and CPU shares agree with what each task
measured inside (workloads/async_tasks.py). Run as root: python3 tests/integration/test_async.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Skip, check, interpreters, profile_launch, run_tests  # noqa: E402

DURATION = float(os.environ.get("PYI_TEST_DURATION", "8.0"))
TOLERANCE = 5.0  # percentage points


def task_shares(session):
    """{task name: [total, await, cpu]} from records under "<task>" roots."""
    out = {}
    for stack, w in session.records:
        roots = [i for i, fr in enumerate(stack) if fr["file"] == "<task>"]
        if not roots:
            continue
        name = stack[roots[0]]["name"]
        acc = out.setdefault(name, [0.0, 0.0, 0.0])
        acc[0] += w
        if stack[-1]["name"] == "[await]":
            acc[1] += w
        elif any(fr["name"] == "burn" for fr in stack):
            acc[2] += w
    return out


def test_async_shares(python):
    if not any(v in python for v in ("3.11", "3.12", "3.13")):
        raise Skip("tasks are read on 3.11 to 3.13")
    run = profile_launch(python, "async_tasks.py", [DURATION], opts=["--async"])
    got, truth = task_shares(run.session()), run.truth()
    for name, t in sorted(truth.items()):
        check(name in got, "task %s missing from the profile (%s)" % (name, sorted(got)))
        total, aw, cpu = got[name]
        for what, g, want in (("await", aw, t["await"]), ("cpu", cpu, t["cpu"])):
            g, want = 100 * g / total, 100 * want / t["total"]
            check(abs(g - want) <= TOLERANCE, "%s: %s %.1f%% of its time in the profile, "
                  "%.1f%% measured inside" % (name, what, g, want))
        check(abs(total - t["total"]) <= 0.1 * t["total"],
              "%s: %.3fs in the profile, lived %.3fs" % (name, total, t["total"]))


def test_async_await_chain(python):
    if not any(v in python for v in ("3.11", "3.12", "3.13")):
        raise Skip("tasks are read on 3.11 to 3.13")
    run = profile_launch(python, "async_tasks.py", [1.0], opts=["--async"])
    chains = set()
    for stack, _ in run.session().records:
        names = [fr["name"] for fr in stack]
        if names[-1] == "[await]":
            chains.add(">".join(names[1:]))
    for want in ("mix_a>mixer>Meter.wait>sleep>[await]", "sock_a>sock_reader>Meter.wait>"
                 "sock_recv>[await]", "parent>parent>Meter.wait>await child>[await]"):
        check(any(c == want or c.replace("Meter.", "") == want.replace("Meter.", "")
                  for c in chains), "no %s among %s" % (want, sorted(chains)[:20]))


def tests():
    out = []
    for label, python in interpreters():
        for fn in (test_async_shares, test_async_await_chain):
            out.append(("%s [%s]" % (fn.__name__, label), lambda fn=fn, p=python: fn(p)))
    return out


if __name__ == "__main__":
    run_tests(tests())
