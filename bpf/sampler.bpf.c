// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The sampler. A cpu-clock perf_event on every CPU (or on each target thread, inherited by the
 * threads it starts: PYI_PERF_PER_TASK=1) runs on_cpu_sample(); for a thread of a target
 * process it finds the thread's PyThreadState, walks the Python frame chain and sends the
 * frames (code object address, cookie, instruction offset) to user space on the ring buffer.
 * Code objects are described once per CPU (strings and line table read here, while the object
 * is alive), so names stay right when the object is freed later.
 *
 * Process hooks (fork/exec/exit) keep the thread cache and the process table true.
 * Wall mode adds a sleepable task iterator that user space runs every few milliseconds: it
 * reads the threads that are off a CPU (time off, reason, stack) from the profiler's side.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "pyinst_abi.h"
#include "sampler.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Knobs set by user space before load. */
const volatile __u32 max_depth = PYI_DEFAULT_MAX_DEPTH;	/* 1 .. PYI_FRAMES_CAP */
const volatile __u32 max_walk = 16 * PYI_FRAMES_CAP;	/* frames followed at most */
const volatile __u32 max_thread_walk = 4096;		/* thread states visited at most */
const volatile __u32 symbols_per_sample = 64;		/* code objects described per sample */
const volatile __u64 rewalk_ns = 20000000;		/* retry a thread with no state after */
const volatile __u64 period_ns = 1000000;		/* sampling period */
/* the host's budget per CPU and PYI_BUDGET_WINDOW_NS: the perf_event program's kernel time
 * and samples; beyond them samples are skipped until the window ends */
const volatile __u64 budget_ns = 5000000;
const volatile __u64 budget_events = 2000;
const volatile bool gil_only = false;
/* --cgroup / --container: processes under this cgroup v2 (id, level); --all: every process */
const volatile __u64 target_cgroup = 0;
const volatile __u32 target_cgroup_level = 0;
const volatile bool discover_all = false;
const volatile __u64 rediscover_ns = 1000000000;	/* ask about a pid at most once a second */
/* the perf events are the targets' threads' own (inherited by new threads), not per CPU;
 * user space may fall back to per-CPU events before any sample */
bool per_task_events;

/* Processes of interest (targets and followed ones): one bit per host tgid. Shared with user
 * space through the mmapped .bss, so the hot path tests it without a helper call. */
__u64 pid_bitmap[PYI_PID_BITMAP / 64];

/* The weight of an on-CPU sample: the perf event's period, raised by user space over budget. */
__u64 sample_period_ns = 1000000;

/* Per-task events keep the period they were inherited with: over budget, user space keeps one
 * sample in this many instead (each weighs sample_period_ns) */
__u32 sample_stride = 1;

/* ktime after which no sample is taken (0: none): --duration's end, or 1 from user space's
 * signal handler. Sampling ends on time even when the profiler waits for a CPU. */
__u64 stop_at_ns;

/* task_struct.flags: the task is in do_exit (include/linux/sched.h) */
#define PF_EXITING 0x00000004

/* 3.11+: bytes of a thread's data stack read at once (several frames) */
#define FRAME_WINDOW 2048

/*
 * Code objects seen earlier in this sample. A live frame holds its code object, so neither it
 * nor its name can be freed while the sample is taken: a second sight needs no reads.
 */
#define SEEN_SLOTS 8

/* A walk gives up after this many frames whose code object cannot be read. */
#define MAX_BAD_CODE 16

struct seen_code {
	__u64 code;
	__u32 cookie;
	__u32 flags;
};

struct walk_state {
	__u64 frame;	/* next frame to read */
	__u64 win_base;	/* target address of window[0]; 0: no window */
	__u64 win_fail;	/* a window read from here failed: no more tries near it */
	__u32 n;	/* frames walked */
	__u32 budget;	/* code objects this sample may still describe */
	__u32 fails;	/* code objects that could not be read */
	__u8 frame_failed;	/* the walk stopped at an unreadable frame */
	__u8 code_failed;	/* a code object was unreadable (its frame left out) */
	__u8 pad[2];
	struct seen_code seen[SEEN_SLOTS];
};

