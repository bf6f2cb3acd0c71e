// SPDX-License-Identifier: MIT
/* The status line while sampling, and the counters and costs told when it ends. */
#include <stdio.h>
#include <unistd.h>

#include "collect.h"
#include "log.h"
#include "summary.h"

/* Our resident memory in MiB (/proc/self/statm), 0 when unreadable. */
static double resident_mib(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

void summary_status(struct collector *c, bool wall, double elapsed, bool final)
{
	struct collect_stats st;
	char blocked[32] = "";

	if (!log_status_enabled(final))
		return;
	collector_stats(c, &st);
	if (final && !st.processes && collector_refusal(c))
		return;	/* the refusal is the run's one line: it failed */
	if (wall)
		snprintf(blocked, sizeof(blocked), " (%u blocked)", st.blocked);
	log_status(final, "%.1fs, %llu samples, %u thread%s%s in %u process%s, %llu lost, "
		   "%.0f MiB", elapsed, (unsigned long long)st.samples, st.threads,
		   st.threads == 1 ? "" : "s", blocked, st.processes, st.processes == 1 ? "" : "es",
		   (unsigned long long)st.lost, resident_mib());
}

/* What sampling cost the host: kernel time per CPU, and what the budget took away. */
static void report_cost(const struct collect_stats *st, double elapsed, int ncpus)
{
	if (st->budget_skipped)
		pr_warn("%llu samples skipped to keep the sampler within its CPU budget",
			(unsigned long long)st->budget_skipped);
	pr_info("sampler cost: %.2f ms of kernel time per CPU-second (budget %.0f), interval "
		"%.3g ms", elapsed > 0 ? (double)st->kernel_ns / 1e6 / elapsed / ncpus : 0,
		COLLECT_BUDGET_NS_PER_S / 1e6, st->interval * 1e3);
}

/*
 * What went wrong in the kernel, each with what it cost the profile and what to do about it.
 * Counted only for real losses: an exiting thread or a frame without code is not one.
 */
static const struct {
	bool always_warn;	/* else a warning past 1% of the samples, info below */
	const char *what;
} problems[PYI_ERR_MAX] = {
	[PYI_ERR_RINGBUF] = { true, "records dropped: the ring buffer was full, so those samples "
		"are missing; a longer --interval lowers the rate" },
	[PYI_ERR_READ_TSTATE] = { false, "samples could not read their interpreter's thread "
		"list and are missing; if it persists, run with -v and report it" },
	[PYI_ERR_READ_FRAME] = { false, "stacks stopped at an unreadable frame and miss their "
		"callers; if it persists, run with -v and report it" },
	[PYI_ERR_READ_CODE] = { false, "samples had a frame whose code object was unreadable, "
		"left out of their stack; if it persists, run with -v and report it" },
	[PYI_ERR_NO_TSTATE] = { false, "samples of threads running no Python (starting, ending "
		"or native threads): not in the profile, nothing to do" },
	[PYI_ERR_TRUNCATED] = { true, "stacks were deeper than --max-depth and keep their root "
		"end only; raise --max-depth (up to 4096) to keep them whole" },
	[PYI_ERR_THREADS_FULL] = { true, "thread state lookups were not cached (more threads than "
		"the cache holds): the profile is whole, sampling cost more" },
	[PYI_ERR_SYMBOL_DEFERRED] = { false, "code objects were described late, from user space: "
		"nothing to do" },
	[PYI_ERR_PROCS_FULL] = { true, "child processes were not followed (the process table was "
		"full); profile them with --pid" },
};

void summary_problems(struct collector *c, double elapsed)
{
	struct collect_stats st;
	uint64_t n;
	int i;

	collector_stats(c, &st);
	for (i = 0; i < PYI_ERR_MAX; i++) {
		n = st.errors[i];
		if (!problems[i].what || !n)
			continue;
		if (i != PYI_ERR_NO_TSTATE && i != PYI_ERR_SYMBOL_DEFERRED &&
		    (problems[i].always_warn || n * 100 > st.samples))
			pr_warn("%llu %s", (unsigned long long)n, problems[i].what);
		else
			pr_info("%llu %s", (unsigned long long)n, problems[i].what);
	}
	if (st.unresolved)
		pr_warn("%llu frames could not be named (their code object was freed before it was "
			"read) and show as <unknown>", (unsigned long long)st.unresolved);
	if (!st.samples)
		pr_warn("no samples were recorded");
	report_cost(&st, elapsed, (int)sysconf(_SC_NPROCESSORS_ONLN));
}
