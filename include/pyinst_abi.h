/* SPDX-License-Identifier: MIT */
/*
 * The one contract between the BPF programs (bpf/) and user space (user/).
 * Every record on the ring buffer and every map value that crosses the boundary is here.
 * Compiles both with the host compiler and with clang -target bpf.
 */
#ifndef PYINST_ABI_H
#define PYINST_ABI_H

#ifdef __bpf__
/* vmlinux.h already defines the __u* types */
#else
#include <linux/types.h>
#endif

/* Layouts are asserted on both sides: a field moved on one side only breaks the build. */
#define PYI_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), #type " size")
#define PYI_ASSERT_OFF(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field " offset")

#define PYI_MAX_CPUS		256
#define PYI_FRAMES_CAP		4096	/* per-CPU scratch; --max-depth may not exceed it */
#define PYI_DEFAULT_MAX_DEPTH	1024
#define PYI_STR_MAX		256	/* bytes of a str object's data copied in the kernel */
#define PYI_LINETABLE_MAX	4096	/* bytes of a code object's line table copied */
#define PYI_CODE_CACHE_SLOTS	4096	/* per-CPU direct-mapped "code object already sent" */
#define PYI_FRAME_BLOCK		128	/* bytes read per frame in one probe */
#define PYI_CODE_BLOCK		256	/* bytes read per code object in one probe */
#define PYI_MAX_PROCS		4096
#define PYI_MAX_THREADS		65536
#define PYI_PID_BITMAP		(1 << 22)	/* covers pid_max's ceiling */

enum pyi_rec_type {
	PYI_REC_SAMPLE = 1,	/* struct pyi_sample */
	PYI_REC_CODE = 2,	/* struct pyi_code */
	PYI_REC_PROC = 3,	/* struct pyi_proc_event */
};

/* struct pyi_sample.flags */
#define PYI_SF_TRUNCATED	(1u << 0)	/* depth > nframes: frames keep the root end */
#define PYI_SF_OFFCPU		(1u << 1)	/* weight_ns is time spent off CPU */
#define PYI_SF_GIL_HELD		(1u << 2)	/* the sampled thread held the GIL */
#define PYI_SF_NO_TSTATE	(1u << 3)	/* a thread of a target with no PyThreadState */
#define PYI_SF_BAD_FRAME	(1u << 4)	/* the walk stopped on an unreadable frame */
#define PYI_SF_SAME		(1u << 5)	/* wall: no frames; the thread has not run since its
						   last walked stack, which counts again */
#define PYI_SF_RACED		(1u << 6)	/* wall: the thread ran while it was read: its frames
						   may mix two moments */

/* struct pyi_sample.reason for off-CPU samples: why the thread was not running */
#define PYI_REASON_SYSCALL(nr)	((__u32)(nr) + 1)	/* blocked in syscall nr */
#define PYI_REASON_PREEMPTED	0x10001u	/* runnable, waiting for a CPU */
#define PYI_REASON_GIL		0x10002u	/* a futex wait on the GIL */
#define PYI_REASON_BLOCKED	0x10003u	/* blocked outside a syscall (page fault...) */
#define PYI_REASON_STOPPED	0x10004u	/* stopped by a signal or a tracer */
#define PYI_REASON_ONCPU	0x10005u	/* dump: running on a CPU */

/* What the wall iterator does on a run (its iter_mode variable). */
enum pyi_iter_mode {
	PYI_ITER_TICK = 0,	/* account the threads off a CPU */
	PYI_ITER_FINAL = 1,	/* the session ends: account every thread */
	PYI_ITER_DUMP = 2,	/* send every thread's stack once, weight 0 */
};

/* One Python frame as seen by the kernel: symbols are resolved in user space. */
struct pyi_frame {
	__u64 code;	/* PyCodeObject * in the target */
	__u64 cls;	/* PyTypeObject * of the first argument when it is self/cls, else 0 */
	__u32 cookie;	/* checksum of the code object's identity fields (catches reuse) */
	__s32 lasti;	/* byte offset of the current instruction in the bytecode, -1 unknown */
};
PYI_ASSERT_SIZE(pyi_frame, 24);
PYI_ASSERT_OFF(pyi_frame, cls, 8);
PYI_ASSERT_OFF(pyi_frame, cookie, 16);
PYI_ASSERT_OFF(pyi_frame, lasti, 20);