struct scratch {
	struct pyi_sample hdr;
	struct pyi_frame frames[PYI_FRAMES_CAP];
	struct pyi_proc proc;
	struct walk_state w;
	__u8 frame_block[PYI_FRAME_BLOCK];
	__u8 window[FRAME_WINDOW + PYI_FRAME_BLOCK];	/* slack: loads stay in the array */
	__u8 code_block[PYI_CODE_BLOCK];
	__u64 name_window[PYI_NAME_WINDOW / 8];
};

struct code_slot {
	__u64 code;
	__u32 cookie;
	__u32 pid;	/* forked children share addresses and cookies: each is told */
	__u32 flags;	/* CODE_SELF / CODE_CLS */
	__u32 pad;
};

struct code_cache {
	struct code_slot slots[PYI_CODE_CACHE_SLOTS];
};

#define CODE_SELF 1
#define CODE_CLS 2

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* resized by user space */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYI_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pyi_proc);
} procs SEC(".maps");

/* Processes whose descendants become targets when they turn out to be Python. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYI_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} follow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_THREADS);
	__type(key, struct pyi_thread_key);
	__type(value, struct pyi_thread);
} threads SEC(".maps");

/*
 * Per-task events: the event (its root's id) that samples a thread. A thread that the profiler
 * opened an event on while it had already inherited one has two; only the first to fire counts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} sampled_by SEC(".maps");

/* Discovery requests already sent: tgid -> ktime of the last one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} asked SEC(".maps");

/* One row per CPU (perf_event), then the iterator's; max_entries set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct code_cache);
} code_caches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PYI_ERR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} errors SEC(".maps");


struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pyi_budget);
} budget SEC(".maps");

DEFINE_LOAD(__u64, frame_u64, PYI_FRAME_BLOCK)
DEFINE_LOAD(__s32, frame_s32, PYI_FRAME_BLOCK)
DEFINE_LOAD(__u8, frame_u8, PYI_FRAME_BLOCK)
DEFINE_LOAD(__u64, code_u64, PYI_CODE_BLOCK)
DEFINE_LOAD(__s32, code_s32, PYI_CODE_BLOCK)

static __always_inline void count(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		(*v)++;
}

static __always_inline bool is_interesting(__u32 tgid)
{
	return pid_bitmap[(tgid >> 6) & (PYI_PID_BITMAP / 64 - 1)] & (1ULL << (tgid & 63));
}

static __always_inline void mark_interesting(__u32 tgid)
{
	__sync_fetch_and_or(&pid_bitmap[(tgid >> 6) & (PYI_PID_BITMAP / 64 - 1)],
			    1ULL << (tgid & 63));
}

/*
 * Reads the target's memory. task is NULL in the sampled thread's own context (perf_event,
 * tracepoints): its address space is the current one. The sleepable iterator passes the thread
 * it visits (another process's), which it may read however long it has been blocked.
 * Callers pass a constant NULL where task is not trusted, so that branch is dead there.
 */
static __always_inline long read_user(void *dst, __u32 len, struct task_struct *task,
				      const void *src)
{
	if (task)
		return bpf_copy_from_user_task(dst, len, src, task, 0);
	return bpf_probe_read_user(dst, len, src);
}

/*
 * The iterator reads a thread from another CPU: it may begin to exit during the reads, which
 * then fail with nothing lost (it runs no Python again). NULL (the current thread) never does
 * mid-sample: sample_thread turned exiting ones away.
 */
static __always_inline bool exiting(struct task_struct *task)
{
	return task && (BPF_CORE_READ(task, flags) & PF_EXITING);
}

/* ---- thread state ------------------------------------------------------------------------- */

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
 * a cached state is re-checked with one read, a miss is retried after rewalk_ns.
 */
