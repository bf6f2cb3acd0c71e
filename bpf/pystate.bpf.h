/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * A thread's PyThreadState, its current frame and whether it holds the GIL: what a sample
 * needs from the interpreter before it walks the frames.
 */
#ifndef PYINST_PYSTATE_BPF_H
#define PYINST_PYSTATE_BPF_H

#include "sampler.bpf.h"
#include "read.bpf.h"

struct thread_walk {
	struct task_struct *task;	/* NULL: the current thread's process */
	__u64 ts;	/* current PyThreadState in the interpreter's list */
	__u64 want;	/* pthread_self() of the sampled thread (its fs base) */
	__u64 found;
	__s32 off_next;
	__s32 off_ident;
};

static long thread_walk_step(__u64 i, void *ctx)
{
	struct thread_walk *w = ctx;
	struct task_struct *task = w->task;
	__u64 ident = 0, next = 0;

	if (!w->ts)
		return 1;
	if (read_user(&ident, sizeof(ident), task, (void *)(w->ts + w->off_ident)))
		return 1;
	if (ident == w->want) {
		w->found = w->ts;
		return 1;
	}
	if (read_user(&next, sizeof(next), task, (void *)(w->ts + w->off_next)))
		return 1;
	w->ts = next;
	return 0;
}

/*
 * The PyThreadState of (tgid, tid). PyThreadState.thread_id holds pthread_self(), which on
 * x86-64 glibc and musl is the thread's fs base: that matches every CPython version, needs no
 * libc internals and stays valid while the thread has released the GIL. Results are cached;
 * a cached state is re-checked with one read. A miss is retried after 0.1 ms, then twice as
 * long after each miss up to REWALK_NS: a new thread sampled in its first microseconds, before
 * it wrote its id into its state, is found at once (with a flat 20 ms a 10 kHz session lost up
 * to 20 ms of it), and a thread that never runs Python costs a walk every 20 ms.
 */
static __always_inline __u64 find_tstate(const struct pyi_proc *p, __u32 tgid, __u32 tid,
					 __u64 fsbase, bool retry_now, struct task_struct *task)
{
	struct thread_key key = { .pid = tgid, .tid = tid };
	struct thread_walk w = {
		.task = task,
		.want = fsbase,
		.off_next = p->off.tstate_next,
		.off_ident = p->off.tstate_thread_id,
	};
	struct thread_val *t, v = {};
	__u64 now = bpf_ktime_get_ns(), ident = 0, interp = 0;

	t = bpf_map_lookup_elem(&threads, &key);
	if (t) {
		if (t->tstate) {
			if (!read_user(&ident, sizeof(ident), task,
				       (void *)(t->tstate + w.off_ident)) &&
			    ident == fsbase)
				return t->tstate;
		} else if (!retry_now && now - t->last_walk < t->rewalk_ns) {
			/* a thread without Python (yet): don't walk the list on every sample */
			return 0;
		} else {
			v.rewalk_ns = t->rewalk_ns;
		}
	}
	/* from another process (task), a list that changes as it is read fails without fault */
	if (read_user(&interp, sizeof(interp), task, (void *)p->interp_head_addr)) {
		if (!task)
			count(&errors, PYI_ERR_READ_TSTATE);
	} else if (!interp) {
		/* not initialized yet, or finalized */
	} else if (read_user(&w.ts, sizeof(w.ts), task,
			     (void *)(interp + p->off.interp_tstate_head))) {
		if (!task)
			count(&errors, PYI_ERR_READ_TSTATE);
	} else {
		bpf_loop(MAX_THREAD_WALK, thread_walk_step, &w, 0);
	}
	v.tstate = w.found;
	v.last_walk = now;
	v.rewalk_ns = v.rewalk_ns ? v.rewalk_ns * 2 : REWALK_MIN_NS;
	if (v.rewalk_ns > REWALK_NS)
		v.rewalk_ns = REWALK_NS;
	if (bpf_map_update_elem(&threads, &key, &v, BPF_ANY))
		count(&errors, PYI_ERR_THREADS_FULL);
	return w.found;
}

/*
 * Whether tstate is still this thread's in its interpreter's list. A thread on its way out frees
 * its state while it still runs: the cached pointer's memory may keep the thread id, and hold
 * frames of the past. Walked only after a failed read, so never on the hot path.
 */
static __always_inline bool tstate_listed(const struct pyi_proc *p, __u64 tstate, __u64 fsbase,
					  struct task_struct *task)
{
	struct thread_walk w = {
		.task = task,
		.want = fsbase,
		.off_next = p->off.tstate_next,
		.off_ident = p->off.tstate_thread_id,
	};
	__u64 interp = 0;

	if (read_user(&interp, sizeof(interp), task, (void *)p->interp_head_addr) || !interp ||
	    read_user(&w.ts, sizeof(w.ts), task, (void *)(interp + p->off.interp_tstate_head)))
		return false;
	bpf_loop(MAX_THREAD_WALK, thread_walk_step, &w, 0);
	return w.found == tstate;
}

static __always_inline __u64 first_frame(const struct pyi_proc *p, __u64 tstate,
					  struct task_struct *task)
{
	__u64 frame = 0;

	if (read_user(&frame, sizeof(frame), task, (void *)(tstate + p->off.tstate_frame)))
		return 0;
	if ((p->flags & PYI_PF_CFRAME) && frame &&
	    read_user(&frame, sizeof(frame), task,
		      (void *)(frame + p->off.cframe_current_frame)))
		return 0;
	return frame;
}

static __always_inline bool holds_gil(const struct pyi_proc *p, __u64 tstate,
				      struct task_struct *task)
{
	__u64 holder = 0;
	__s32 locked = 1;

	if (!p->gil_holder_addr)
		return false;
	if (read_user(&holder, sizeof(holder), task, (void *)p->gil_holder_addr))
		return false;
	if (p->gil_locked_addr &&
	    read_user(&locked, sizeof(locked), task, (void *)p->gil_locked_addr))
		return false;
	return locked && holder == tstate;
}

#endif /* PYINST_PYSTATE_BPF_H */