struct pyi_sample {
	__u32 type;		/* PYI_REC_SAMPLE */
	__u32 pid;		/* host tgid */
	__u32 tid;		/* host tid */
	__u32 flags;		/* PYI_SF_* */
	__u64 ts;		/* bpf_ktime_get_ns() at the sample */
	__u64 weight_ns;	/* on-CPU: 0 = one period; off-CPU: time off */
	__u32 nframes;		/* entries in frames[] */
	__u32 depth;		/* frames walked; > nframes when truncated */
	__u32 head;		/* index in frames[] of the leaf-most frame (ring order) */
	__u32 reason;		/* off-CPU: syscall number + 1, or 0 */
	__u32 row;		/* the scratch and code cache row the frames' codes are in */
	__u32 gen;		/* the thread's start time (low bits): a reused tid differs */
	__u64 thread_ident;	/* pthread_self() of the thread: threading.get_ident() */
	struct pyi_frame frames[];	/* leaf first, from frames[head] on, wrapping */
};
PYI_ASSERT_SIZE(pyi_sample, 64);
PYI_ASSERT_OFF(pyi_sample, ts, 16);
PYI_ASSERT_OFF(pyi_sample, weight_ns, 24);
PYI_ASSERT_OFF(pyi_sample, nframes, 32);
PYI_ASSERT_OFF(pyi_sample, reason, 44);
PYI_ASSERT_OFF(pyi_sample, row, 48);
PYI_ASSERT_OFF(pyi_sample, gen, 52);
PYI_ASSERT_OFF(pyi_sample, thread_ident, 56);
PYI_ASSERT_OFF(pyi_sample, frames, 64);

/* A str object's raw data: decoded (latin-1 / UCS-2 / UCS-4 / ASCII) in user space. */
struct pyi_str {
	__u32 length;		/* code points, as in the object */
	__u16 nbytes;		/* bytes copied into data */
	__u8 kind;		/* 1, 2 or 4 bytes a code point (PEP 393) */
	__u8 ok;		/* 1 when the read succeeded */
	__u8 data[PYI_STR_MAX];
};
PYI_ASSERT_SIZE(pyi_str, 8 + PYI_STR_MAX);
PYI_ASSERT_OFF(pyi_str, nbytes, 4);
PYI_ASSERT_OFF(pyi_str, kind, 6);
PYI_ASSERT_OFF(pyi_str, ok, 7);
PYI_ASSERT_OFF(pyi_str, data, 8);

/*
 * A code object, sent once per cache row when the kernel first sees it there (it may be freed
 * later): user space mirrors each row's slots (user/collect/symbolize.c).
 */
struct pyi_code {
	__u32 type;		/* PYI_REC_CODE */
	__u32 pid;
	__u64 code;
	__u32 cookie;
	__s32 firstlineno;
	__u32 firsttraceable;	/* 3.11+: code units before the first traceable one */
	__u32 row;		/* the code cache row the kernel filled (a CPU's, or the iterator's) */
	__u32 slot;		/* the slot in that row (pyi_code_slot) */
	__u16 linetable_copied;	/* bytes of the line table copied into linetable */
	__u16 pad;
	struct pyi_str name;
	struct pyi_str filename;
	__u8 linetable[PYI_LINETABLE_MAX];
};
PYI_ASSERT_SIZE(pyi_code, 40 + 2 * (8 + PYI_STR_MAX) + PYI_LINETABLE_MAX);
PYI_ASSERT_OFF(pyi_code, code, 8);
PYI_ASSERT_OFF(pyi_code, cookie, 16);
PYI_ASSERT_OFF(pyi_code, row, 28);
PYI_ASSERT_OFF(pyi_code, slot, 32);
PYI_ASSERT_OFF(pyi_code, linetable_copied, 36);
PYI_ASSERT_OFF(pyi_code, name, 40);
PYI_ASSERT_OFF(pyi_code, filename, 40 + 8 + PYI_STR_MAX);
PYI_ASSERT_OFF(pyi_code, linetable, 40 + 2 * (8 + PYI_STR_MAX));

enum pyi_proc_kind {
	PYI_PROC_EXEC = 1,	/* a followed process called exec: rediscover it */
	PYI_PROC_FORK = 2,	/* a followed process forked (ppid = parent) */
	PYI_PROC_EXIT = 3,	/* a target thread group ended */
	PYI_PROC_DISCOVER = 4,	/* --cgroup/--all: a process user space has not looked at yet */
};

