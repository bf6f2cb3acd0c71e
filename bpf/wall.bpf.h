/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Wall mode's accounting of a thread's time off a CPU, when its stack need not be walked again:
 * the thread has not run since its last walk, or it exits between two runs of the iterator.
 */
#ifndef PYINST_WALL_BPF_H
#define PYINST_WALL_BPF_H

#include "sampler.bpf.h"

extern int CONFIG_HZ __kconfig;

/*
 * A thread's last walked stack counts again (user space has it): off a CPU (PYI_SF_OFFCPU:
 * the thread has not run since that walk), or on one (a settlement's top-up, below).
 */
static __always_inline void send_same(__u32 tgid, __u32 tid, __u32 gen, __u64 weight,
				      __u32 reason, __u32 flags)
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
	r->flags = flags | PYI_SF_SAME;
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
		send_same(p->tgid, tid, (__u32)p->start_time, wall - ran - tick, wt->reason,
			  PYI_SF_OFFCPU);
}

/*
 * On-CPU time, settled (settle_oncpu). A thread's samples each weigh a period, but the timer
 * does not fire in step with its run time: a thread that spends its time in clone() gets fewer
 * samples than it ran, and any thread's count is off by its sampling noise, which let a busy
 * thread's total exceed the session. So the perf_event program adds what it sends to the
 * thread's `sampled`, and each time the iterator accounts the thread off a CPU it compares
 * that with the run time since (exact there): a shortfall is charged to the stack just sent,
 * the place the thread left its CPU (as pyinstrument charges the time since its last sample
 * to the stack it finds); an excess is a debt held back from the thread's next samples. Its
 * on-CPU total then is its run time, give or take the debt of its last settlement.
 *
 * The perf_event program's part: the weight of this sample once the debt took its share (0:
 * nothing to send); oncpu_sent() counts it when it was sent (or found no Python state: that
 * time is not Python's, and no shortfall either).
 */
static __always_inline __u64 oncpu_weight(struct wall_thread *wt, __u64 period, __u64 *take)
{
	__s64 debt = *(volatile __s64 *)&wt->debt;

	*take = debt > 0 ? ((__u64)debt < period ? (__u64)debt : period) : 0;
	return period - *take;
}

static __always_inline void oncpu_sent(struct wall_thread *wt, __u64 period, __u64 take)
{
	__sync_fetch_and_add(&wt->sampled, period);
	if (take)
		__sync_fetch_and_add(&wt->debt, -(__s64)take);
}

/* What the iterator's settlement does with a shortfall, after the record it just sent. */
enum oncpu_shortfall {
	SHORTFALL_CHARGE,	/* a stack of now was sent: the caller charges it there */
	SHORTFALL_CARRY,	/* no stack of now (a raced walk, a running thread): next time */
	SHORTFALL_DROP,		/* the thread has no Python state: that time is not Python's */
};

/*
 * The iterator's part, for a thread accounted off a CPU at run time `runtime`: the on-CPU ns
 * its samples missed since its last settlement, for the caller to charge to the stack it just
 * sent (SHORTFALL_CHARGE), or 0.
 */
static __always_inline __u64 oncpu_settle(struct wall_thread *wt, __u64 runtime,
					  enum oncpu_shortfall what)
{
	__u64 ran = runtime > wt->settled_runtime ? runtime - wt->settled_runtime : 0;
	__u64 sampled = __sync_lock_test_and_set(&wt->sampled, 0);
	__s64 debt;

	wt->settled_runtime = runtime;
	debt = __sync_add_and_fetch(&wt->debt, (__s64)sampled - (__s64)ran);
	if (debt >= 0 || what == SHORTFALL_CARRY)
		return 0;
	__sync_fetch_and_add(&wt->debt, -debt);
	return what == SHORTFALL_CHARGE ? (__u64)-debt : 0;
}

#endif /* PYINST_WALL_BPF_H */
