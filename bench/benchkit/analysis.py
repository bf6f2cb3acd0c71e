# SPDX-License-Identifier: MIT
"""Figures of one run against its ground truth, and of repeated runs against the unprofiled
ones."""
import statistics


def frame_matches(name, prefix):
    """A function name, or the last part of a qualified name, starts with the group's prefix."""
    return name.startswith(prefix) or name.rsplit(".", 1)[-1].startswith(prefix)


def group_of(names, groups):
    for group, prefix in groups:
        if any(frame_matches(name, prefix) for name in names):
            return group
    return None


def share_error(run):
    """Largest |profiled share - true share| over the workload's groups, in points."""
    shares = run.truth.get("shares") or {}
    if not shares or not run.profile:
        return None
    kind = "wall" if run.mode == "wall" else "cpu"
    groups = sorted((g, s["match"]) for g, s in shares.items())
    weights = dict.fromkeys(shares, 0.0)
    for _, _, names, weight in run.profile.records:
        group = group_of(names, groups)
        if group:
            weights[group] += weight
    seen, truth = sum(weights.values()), sum(s[kind] for s in shares.values())
    if not seen or not truth:
        return 100.0
    return max(abs(weights[g] / seen - shares[g][kind] / truth) * 100 for g in shares)


def expected_samples(run):
    if run.mode == "wall":
        return run.window * run.truth.get("threads", 1) / run.interval
    return run.truth["cpu_seconds"] / run.interval


def profile_figures(run):
    """The per-run figures that need a profile."""
    profile, figures = run.profile, {}
    figures["samples"] = profile.samples
    figures["expected"] = expected_samples(run)
    figures["received_pct"] = 100.0 * profile.samples / figures["expected"]
    figures["lost"] = profile.lost
    figures["share_error"] = share_error(run)
    figures["deepest"] = max((len(names) for _, _, names, _ in profile.records), default=0)
    figures["threads_seen"] = len({(p, t) for p, t, _, _ in profile.records})
    figures["processes_seen"] = len({p for p, _, _, _ in profile.records})
    figures["functions_seen"] = len({n for _, _, names, _ in profile.records for n in names
                                     if n.startswith("gen_")})
    figures["warnings"] = profile.warnings
    # a profiler's own count of samples taken over samples due, where it reports one
    figures["own_received_pct"] = getattr(profile, "own_received_pct", None)
    return figures


def cost_figures(run):
    """The profiler's own cost per second of the profiled window."""
    figures = {"cpu_steady": None, "cpu_total": None, "bpf_s_per_s": None,
               "ns_per_run": None, "ns_per_sample": None}
    if run.cpu_steady is not None:
        figures["cpu_steady"] = run.cpu_steady / run.window
    if run.cpu_total is not None:
        figures["cpu_total"] = run.cpu_total / run.lifetime
    if run.bpf:
        figures["bpf_s_per_s"] = sum(ns for ns, _ in run.bpf.values()) / 1e9 / run.window
        ns, count = run.bpf.get("on_cpu_sample", (0, 0))
        figures["ns_per_run"] = ns / count if count else None
        samples = run.profile.samples if run.profile else 0
        figures["ns_per_sample"] = ns / samples if samples else None
    return figures


def run_figures(run):
    figures = {"work_seconds": run.truth["work_seconds"], "window": run.window,
               "oncpu_seconds": on_cpu_seconds(run.truth),
               "truth_deepest": run.truth.get("deepest"),
               "truth_threads": run.truth.get("threads", 1) * run.truth.get("processes", 1),
               "truth_processes": run.truth.get("processes", 1),
               "truth_functions": run.truth.get("functions")}
    if run.profile:
        figures.update(profile_figures(run))
        figures.update(cost_figures(run))
    return figures


def on_cpu_seconds(truth):
    """The main work's wall time minus the time it waited for a CPU taken by other processes;
    interrupt time, the sampler's included, stays in. None when other threads did the work."""
    if truth.get("run_delay") is None:
        return None
    return truth["work_seconds"] - truth["run_delay"]


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(figures_list):
    """Median of every numeric figure over repeated runs; the max for deepest and counts."""
    keys = [k for k in figures_list[0] if k != "warnings"]
    result = {}
    for key in keys:
        values = [f.get(key) for f in figures_list]
        if key.startswith("truth_") or key.endswith("_seen") or key in ("deepest", "lost"):
            present = [v for v in values if v is not None]
            result[key] = max(present) if present else None
        else:
            result[key] = median_of(values)
    result["runs"] = len(figures_list)
    result["warnings"] = sorted({w for f in figures_list for w in f.get("warnings", [])})
    return result


def best_slowdown(profiled, unprofiled):
    """The same from the fastest run of each: the least disturbed by other load."""
    profiled, unprofiled = [v for v in profiled if v], [v for v in unprofiled if v]
    if not profiled or not unprofiled:
        return None
    return (min(profiled) / min(unprofiled) - 1) * 100


def slowdown(profiled, unprofiled):
    """Median profiled over median unprofiled work time, in percent, and the range of the
    per-repeat ratios (runs are interleaved, so repeat i of each was run side by side)."""
    profiled, unprofiled = [v for v in profiled if v], [v for v in unprofiled if v]
    if not profiled or not unprofiled or len(profiled) != len(unprofiled):
        return None, None, None
    pct = (statistics.median(profiled) / statistics.median(unprofiled) - 1) * 100
    ratios = [(p / u - 1) * 100 for p, u in zip(profiled, unprofiled)]
    return pct, min(ratios), max(ratios)


def spread_pct(values):
    """(max - min) / median of the unprofiled work times, in percent."""
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / statistics.median(values) * 100