struct pyi_proc_event {
	__u32 type;		/* PYI_REC_PROC */
	__u32 kind;		/* enum pyi_proc_kind */
	__u32 pid;
	__u32 ppid;
};
PYI_ASSERT_SIZE(pyi_proc_event, 16);
PYI_ASSERT_OFF(pyi_proc_event, ppid, 12);

/*
 * CPython struct offsets, per interpreter version: those the kernel reads, and the few that
 * only user space's own reads use (marked "user space"), kept in the one generated table
 * (scripts/gen_layouts.sh) that both sides index the same way; they cost the procs map 14 bytes
 * a process. -1 = the field does not exist.
 */
struct pyi_offsets {
	__u32 version_hex;	/* user space: PY_VERSION_HEX of the layout */
	__s16 interp_next;	/* user space */
	__s16 interp_tstate_head;
	__s16 tstate_next;
	__s16 tstate_interp;	/* user space */
	__s16 tstate_frame;	/* <3.11 frame; 3.11-3.12 cframe; 3.13+ current_frame */
	__s16 cframe_current_frame;	/* 3.11-3.12 */
	__s16 tstate_thread_id;
	__s16 tstate_native_thread_id;	/* user space; 3.11+ */
	__s16 frame_code;	/* f_code / f_executable */
	__s16 frame_previous;	/* f_back / previous */
	__s16 frame_instr;	/* <3.11 f_lasti (int); 3.11+ prev_instr / instr_ptr */
	__s16 frame_owner;	/* 3.11+ (char) */
	__s16 frame_localsplus;	/* f_localsplus / localsplus */
	__s16 code_argcount;	/* user space */
	__s16 code_flags;
	__s16 code_firstlineno;
	__s16 code_name;
	__s16 code_qualname;	/* user space; 3.11+ */
	__s16 code_filename;
	__s16 code_varnames;	/* <3.11 co_varnames; 3.11+ co_localsplusnames */
	__s16 code_linetable;	/* <3.10 co_lnotab; 3.10+ co_linetable */
	__s16 code_firsttraceable;	/* 3.11+ _co_firsttraceable */
	__s16 code_adaptive;	/* 3.11+ co_code_adaptive */
	__s16 object_type;	/* ob_type */
	__s16 type_name;	/* user space: tp_name */
	__s16 tuple_item;	/* ob_item */
	__s16 bytes_size;	/* ob_size */
	__s16 bytes_data;	/* ob_sval */
	__s16 unicode_length;
	__s16 unicode_state;
	__s16 unicode_ascii_size;	/* sizeof(PyASCIIObject): data of compact ASCII follows */
	__s16 unicode_compact_size;	/* sizeof(PyCompactUnicodeObject) */
	__s16 frame_owner_cstack;	/* value of FRAME_OWNED_BY_CSTACK, -1 if none */
	__s16 pad;
};
PYI_ASSERT_SIZE(pyi_offsets, 72);
PYI_ASSERT_OFF(pyi_offsets, interp_next, 4);
PYI_ASSERT_OFF(pyi_offsets, frame_owner_cstack, 68);

/* Per target process: the map value of procs, keyed by host tgid. */
struct pyi_proc {
	__u64 interp_head_addr;	/* address of the PyInterpreterState * of the main interpreter */
	__u64 gil_locked_addr;	/* address of the GIL's locked flag, 0 if unknown */
	__u64 gil_holder_addr;	/* address of the GIL's last holder (PyThreadState *), 0 if unknown */
	__u64 code_type_addr;	/* &PyCode_Type: a frame's code must be of this type */
	__u64 gil_lo, gil_hi;	/* the GIL's struct: a futex wait inside it waits for the GIL */
	__u64 since_ns;		/* ktime when it became a target: blocked threads count from here */
	__u32 flags;		/* PYI_PF_* */
	__u16 frame_read_len;	/* bytes of a frame read in one probe (<= PYI_FRAME_BLOCK) */
	__u16 code_read_len;	/* bytes of a code object read in one probe (<= PYI_CODE_BLOCK) */
	struct pyi_offsets off;
};
PYI_ASSERT_SIZE(pyi_proc, 136);
PYI_ASSERT_OFF(pyi_proc, since_ns, 48);
PYI_ASSERT_OFF(pyi_proc, flags, 56);
PYI_ASSERT_OFF(pyi_proc, frame_read_len, 60);
PYI_ASSERT_OFF(pyi_proc, code_read_len, 62);
PYI_ASSERT_OFF(pyi_proc, off, 64);

