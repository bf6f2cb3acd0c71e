/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The sampler's own cost on each CPU (struct pyi_budget): the perf_event program stops
 * sampling for the rest of a window once it has spent its time or its samples there.
 */
#ifndef PYINST_BUDGET_BPF_H
#define PYINST_BUDGET_BPF_H

#include "sampler.bpf.h"

/* This CPU's budget, its window rolled over when it ended; NULL when the budget is spent. */
static __always_inline struct pyi_budget *budget_open(__u64 now)
{
	__u32 zero = 0;
	struct pyi_budget *b = bpf_map_lookup_elem(&budget, &zero);

	if (!b)
		return NULL;
	if (now - b->window_start >= PYI_BUDGET_WINDOW_NS) {
		b->window_start = now;
		b->spent_ns = 0;
		b->events = 0;
	}
	if (b->spent_ns >= budget_ns || b->events >= budget_events) {
		b->skipped++;
		return NULL;
	}
	return b;
}

static __always_inline void budget_close(struct pyi_budget *b, __u64 start, __u32 sent)
{
	__u64 spent = bpf_ktime_get_ns() - start;

	b->spent_ns += spent;
	b->total_ns += spent;
	b->events += sent;
	b->total_events += sent;
}

#endif /* PYINST_BUDGET_BPF_H */
