/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Wall mode's accounting of a thread's time off a CPU, when its stack need not be walked again:
 * the thread has not run since its last walk, or it exits between two runs of the iterator.
 */
#ifndef PYINST_WALL_BPF_H
#define PYINST_WALL_BPF_H

#include "sampler.bpf.h"

extern int CONFIG_HZ __kconfig;

/* A thread that has not run since its last walk: user space counts that stack again. */
static __always_inline void send_same(__u32 tgid, __u32 tid, __u32 gen, __u64 weight,
				      __u32 reason)
{
	struct pyi_sample *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		count(&errors, PYI_ERR_RINGBUF);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->type = PYI_REC_SAMPLE;
	r->pid = tgid;
	r->tid = tid;
	r->flags = PYI_SF_OFFCPU | PYI_SF_SAME;
	r->ts = bpf_ktime_get_ns();
	r->weight_ns = weight;
	r->reason = reason;
	r->gen = gen;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/*
 * Wall mode: a thread exits between two runs of the iterator. Its time off a CPU since it was
 * last accounted goes to the stack it was last seen off one with (user space has it), if that
 * time is sure: its run time here lags by up to a tick, so a tick is taken off, and a thread
 * that only ran since (a short-lived one) is charged nothing rather than twice. Only if it has
 * not left a CPU since that walk: then all that time was spent in the one wait the walk saw.
 * A thread that ran on and left its CPU again while the iterator found it running was off in
 * other stacks, unknown here: charged to the walked one, an old function would be named after
 * newer ones.
 */
static __always_inline void flush_exiting(struct task_struct *p)
{
	__u32 tid = p->pid;
	struct wall_thread *wt = bpf_map_lookup_elem(&wall_threads, &tid);
	__u64 now = bpf_ktime_get_ns(), tick, wall, ran;

	if (!wt || wt->start != p->start_time || !wt->walked || CONFIG_HZ <= 0 ||
	    p->nvcsw + p->nivcsw != wt->walk_switches)
		return;
	tick = 1000000000ULL / CONFIG_HZ;
	wall = now > wt->last_ts ? now - wt->last_ts : 0;
	ran = p->se.sum_exec_runtime > wt->last_runtime ?
	      p->se.sum_exec_runtime - wt->last_runtime : 0;
	if (wall > ran + tick)
		send_same(p->tgid, tid, (__u32)p->start_time, wall - ran - tick, wt->reason);
}

#endif /* PYINST_WALL_BPF_H */