static __always_inline __u64 find_tstate(const struct pyi_proc *p, __u32 tgid, __u32 tid,
					 __u64 fsbase, bool retry_now, struct task_struct *task)
{
	struct pyi_thread_key key = { .pid = tgid, .tid = tid };
	struct thread_walk w = {
		.task = task,
		.want = fsbase,
		.off_next = p->off.tstate_next,
		.off_ident = p->off.tstate_thread_id,
	};
	struct pyi_thread *t, v = {};
	__u64 now = bpf_ktime_get_ns(), ident = 0, interp = 0;

	t = bpf_map_lookup_elem(&threads, &key);
	if (t) {
		if (t->tstate) {
			if (!read_user(&ident, sizeof(ident), task,
				       (void *)(t->tstate + w.off_ident)) &&
			    ident == fsbase)
				return t->tstate;
		} else if (!retry_now && now - t->last_walk < rewalk_ns) {
			/* a thread without Python (yet): don't walk the list on every sample */
			return 0;
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
		bpf_loop(max_thread_walk, thread_walk_step, &w, 0);
	}
	v.tstate = w.found;
	v.last_walk = now;
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
	bpf_loop(max_thread_walk, thread_walk_step, &w, 0);
	return w.found == tstate;
}

/* ---- code objects ------------------------------------------------------------------------- */

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
	rec->cpu = s->hdr.cpu;	/* the code cache row */
	rec->slot = slot;
	rec->firstlineno = code_s32(s->code_block, o->code_firstlineno);
	rec->argcount = code_s32(s->code_block, o->code_argcount);
	rec->co_flags = code_s32(s->code_block, o->code_flags);
	rec->firsttraceable = code_s32(s->code_block, o->code_firsttraceable);
	read_str(&rec->name, code_u64(s->code_block, o->code_name), o, task);
	read_str(&rec->qualname, code_u64(s->code_block, o->code_qualname), o, task);
	read_str(&rec->filename, code_u64(s->code_block, o->code_filename), o, task);
	varnames = code_u64(s->code_block, o->code_varnames);
	if (varnames)
		read_user(&var0, sizeof(var0), task, (void *)(varnames + o->tuple_item));
	read_str(&rec->var0, var0, o, task);
	rec->linetable_len = 0;
	rec->linetable_copied = 0;
	table = code_u64(s->code_block, o->code_linetable);
	if (table && !read_user(&size, sizeof(size), task, (void *)(table + o->bytes_size)) &&
	    size < (1 << 24)) {
		n = size > PYI_LINETABLE_MAX ? PYI_LINETABLE_MAX : size;
		if (!read_user(rec->linetable, n, task, (void *)(table + o->bytes_data))) {
			rec->linetable_len = size;
			rec->linetable_copied = n;
		}
	}
	flags = self_or_cls(&rec->var0);
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return flags;
}

/* ---- frames ------------------------------------------------------------------------------- */

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
 * The cookie of the code object at code (one read of the object, one of its name), and whether
 * its first argument is self/cls; describes it to user space if this CPU has not yet.
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
	return s->w.n >= max_walk;
}

