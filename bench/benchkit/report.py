# SPDX-License-Identifier: MIT
"""The results as one table: plain text for the terminal, markdown for docs/, JSON."""
import json


def fmt(value, spec="%.3f"):
    return "-" if value is None else spec % value


def slowdown_text(row):
    if row.get("slowdown") is None:
        return "-"
    text = "%+.1f" % row["slowdown"]
    if row.get("runs", 1) > 1:
        text += " [%+.1f..%+.1f]" % (row["slowdown_min"], row["slowdown_max"])
    return text


def ratio_text(got, truth):
    if got is None:
        return "-"
    return "%d/%s" % (got, "?" if truth is None else "%d" % truth)


def received_text(row):
    if row.get("samples") is None:
        return "-"
    return "%d/%d %.1f%%" % (row["samples"], row["expected"], row["received_pct"])


COLUMNS = (
    ("python", lambda r: r["python"]),
    ("workload", lambda r: r["workload"]),
    ("profiler", lambda r: r["profiler"]),
    ("interval", lambda r: "%gms" % (r["interval"] * 1e3)),
    ("runs", lambda r: "%d" % r["runs"]),
    ("work s", lambda r: fmt(r.get("work_seconds"))),
    ("slowdown % [range]", slowdown_text),
    ("on-CPU slowdown %", lambda r: fmt(r.get("slowdown_oncpu"), "%+.1f")),
    ("best %", lambda r: fmt(r.get("slowdown_best"), "%+.1f")),
    ("noise %", lambda r: fmt(r.get("noise"), "%.1f")),
    ("on-CPU noise %", lambda r: fmt(r.get("noise_oncpu"), "%.1f")),
    ("samples recv/exp", received_text),
    ("lost", lambda r: fmt(r.get("lost"), "%d")),
    ("CPU s/s", lambda r: fmt(r.get("cpu_steady"), "%.4f")),
    ("CPU s/s all", lambda r: fmt(r.get("cpu_total"), "%.4f")),
    ("BPF s/s", lambda r: fmt(r.get("bpf_s_per_s"), "%.4f")),
    ("ns/run", lambda r: fmt(r.get("ns_per_run"), "%.0f")),
    ("ns/sample", lambda r: fmt(r.get("ns_per_sample"), "%.0f")),
    ("share err pts", lambda r: fmt(r.get("share_error"), "%.2f")),
    ("deepest", lambda r: ratio_text(r.get("deepest"), r.get("truth_deepest"))),
    ("threads", lambda r: ratio_text(r.get("threads_seen"), r.get("truth_threads"))),
)


def cells(rows):
    return [[get(row) for _, get in COLUMNS] for row in rows]


def text_table(rows):
    table = [[name for name, _ in COLUMNS]] + cells(rows)
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in table)


def markdown_table(rows):
    lines = ["| " + " | ".join(name for name, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(line) + " |" for line in cells(rows)]
    return "\n".join(lines)


def write_json(path, results):
    with open(path, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")


def markdown_document(results, sections):
    """docs/benchmarks-results.md: the run's context, then one table per section."""
    meta = results["meta"]
    out = ["# Benchmark results", "",
           "Written by `bench/run.py` on %s; do not edit by hand. How to read it: "
           "[benchmarks.md](benchmarks.md)." % meta["date"], "",
           "- machine: %s, %d CPUs, kernel %s" % (meta["machine"], meta["cpus"], meta["kernel"]),
           "- pyinst-bpf: `%s` built %s, tree at %s" % (meta["profiler"],
                                                        meta.get("profiler_built", "?"),
                                                        meta["commit"]),
           "- austin: %s" % (meta["austin"] or "not installed"),
           "- repeats: %d (interleaved: unprofiled, ours, austin); wall time %.0f s" %
           (meta["repeats"], meta["elapsed"]), ""]
    for title, rows in sections:
        if rows:
            out += ["## " + title, "", markdown_table(rows), ""]
    notes = sorted({w for row in results["rows"] for w in row.get("warnings", [])
                    if row["profiler"] == "ours"})
    if notes:
        out += ["## Warnings printed by pyinst-bpf", ""] + ["- `%s`" % n for n in notes] + [""]
    return "\n".join(out)
