/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* A sample: one thread's Python stack, walked and sent on the ring buffer. */
#ifndef PYINST_SAMPLE_BPF_H
#define PYINST_SAMPLE_BPF_H

#include "sampler.bpf.h"
#include "pystate.bpf.h"
#include "frame_walk.bpf.h"

/* sample_thread's switches when the walk is not checked for a race (dump) */
#define NO_RACE_CHECK (~0ULL)

/*
 * Walks a thread's Python stack and sends it: the current thread (task NULL, perf_event) or
 * the thread the iterator visits (task; switches: its switch count before the walk). slot is
 * the scratch and code cache row. Returns 0 if a stack was sent, 1 if a record went out for a
 * thread without a Python thread state, 2 if the thread ran while it was read (PYI_SF_RACED),
 * -1 if nothing was sent.
 */
static __always_inline int sample_thread(struct task_struct *task, __u32 tgid, __u32 tid,
					 __u64 fsbase, __u32 gen, __u64 weight_ns, __u32 reason,
					 __u32 flags, __u32 slot, bool retry_now, bool gil_filter,
					 __u64 switches)
{
	struct frame_walk_ctx fc = { .task = task, .slot = slot };
	const struct pyi_proc *p;
	struct scratch *s;
	__u64 tstate, size;
	bool gil;
	__u32 n, depth;

	/* callers turned exiting threads away (on_cpu_sample, wall_iter) */
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return -1;
	s = bpf_map_lookup_elem(&scratch_map, &fc.slot);
	if (!s)
		return -1;
	tstate = find_tstate(p, tgid, tid, fsbase, retry_now, task);
	/* the GIL state is read once: --gil filters on it, every sample notes it */
	gil = tstate && holds_gil(p, tstate, task);
	if (gil_filter && !gil)
		return -1;
	__builtin_memcpy(&s->proc, p, sizeof(*p));
	s->hdr.type = PYI_REC_SAMPLE;
	s->hdr.pid = tgid;
	s->hdr.tid = tid;
	s->hdr.flags = flags | (gil ? PYI_SF_GIL_HELD : 0);
	s->hdr.ts = bpf_ktime_get_ns();
	s->hdr.weight_ns = weight_ns;
	s->w.tstate = tstate;
	s->hdr.reason = reason;
	s->hdr.row = fc.slot;
	s->hdr.gen = gen;
	s->hdr.thread_ident = fsbase;
	s->w.n = 0;
	s->w.win_base = 0;
	s->w.win_fail = 0;
	s->w.budget = SYMBOLS_PER_SAMPLE;
	s->w.fails = 0;
	s->w.frame_failed = 0;
	s->w.code_failed = 0;
	__builtin_memset(s->w.seen, 0, sizeof(s->w.seen));
	s->w.frame = 0;
	if (!tstate) {
		s->hdr.flags |= PYI_SF_NO_TSTATE;
		count(&errors, PYI_ERR_NO_TSTATE);
	} else {
		s->w.frame = first_frame(&s->proc, tstate, task);
		bpf_loop(MAX_WALK, frame_walk_step, &fc, 0);
		/* another thread, read while it was off a CPU: if it ran meanwhile, the frames may
		 * mix two moments (user space keeps its latest stack), and failed reads were that
		 * race, not losses */
		if (task && switches != NO_RACE_CHECK &&
		    (task->on_cpu || task->nvcsw + task->nivcsw != switches))
			s->hdr.flags |= PYI_SF_RACED;
		else if (!walk_failures(s, fc.task))
			tstate = 0;
	}
	depth = s->w.n;
	n = depth;
	s->hdr.head = 0;
	if (depth > max_depth) {
		n = max_depth;
		s->hdr.head = (depth - max_depth) % max_depth;
		s->hdr.flags |= PYI_SF_TRUNCATED;
		count(&errors, PYI_ERR_TRUNCATED);
	}
	s->hdr.nframes = n;
	s->hdr.depth = depth;
	if (n > PYI_FRAMES_CAP)
		return -1;
	size = sizeof(struct pyi_sample) + (__u64)n * sizeof(struct pyi_frame);
	/* no wakeup: waking the reader would cost the target microseconds; it drains on a tick */
	if (bpf_ringbuf_output(&events, s, size, BPF_RB_NO_WAKEUP)) {
		count(&errors, PYI_ERR_RINGBUF);
		return -1;
	}
	if (s->hdr.flags & PYI_SF_RACED)
		return 2;
	return tstate ? 0 : 1;
}

#endif /* PYINST_SAMPLE_BPF_H */
