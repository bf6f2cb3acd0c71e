#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark pyinst-bpf against austin on workloads that report their own ground truth.

Run as root from anywhere:  python3 bench/run.py [--smoke] [--repeats N] ...
See docs/benchmarks.md for what is measured and how to read the table.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchkit import analysis, procstat, profilers, pythons, report, runner  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "bench", "results")
DOCS_RESULTS = os.path.join(ROOT, "docs", "benchmarks-results.md")
PRIMARY_VERSION = (3, 10)  # the newest CPython that Debian's austin 1.0.1 reads
DEPTHS = (10, 100, 200, 900, 1000)
SMOKE_WORKLOADS = ("cpu_split", "recursion-100", "threads", "subprocesses")
RATE_WORKLOADS = ("cpu_split", "recursion-100")


def all_workloads():
    workloads = [runner.Workload("cpu_split", "cpu_split.py")]
    workloads += [runner.Workload("recursion-%d" % d, "recursion.py", [str(d)]) for d in DEPTHS]
    workloads += [runner.Workload(name, name + ".py") for name in
                  ("threads", "sleep_cpu", "many_functions", "asyncio_app", "subprocesses")]
    return workloads


class Cell:
    """Runs of one workload on one interpreter at one interval, interleaved across profilers."""

    def __init__(self, section, python, workload, profs, interval, repeats, scale):
        self.section, self.python, self.workload = section, python, workload
        self.profilers, self.interval = profs, interval
        self.repeats, self.scale = repeats, scale
        self.runs = {p.name: [] for p in profs}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--smoke", action="store_true",
                        help="a short run (under a minute) that fails only on harness errors")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs of each profiler per workload on the primary interpreter")
    parser.add_argument("--scale", type=float, default=0.75,
                        help="work per run (1.0 is about 0.8 s of CPU)")
    parser.add_argument("--profiler", default=os.path.join(ROOT, "build", "pyinst-bpf"),
                        help="the pyinst-bpf binary")
    parser.add_argument("--mode", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--python", action="append", default=[],
                        help="only interpreters whose label contains this (repeatable)")
    parser.add_argument("--workload", action="append", default=[],
                        help="only workloads whose label contains this (repeatable)")
    parser.add_argument("--no-austin", action="store_true")
    parser.add_argument("--json", help="results file (default bench/results/latest.json, "
                        "or smoke.json with --smoke)")
    parser.add_argument("--markdown", help="markdown file (default docs/benchmarks-results.md; "
                        "none with --smoke)")
    return parser.parse_args(argv)


def shown_path(path):
    """The binary as the results show it: relative to the tree, else its name only (a path of
    the machine that ran the benchmark means nothing to a reader)."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return os.path.basename(path) + " (outside the tree)" if rel.startswith("..") else rel


def wall_mode_supported(binary):
    """A profiler that does not know --mode wall exits 2 on it."""
    result = subprocess.run([binary, "--mode", "wall", "--help"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return result.returncode == 0


def choose_pythons(args):
    found = pythons.discover()
    if args.python:
        found = [p for p in found if any(s in p.label for s in args.python)]
    if not found:
        sys.exit("bench: no CPython 3.6-3.13 found")
    primary = pythons.pick(found, PRIMARY_VERSION) or found[-1]
    return found, primary


def choose_workloads(args, names=None):
    chosen = [w for w in all_workloads() if names is None or w.label in names]
    if args.workload:
        chosen = [w for w in chosen if any(s in w.label for s in args.workload)]
    return chosen


def plan(args, found, primary, ours, austin):
    """Sections: main (primary interpreter, repeated, with austin), austin's other versions,
    ours on every other interpreter, and the 0.1 ms rate runs."""
    none, both = profilers.Unprofiled(), [ours] + ([austin] if austin else [])
    if args.smoke:
        return [Cell("main", primary, w, [none] + available(both, primary), 0.001, 1, 0.4)
                for w in choose_workloads(args, SMOKE_WORKLOADS)]
    cells = [Cell("main", primary, w, [none] + available(both, primary), 0.001, args.repeats,
                  args.scale) for w in choose_workloads(args)]
    for python in found:
        if python is primary:
            continue
        side_by_side = austin and austin.available(python)
        profs = [none] + available(both, python) if side_by_side else [ours]
        section = "austin" if side_by_side else "versions"
        cells += [Cell(section, python, w, profs, 0.001, 1, args.scale)
                  for w in choose_workloads(args)]
    cells += [Cell("rate", primary, w, [ours], 0.0001, 3, args.scale)
              for w in choose_workloads(args, RATE_WORKLOADS)]
    return cells


def available(profs, python):
    return [p for p in profs if p.available(python)]


def execute(cells, mode, tmpdir):
    for index, cell in enumerate(cells):
        for repeat in range(cell.repeats):
            for prof in cell.profilers:
                run = runner.Run(cell.python, cell.workload, prof, cell.interval, mode)
                runner.run_once(run, cell.scale, tmpdir)
                cell.runs[prof.name].append(run)
                progress(index, len(cells), cell, run)


def progress(index, total, cell, run):
    status = "error: " + run.error if run.error else "%.3f s" % run.truth["work_seconds"]
    if run.profile:
        status += ", %d samples" % run.profile.samples
    print("[%d/%d] %s %s %s %gms: %s" % (index + 1, total, cell.python.label,
                                         cell.workload.label, run.profiler.name,
                                         cell.interval * 1e3, status), file=sys.stderr)


def cell_rows(cell):
    """One row per profiler: medians of its good runs and its slowdown against none's."""
    good = {name: [r for r in runs if not r.error] for name, runs in cell.runs.items()}
    baseline = [r.truth["work_seconds"] for r in good.get("none", [])]
    baseline_oncpu = [analysis.on_cpu_seconds(r.truth) for r in good.get("none", [])]
    rows = []
    for prof in cell.profilers:
        runs = good[prof.name]
        if not runs:
            continue
        row = analysis.aggregate([analysis.run_figures(r) for r in runs])
        row.update(python=cell.python.label, workload=cell.workload.label,
                   profiler=prof.name, interval=cell.interval, section=cell.section,
                   errors=[r.error for r in cell.runs[prof.name] if r.error])
        if prof.name == "none":
            row["noise"] = analysis.spread_pct(baseline)
            row["noise_oncpu"] = analysis.spread_pct([v for v in baseline_oncpu if v])
        else:
            times = [r.truth["work_seconds"] for r in runs]
            (row["slowdown"], row["slowdown_min"],
             row["slowdown_max"]) = analysis.slowdown(times, baseline)
            oncpu = [analysis.on_cpu_seconds(r.truth) for r in runs]
            row["slowdown_oncpu"] = analysis.slowdown(oncpu, baseline_oncpu)[0]
            row["slowdown_best"] = analysis.best_slowdown(oncpu, baseline_oncpu)
        rows.append(row)
    return rows