/* ---- samples ------------------------------------------------------------------------------ */

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
	struct pyi_thread_key key = { .pid = s->hdr.pid, .tid = s->hdr.tid };

	if (!s->w.frame_failed && !s->w.code_failed)
		return true;
	if (!s->w.n || exiting(task) ||
	    !tstate_listed(&s->proc, s->hdr.tstate, s->hdr.thread_ident, task)) {
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
	s->hdr.tstate = tstate;
	s->hdr.reason = reason;
	s->hdr.cpu = fc.slot;
	s->hdr.gen = gen;
	s->hdr.thread_ident = fsbase;
	s->w.n = 0;
	s->w.win_base = 0;
	s->w.win_fail = 0;
	s->w.budget = symbols_per_sample;
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
		bpf_loop(max_walk, frame_walk_step, &fc, 0);
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

static __always_inline void send_proc_event(__u32 kind, __u32 pid, __u32 ppid);

/*
 * --cgroup / --all: a process running on a CPU that user space has not looked at. Whether it is
 * Python is for user space to say; the kernel only filters by cgroup and asks once a second.
 */
static __always_inline void maybe_discover(__u32 tgid)
{
	__u64 now, *last;

	if (!discover_all &&
	    (!target_cgroup ||
	     bpf_get_current_ancestor_cgroup_id(target_cgroup_level) != target_cgroup))
		return;
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&asked, &tgid);
	if (last && now - *last < rediscover_ns)
		return;
	bpf_map_update_elem(&asked, &tgid, &now, BPF_ANY);
	send_proc_event(PYI_PROC_DISCOVER, tgid, 0);
}

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

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* Per-task events: is this the one event that samples thread tid? */
static __always_inline bool samples_thread(struct bpf_perf_event_data *ctx, __u32 tid)
{
	struct bpf_perf_event_data_kern *kctx = bpf_cast_to_kern_ctx(ctx);
	struct perf_event *ev = BPF_CORE_READ(kctx, event), *root = BPF_CORE_READ(ev, parent);
	__u64 id = root ? BPF_CORE_READ(root, id) : BPF_CORE_READ(ev, id), *owner;

	owner = bpf_map_lookup_elem(&sampled_by, &tid);
	if (owner)
		return *owner == id;
	bpf_map_update_elem(&sampled_by, &tid, &id, BPF_NOEXIST);
	return true;
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid(), start;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct pyi_budget *b;

	if (!tgid)
		return 0;
	if (!is_interesting(tgid)) {
		if (discover_all || target_cgroup)
			maybe_discover(tgid);
		return 0;
	}
	/* a thread in do_exit runs no Python again, and once its memory is released every read
	 * fails: not a sample, and not a read failure either */
	if (BPF_CORE_READ(task, flags) & PF_EXITING)
		return 0;
	if (per_task_events && (!samples_thread(ctx, tid) ||
				(sample_stride > 1 && bpf_get_prandom_u32() % sample_stride)))
		return 0;
	start = bpf_ktime_get_ns();
	if (stop_at_ns && start >= stop_at_ns)
		return 0;
	b = budget_open(start);
	if (!b)
		return 0;
	sample_thread(NULL, tgid, tid, BPF_CORE_READ(task, thread.fsbase),
		      (__u32)BPF_CORE_READ(task, start_time), sample_period_ns, 0, 0,
		      bpf_get_smp_processor_id(), false, gil_only, 0);
	budget_close(b, start, 1);
	return 0;
}

/* ---- wall mode: threads off a CPU ----------------------------------------------------------- */

/*
 * User space runs wall_iter over each target's threads every few milliseconds (a read() of an
 * iterator fd): threads on a CPU are the perf_event program's, the others are read from here,
 * in the profiler's time, however long they have been blocked. Nothing runs in the targets'
 * context switches, so neither they nor other processes pay per switch.
 */

/* x86-64 system call numbers */
#define NR_POLL 7
#define NR_SELECT 23
#define NR_NANOSLEEP 35
#define NR_FUTEX 202
#define NR_PSELECT6 270
#define NR_PPOLL 271

#define TASK_STOPPED_BITS 0xc	/* __TASK_STOPPED | __TASK_TRACED */

/* A thread of a target as the iterator last saw it. */
struct wall_thread {
	__u64 start;		/* task->start_time: a reused tid is another thread */
	__u64 last_ts;		/* ktime up to which its time is accounted */
	__u64 last_runtime;	/* its se.sum_exec_runtime at last_ts (exact: it was off a CPU) */
	__u64 walk_switches;	/* nvcsw + nivcsw at its last walk */
	__u32 walked;		/* that walk sent a stack: user space has it */
	__u32 reason;		/* why it was off a CPU when last accounted */
};

