/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The walk of a thread's Python frames, leaf first, into the scratch row: one step per frame
 * (bpf_loop), each frame's code object checked and described, and what could not be read
 * counted at the end.
 */
#ifndef PYINST_FRAME_WALK_BPF_H
#define PYINST_FRAME_WALK_BPF_H

#include "sampler.bpf.h"
#include "read.bpf.h"
#include "code.bpf.h"
#include "pystate.bpf.h"

/* A walk gives up after this many frames whose code object cannot be read. */
#define MAX_BAD_CODE 16

struct frame_walk_ctx {
	struct task_struct *task;	/* NULL: the current thread */
	__u32 slot;	/* scratch and code cache index */
};

/* The class of a method's first argument, read only for code whose first local is self/cls. */
static __always_inline __u64 frame_class(struct scratch *s, const __u8 *block, __u64 frame,
					 __u32 flags, struct task_struct *task)
{
	const struct pyi_offsets *o = &s->proc.off;
	__u64 local0 = 0, type = 0;

	if (o->frame_localsplus >= 0 && o->frame_localsplus + 8 <= s->proc.frame_read_len)
		local0 = frame_u64(block, o->frame_localsplus);
	else if (read_user(&local0, sizeof(local0), task, (void *)(frame + o->frame_localsplus)))
		return 0;
	if (s->proc.flags & PYI_PF_STACKREF) {
		/* 3.14+: locals are _PyStackRefs; LOAD_FAST_BORROW leaves Py_TAG_REFCNT (bit 0)
		 * set, and both bits set is a tagged int (Py_INT_TAG), never a self */
		if ((local0 & 3) == 3)
			return 0;
		local0 &= ~1ULL;
	}
	if (!local0)
		return 0;
	if (flags & CODE_CLS)
		return local0 | 1;	/* a claimed type object: user space checks it is one */
	if (read_user(&type, sizeof(type), task, (void *)(local0 + o->object_type)))
		return 0;
	return type;
}

/*
 * The first len bytes of the frame at `frame`. On 3.11+ a thread's frames sit next to each
 * other in its data stack, each caller below its callee: one read of the FRAME_WINDOW bytes
 * that end with a frame usually holds the next few frames too. Frames elsewhere (generators,
 * coroutines) and windows that would reach unmapped memory are read alone.
 */
static __always_inline const __u8 *frame_bytes(struct scratch *s, __u64 frame, __u32 len,
					       struct task_struct *task)
{
	__u64 off = frame - s->w.win_base, base = frame + len - FRAME_WINDOW;

	if (!(s->proc.flags & PYI_PF_FRAMEOBJECT)) {
		if (s->w.win_base && frame >= s->w.win_base && off < FRAME_WINDOW &&
		    off + len <= FRAME_WINDOW)
			return s->window + off;
		/* below a chunk's first frames a window reaches unmapped memory: don't retry there
		 * (the walk goes down), but try again in the next chunk */
		if (frame > FRAME_WINDOW &&
		    (!s->w.win_fail || base > s->w.win_fail + FRAME_WINDOW ||
		     frame + FRAME_WINDOW < s->w.win_fail)) {
			if (!read_user(s->window, FRAME_WINDOW, task, (void *)base)) {
				s->w.win_base = base;
				return s->window + (FRAME_WINDOW - len);
			}
			s->w.win_fail = base;
		}
	}
	if (read_user(s->frame_block, len, task, (void *)frame))
		return NULL;
	return s->frame_block;
}

static long frame_walk_step(__u64 i, void *ctx)
{
	struct frame_walk_ctx *c = ctx;
	struct task_struct *task = c->task;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &c->slot);
	struct code_cache *cc = bpf_map_lookup_elem(&code_caches, &c->slot);
	const struct pyi_offsets *o;
	struct seen_code *seen;
	const __u8 *block;
	struct pyi_frame *f;
	__u64 frame, code, instr;
	__u32 len, idx, cookie, flags = 0;
	__s32 lasti;

	if (!s || !cc)
		return 1;
	frame = s->w.frame;
	if (!frame)
		return 1;
	o = &s->proc.off;
	len = s->proc.frame_read_len;
	if (len > PYI_FRAME_BLOCK)
		len = PYI_FRAME_BLOCK;
	block = frame_bytes(s, frame, len, task);
	if (!block) {
		s->w.frame_failed = 1;
		return 1;
	}
	code = frame_u64(block, o->frame_code);
	s->w.frame = frame_u64(block, o->frame_previous);
	if (s->w.frame == frame)
		s->w.frame = 0;	/* not a live frame (its own caller): no walk in circles */
	if (s->proc.flags & PYI_PF_FRAMEOBJECT) {
		lasti = frame_s32(block, o->frame_instr);
		if ((s->proc.flags & PYI_PF_LASTI_UNITS) && lasti > 0)
			lasti *= 2;
	} else {
		/* 3.12+: a frame owned by the C stack is the shim of a C-to-Python call */
		if (o->frame_owner_cstack >= 0 &&
		    frame_u8(block, o->frame_owner) == o->frame_owner_cstack)
			return 0;
		if (s->proc.flags & PYI_PF_STACKREF)
			code &= ~1ULL;	/* 3.14: the low bit of a _PyStackRef is a refcount tag */
		instr = frame_u64(block, o->frame_instr);
		lasti = instr ? (__s32)(instr - code - o->code_adaptive) : -1;
	}
	seen = &s->w.seen[(code >> 4) & (SEEN_SLOTS - 1)];
	if (code && seen->code == code) {
		cookie = seen->cookie;
		flags = seen->flags;
	} else {
		if (describe_code(s, cc, code, c->slot, &cookie, &flags, task))
			/* skipped; a stack of nothing but unreadable code is garbage: stop */
			return ++s->w.fails >= MAX_BAD_CODE;
		seen->code = code;
		seen->cookie = cookie;
		seen->flags = flags;
	}

	idx = s->w.n % max_depth;
	if (idx >= PYI_FRAMES_CAP)
		return 1;
	f = &s->frames[idx];
	f->code = code;
	f->cookie = cookie;
	f->lasti = lasti;
	f->cls = flags ? frame_class(s, block, frame, flags, task) : 0;
	s->w.n++;
	return s->w.n >= MAX_WALK;
}

/*
 * Counts what the walk could not read; false when nothing of the stack was readable. A live
 * thread state's current frame is always readable: when not even the first frame (or its code)
 * is, the state is not live (a thread between freeing its state and exiting, its cached state's
 * memory reused) and the thread runs no Python: a sample without a thread state, not a loss.
 * So is a thread the iterator saw begin to exit under the walk, and one whose state is no
 * longer in its interpreter's list.
 */
static __always_inline bool walk_failures(struct scratch *s, struct task_struct *task)
{
	struct thread_key key = { .pid = s->hdr.pid, .tid = s->hdr.tid };

	if (!s->w.frame_failed && !s->w.code_failed)
		return true;
	if (!s->w.n || exiting(task) ||
	    !tstate_listed(&s->proc, s->w.tstate, s->hdr.thread_ident, task)) {
		bpf_map_delete_elem(&threads, &key);	/* looked up again next time */
		s->hdr.flags |= PYI_SF_NO_TSTATE;
		count(&errors, PYI_ERR_NO_TSTATE);
		return false;
	}
	if (s->w.frame_failed) {
		s->hdr.flags |= PYI_SF_BAD_FRAME;
		count(&errors, PYI_ERR_READ_FRAME);
	}
	if (s->w.code_failed)
		count(&errors, PYI_ERR_READ_CODE);
	return true;
}

#endif /* PYINST_FRAME_WALK_BPF_H */
