/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Code objects: a frame's code object is checked and given its cookie here, and described to
 * user space (names, line table) the first time this cache row sees it, while it is alive.
 */
#ifndef PYINST_CODE_BPF_H
#define PYINST_CODE_BPF_H

#include "sampler.bpf.h"
#include "read.bpf.h"

/* A str object's raw PEP 393 data; user space decodes it. */
static __always_inline void read_str(struct pyi_str *out, __u64 obj, const struct pyi_offsets *o,
				     struct task_struct *task)
{
	__u64 length = 0;
	__u32 state = 0, nbytes, kind;

	out->ok = 0;
	out->nbytes = 0;
	if (!obj || read_user(&length, sizeof(length), task, (void *)(obj + o->unicode_length)) ||
	    read_user(&state, sizeof(state), task, (void *)(obj + o->unicode_state)))
		return;
	/* state bits: interned:2 kind:3 compact:1 ascii:1, the same from 3.3 to 3.14 */
	kind = (state >> 2) & 7;
	if (!(state & (1 << 5)) || (kind != 1 && kind != 2 && kind != 4) || length > (1 << 30))
		return;
	nbytes = (__u32)length * kind;
	if (nbytes > PYI_STR_MAX)
		nbytes = PYI_STR_MAX;
	obj += (state & (1 << 6)) ? o->unicode_ascii_size : o->unicode_compact_size;
	if (read_user(out->data, nbytes, task, (void *)obj))
		return;
	out->length = length;
	out->kind = kind;
	out->nbytes = nbytes;
	out->ok = 1;
}

static __always_inline __u32 self_or_cls(const struct pyi_str *v)
{
	if (!v->ok || v->kind != 1)
		return 0;
	if (v->length == 4 && v->data[0] == 's' && v->data[1] == 'e' && v->data[2] == 'l' &&
	    v->data[3] == 'f')
		return CODE_SELF;
	if (v->length == 3 && v->data[0] == 'c' && v->data[1] == 'l' && v->data[2] == 's')
		return CODE_CLS;
	return 0;
}

/*
 * Describes the code object whose first bytes are in s->code_block. Returns CODE_* flags,
 * or -1 when the record could not be sent (then the cache is not updated, so it is retried).
 */
static __noinline int emit_code(struct scratch *s, __u64 code, __u32 cookie, __u32 slot,
				struct task_struct *task)
{
	const struct pyi_offsets *o = &s->proc.off;
	struct pyi_code *rec;
	__u64 table, varnames, var0 = 0, size = 0;
	__u32 n;
	int flags;

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count(&errors, PYI_ERR_RINGBUF);
		return -1;
	}
	rec->type = PYI_REC_CODE;
	rec->pid = s->hdr.pid;
	rec->code = code;
	rec->cookie = cookie;
	rec->row = s->hdr.row;
	rec->slot = slot;
	rec->firstlineno = code_s32(s->code_block, o->code_firstlineno);
	rec->firsttraceable = code_s32(s->code_block, o->code_firsttraceable);
	read_str(&rec->name, code_u64(s->code_block, o->code_name), o, task);
	read_str(&rec->filename, code_u64(s->code_block, o->code_filename), o, task);
	varnames = code_u64(s->code_block, o->code_varnames);
	if (varnames)
		read_user(&var0, sizeof(var0), task, (void *)(varnames + o->tuple_item));
	/* the first local's name stays in the kernel: only self_or_cls() reads it */
	read_str(&s->var0, var0, o, task);
	rec->linetable_copied = 0;
	table = code_u64(s->code_block, o->code_linetable);
	if (table && !read_user(&size, sizeof(size), task, (void *)(table + o->bytes_size)) &&
	    size < (1 << 24)) {
		n = size > PYI_LINETABLE_MAX ? PYI_LINETABLE_MAX : size;
		if (!read_user(rec->linetable, n, task, (void *)(table + o->bytes_data)))
			rec->linetable_copied = n;
	}
	flags = self_or_cls(&s->var0);
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return flags;
}

/*
 * The cookie of the code object at code (one read of the object, one of its name), and whether
 * its first argument is self/cls; describes it to user space if this cache row has not yet.
 */
static __always_inline int describe_code(struct scratch *s, struct code_cache *cc, __u64 code,
					 __u32 cache_idx, __u32 *cookie_out, __u32 *flags,
					 struct task_struct *task)
{
	const struct pyi_offsets *o = &s->proc.off;
	struct code_slot *e;
	__u32 len, slot, cookie;
	__u64 name;
	int sent;

	*flags = 0;
	len = s->proc.code_read_len;
	if (len > PYI_CODE_BLOCK)
		len = PYI_CODE_BLOCK;
	/* no code object: a frame being set up or torn down (3.13 threads end with one), not a
	 * function, and nothing was lost */
	if (!code)
		return -1;
	if (read_user(s->code_block, len, task, (void *)code)) {
		s->w.code_failed = 1;	/* counted once the walk is over (walk_failures) */
		return -1;
	}
	if (code_u64(s->code_block, o->object_type) != s->proc.code_type_addr)
		return -1;	/* not a code object: e.g. a frame being set up */

	name = code_u64(s->code_block, o->code_name);
	if (!name || read_user(s->name_window, sizeof(s->name_window), task,
			       (void *)(name + o->unicode_length)))
		__builtin_memset(s->name_window, 0, sizeof(s->name_window));
	cookie = pyi_cookie(name, code_u64(s->code_block, o->code_filename),
			    code_u64(s->code_block, o->code_linetable),
			    code_s32(s->code_block, o->code_firstlineno),
			    code_s32(s->code_block, o->code_flags), s->name_window);
	slot = pyi_code_slot(code);
	e = &cc->slots[slot];
	if (e->code == code && e->cookie == cookie && e->pid == s->hdr.pid) {
		*flags = e->flags;
	} else if (s->w.budget) {
		s->w.budget--;
		sent = emit_code(s, code, cookie, slot, task);
		if (sent >= 0) {
			e->code = code;
			e->cookie = cookie;
			e->pid = s->hdr.pid;
			e->flags = sent;
			*flags = sent;
		}
	} else {
		count(&errors, PYI_ERR_SYMBOL_DEFERRED);
	}
	*cookie_out = cookie;
	return 0;
}

#endif /* PYINST_CODE_BPF_H */