extern int CONFIG_HZ __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_THREADS);
	__type(key, __u32);	/* host tid */
	__type(value, struct wall_thread);
} wall_threads SEC(".maps");

/* Set by user space before each run of the iterator (enum pyi_iter_mode). */
__u32 iter_mode;
/* The scratch and code cache row of the iterator (one run at a time: one reader). */
const volatile __u32 iter_slot = 0;

/* The reason a thread blocked in syscall nr (regs: its user registers) is not running. */
static __always_inline __u32 syscall_reason(struct pt_regs *regs, long nr,
					    const struct pyi_proc *p)
{
	__u64 arg0 = BPF_CORE_READ(regs, di), arg1 = BPF_CORE_READ(regs, si);

	if (nr < 0)
		return PYI_REASON_BLOCKED;
	/* futex(uaddr, ...) on the GIL's condition variable or mutex */
	if (nr == NR_FUTEX && arg0 >= p->gil_lo && arg0 < p->gil_hi)
		return PYI_REASON_GIL;
	/* select/poll on no descriptors is how CPython up to 3.10 implements time.sleep */
	if (((nr == NR_SELECT || nr == NR_PSELECT6) && arg0 == 0) ||
	    ((nr == NR_POLL || nr == NR_PPOLL) && arg1 == 0))
		return PYI_REASON_SYSCALL(NR_NANOSLEEP);
	return PYI_REASON_SYSCALL(nr);
}

/* Why task, off a CPU, is not running: stopped, runnable, or the syscall it blocks in. */
static __always_inline __u32 off_reason(struct task_struct *task, const struct pyi_proc *p)
{
	unsigned int state = BPF_CORE_READ(task, __state);
	struct pt_regs *regs;

	if (state & TASK_STOPPED_BITS)
		return PYI_REASON_STOPPED;
	if (state == 0)
		return PYI_REASON_PREEMPTED;	/* TASK_RUNNING: waiting for a CPU */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return PYI_REASON_BLOCKED;
	return syscall_reason(regs, BPF_CORE_READ(regs, orig_ax), p);
}

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
 * One thread of a target. Its time off a CPU since it was last accounted is exact: the wall
 * time minus its run time, both read while it is off a CPU (a running thread's run time lags
 * by up to a tick, so it is accounted the next time it is seen off one). That time goes to the
 * stack it has now, with the reason it is not running; the stack is walked only if the thread
 * ran since its last walk (its switch counts moved), else user space counts its last one.
 */