def harness_failures(cells):
    """Errors of our runs or of unprofiled ones, and our runs that recorded nothing."""
    failures = []
    for cell in cells:
        for name, runs in cell.runs.items():
            for run in runs:
                where = "%s %s %s" % (cell.python.label, cell.workload.label, name)
                if run.error and name != "austin":
                    failures.append("%s: %s" % (where, run.error))
                elif name == "ours" and run.profile and run.profile.samples == 0:
                    failures.append("%s: no samples" % where)
                elif run.error:
                    print("bench: warning: %s: %s" % (where, run.error), file=sys.stderr)
    return failures


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return out.stdout.decode().strip() or "?"
    except OSError:
        return "?"


def austin_version(austin):
    if not austin:
        return None
    out = subprocess.run([austin.binary, "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return out.stdout.decode().strip()


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def metadata(args, austin, found, elapsed):
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "kernel": platform.release(),
            "machine": cpu_model(), "cpus": os.cpu_count(), "commit": git_commit(),
            "profiler": shown_path(args.profiler), "austin": austin_version(austin),
            "profiler_built": time.strftime("%Y-%m-%d %H:%M",
                                            time.localtime(os.path.getmtime(args.profiler))),
            "repeats": 1 if args.smoke else args.repeats, "mode": args.mode,
            "smoke": args.smoke, "elapsed": elapsed, "scale": args.scale,
            "pythons": {p.label: p.path for p in found}}


SECTION_TITLES = (
    ("main", "Side by side on the primary interpreter (medians)"),
    ("austin", "Side by side on austin's other versions (one run)"),
    ("versions", "pyinst-bpf on every other interpreter (one run)"),
    ("rate", "pyinst-bpf at 0.1 ms (medians)"),
)


def write_outputs(args, results):
    json_path = args.json or os.path.join(RESULTS_DIR, "smoke.json" if args.smoke
                                          else "latest.json")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    report.write_json(json_path, results)
    md_path = args.markdown or (None if args.smoke else DOCS_RESULTS)
    sections = [(title, [r for r in results["rows"] if r["section"] == key])
                for key, title in SECTION_TITLES]
    if md_path:
        with open(md_path, "w") as f:
            f.write(report.markdown_document(results, sections))
    print(report.text_table(results["rows"]))
    print("\nwritten: %s%s" % (json_path, ", " + md_path if md_path else ""))


def wall_cost_smoke(profiler):
    """bench/wall_cost.py once, briefly: the threaded server and ping-pong workloads."""
    import wall_cost
    try:
        wall_cost.main(["--smoke", "--profiler", profiler])
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
        return ["wall_cost: %s: %s" % (type(e).__name__, e)]
    return []


def make_profilers(args, primary):
    if not os.access(args.profiler, os.X_OK):
        sys.exit("bench: %s is not built (scripts/build.sh)" % args.profiler)
    austin = None if args.no_austin else profilers.Austin()
    if austin and not austin.binary:
        print("bench: austin is not installed (apt-get install -y austin): ours only",
              file=sys.stderr)
        austin = None
    return profilers.Ours(args.profiler), austin


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench: run as root (BPF, ptrace, bpf_stats)")
    found, primary = choose_pythons(args)
    ours, austin = make_profilers(args, primary)
    if args.mode == "wall" and not wall_mode_supported(args.profiler):
        print("bench: this pyinst-bpf has no --mode wall: measuring cpu mode", file=sys.stderr)
        args.mode = "cpu"
    cells = plan(args, found, primary, ours, austin)
    previous = procstat.bpf_stats_enable()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="pyi-bench-") as tmpdir:
            execute(cells, args.mode, tmpdir)
    finally:
        procstat.bpf_stats_restore(previous)
    rows = [row for cell in cells for row in cell_rows(cell)]
    results = {"meta": metadata(args, austin, found, time.monotonic() - started), "rows": rows}
    write_outputs(args, results)
    failures = harness_failures(cells)
    if args.smoke:
        failures += wall_cost_smoke(args.profiler)
    for failure in failures:
        print("bench: FAILED %s" % failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