/* struct pyi_proc.flags */
#define PYI_PF_FRAMEOBJECT	(1u << 0)	/* < 3.11: PyFrameObject chain, f_lasti is an int */
#define PYI_PF_LASTI_UNITS	(1u << 1)	/* 3.10: f_lasti counts code units, not bytes */
#define PYI_PF_CFRAME		(1u << 2)	/* 3.11-3.12: tstate->cframe->current_frame */
#define PYI_PF_STACKREF		(1u << 3)	/* 3.14+: f_executable is a tagged _PyStackRef */

/*
 * The sampler's own cost on one CPU (the budget map, per CPU): kernel time and records of the
 * perf_event program in the current window. Over budget, a sample is skipped and counted; user
 * space reads the totals and lowers the rate.
 */
struct pyi_budget {
	__u64 window_start;	/* ktime the current window began */
	__u64 spent_ns;		/* kernel time spent sampling targets in this window */
	__u64 events;		/* samples sent in this window */
	__u64 skipped;		/* samples not taken over budget, since the start */
	__u64 total_ns;		/* kernel time, since the start */
	__u64 total_events;	/* samples sent, since the start */
};
PYI_ASSERT_SIZE(pyi_budget, 48);
PYI_ASSERT_OFF(pyi_budget, skipped, 24);
PYI_ASSERT_OFF(pyi_budget, total_events, 40);

#define PYI_BUDGET_WINDOW_NS	100000000ULL	/* 100 ms: a lapse costs at most this long */

/* errors map: per-CPU counters, indexes */
enum pyi_err {
	PYI_ERR_RINGBUF = 0,	/* ring buffer full: a record was dropped */
	PYI_ERR_READ_TSTATE,	/* could not read the interpreter's thread list */
	PYI_ERR_READ_FRAME,	/* a frame could not be read */
	PYI_ERR_READ_CODE,	/* a code object could not be read */
	PYI_ERR_NO_TSTATE,	/* a target thread had no PyThreadState */
	PYI_ERR_TRUNCATED,	/* a stack deeper than --max-depth */
	PYI_ERR_THREADS_FULL,	/* the thread cache was full */
	PYI_ERR_SYMBOL_DEFERRED,	/* per-sample symbol budget exhausted */
	PYI_ERR_PROCS_FULL,	/* the follow table was full: a child was not followed */
	PYI_ERR_MAX,
};

/*
 * The cookie of a code object: a checksum of identity fields read in the same probe as the
 * object, so a frame names the object that was there when it was sampled. Computed the same
 * way by the kernel (on every frame) and by user space (when it reads an object itself).
 */
static inline __attribute__((always_inline)) __u64 pyi_mix64(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/*
 * Freed objects are reused LIFO, so a new code object, its name, file name and line table can
 * all sit where the old ones were: pointers alone cannot tell them apart. The cookie also
 * takes the name's content: PYI_NAME_WINDOW bytes of the str object from its length field on
 * (length, hash, state and the first bytes of the characters, on every version).
 */
#define PYI_NAME_WINDOW 40

static inline __attribute__((always_inline)) __u32 pyi_cookie(__u64 name, __u64 filename, __u64 linetable, __s32 firstlineno,
			       __s32 flags, const __u64 *name_window)
{
	__u64 h = pyi_mix64(0xcbf29ce484222325ULL, name);
	int i;

	h = pyi_mix64(h, filename);
	h = pyi_mix64(h, linetable);
	h = pyi_mix64(h, (__u64)(__s64)firstlineno);
	h = pyi_mix64(h, (__u64)(__s64)flags);
	for (i = 0; i < PYI_NAME_WINDOW / 8; i++)
		h = pyi_mix64(h, name_window[i]);
	return (__u32)(h ^ (h >> 32));
}

/* The kernel's per-CPU code cache slot of a code object (heap objects: low 4 bits are 0). */
static inline __u32 pyi_code_slot(__u64 code)
{
	return (__u32)((code >> 4) ^ (code >> 17)) & (PYI_CODE_CACHE_SLOTS - 1);
}

#endif /* PYINST_ABI_H */