SEC("iter.s/task")
int wall_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct wall_thread *wt, v = {};
	const struct pyi_proc *p;
	__u64 now, start, runtime, switches, fsbase, wall, ran, off;
	__u32 tgid, tid, reason, mode = iter_mode;
	bool on_cpu;
	int rc;

	/* an exiting thread has no address space left to read */
	if (!task || task->exit_state || (task->flags & PF_EXITING) || !task->mm)
		return 0;
	tgid = task->tgid;
	tid = task->pid;
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return 0;
	now = bpf_ktime_get_ns();
	start = task->start_time;
	runtime = task->se.sum_exec_runtime;
	switches = task->nvcsw + task->nivcsw;
	on_cpu = task->on_cpu;
	fsbase = task->thread.fsbase;
	if (mode == PYI_ITER_DUMP) {
		reason = on_cpu ? PYI_REASON_ONCPU : off_reason(task, p);
		sample_thread(task, tgid, tid, fsbase, (__u32)start, 0, reason, PYI_SF_OFFCPU,
			      iter_slot, true, false, NO_RACE_CHECK);
		return 0;
	}
	wt = bpf_map_lookup_elem(&wall_threads, &tid);
	if (wt && wt->start == start) {
		v = *wt;
	} else {
		/* first sight: a thread born since the process became a target counts from its
		 * birth (it has run `runtime` since), an older one from now */
		v.start = start;
		v.last_ts = start > p->since_ns ? start : now;
		v.last_runtime = start > p->since_ns ? 0 : runtime;
		v.walk_switches = ~0ULL;
	}
	if (on_cpu && mode != PYI_ITER_FINAL) {
		if (!wt || wt->start != start)
			bpf_map_update_elem(&wall_threads, &tid, &v, BPF_ANY);
		return 0;
	}
	wall = now > v.last_ts ? now - v.last_ts : 0;
	ran = runtime > v.last_runtime ? runtime - v.last_runtime : 0;
	off = wall > ran ? wall - ran : 0;
	v.last_ts = now;
	v.last_runtime = runtime;
	if (off) {
		reason = on_cpu ? PYI_REASON_PREEMPTED : off_reason(task, p);
		v.reason = reason;
		/* unchanged since its last walk, or running (the session's end): that stack */
		if (!gil_only && v.walked && (on_cpu || v.walk_switches == switches)) {
			send_same(tgid, tid, (__u32)start, off, reason);
		} else {
			rc = sample_thread(task, tgid, tid, fsbase, (__u32)start, off, reason,
					   PYI_SF_OFFCPU, iter_slot, false, gil_only, switches);
			/* a walk that raced with the thread is not one to count again */
			if (rc != 2) {
				v.walked = rc == 0;
				v.walk_switches = switches;
			}
		}
	}
	if (bpf_map_update_elem(&wall_threads, &tid, &v, BPF_ANY))
		count(&errors, PYI_ERR_THREADS_FULL);
	return 0;
}

/* ---- processes ---------------------------------------------------------------------------- */

static __always_inline void send_proc_event(__u32 kind, __u32 pid, __u32 ppid)
{
	struct pyi_proc_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(&errors, PYI_ERR_RINGBUF);
		return;
	}
	ev->type = PYI_REC_PROC;
	ev->kind = kind;
	ev->pid = pid;
	ev->ppid = ppid;
	ev->ts = bpf_ktime_get_ns();
	/* rare, and user space should look at a new process at once */
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid, one = 1;

	if (ptgid == ctgid || !is_interesting(ptgid) || !bpf_map_lookup_elem(&follow, &ptgid))
		return 0;
	if (bpf_map_update_elem(&follow, &ctgid, &one, BPF_ANY)) {
		count(&errors, PYI_ERR_PROCS_FULL);
		return 0;
	}
	mark_interesting(ctgid);
	send_proc_event(PYI_PROC_FORK, ctgid, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct pyi_thread_key key = { .pid = p->tgid, .tid = p->pid };
	__u32 tgid = p->tgid;

	if (!is_interesting(tgid))
		return 0;
	/* the old address space is gone: no sample may read it with the old layout */
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&threads, &key);
	/* a new image: its time counts from when it becomes a target again */
	bpf_map_delete_elem(&wall_threads, &key.tid);
	send_proc_event(PYI_PROC_EXEC, tgid, 0);
	return 0;
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

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	struct pyi_thread_key key = { .pid = p->tgid, .tid = p->pid };
	__u32 tgid = p->tgid;

	if (!is_interesting(tgid))
		return 0;
	bpf_map_delete_elem(&threads, &key);
	flush_exiting(p);
	bpf_map_delete_elem(&wall_threads, &key.tid);
	bpf_map_delete_elem(&sampled_by, &key.tid);
	if (group_dead) {
		bpf_map_delete_elem(&procs, &tgid);
		/* the pid may be reused by anyone: not followed, not interesting, asked anew;
		 * forgotten here, in order with a fork that reuses it */
		bpf_map_delete_elem(&follow, &tgid);
		bpf_map_delete_elem(&asked, &tgid);
		__sync_fetch_and_and(&pid_bitmap[(tgid >> 6) & (PYI_PID_BITMAP / 64 - 1)],
				     ~(1ULL << (tgid & 63)));
		send_proc_event(PYI_PROC_EXIT, tgid, 0);
	}
	return 0;
}
