/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The sampler's state: the knobs and globals user space sets through the skeleton, the maps,
 * and the value types that stay in the kernel (the records user space reads are in
 * include/pyinst_abi.h). Every program family's object (sampler, wall, procs .bpf.c) includes
 * it: the variables and maps are __weak, so bpftool's linker keeps one of each, which the
 * skeleton names as before.
 */
#ifndef PYINST_SAMPLER_BPF_H
#define PYINST_SAMPLER_BPF_H

#include "pyinst_abi.h"

/* Knobs set by user space before load (user/collect/collect.c, configure()). */
const volatile __u32 max_depth __weak = PYI_DEFAULT_MAX_DEPTH;	/* 1 .. PYI_FRAMES_CAP */
/* the host's budget per CPU and PYI_BUDGET_WINDOW_NS: the perf_event program's kernel time
 * and samples; beyond them samples are skipped until the window ends */
const volatile __u64 budget_ns __weak = 5000000;
const volatile __u64 budget_events __weak = 2000;
const volatile bool gil_only __weak = false;
/* Wall mode (not --gil): a thread's on-CPU time is settled against its run time (wall.bpf.h) */
const volatile bool settle_oncpu __weak = false;
/* --cgroup / --container: processes under this cgroup v2 (id, level); --all: every process */
const volatile __u64 target_cgroup __weak = 0;
const volatile __u32 target_cgroup_level __weak = 0;
const volatile bool discover_all __weak = false;
/* The scratch and code cache row of the iterator (one run at a time: one reader). */
const volatile __u32 iter_slot __weak = 0;

/* Processes of interest (targets and followed ones): one bit per host tgid. Shared with user
 * space through the mmapped .bss, so the hot path tests it without a helper call. */
__u64 pid_bitmap[PYI_PID_BITMAP / 64] __weak;

/* The weight of an on-CPU sample: the perf event's period, raised by user space over budget. */
__u64 sample_period_ns __weak = 1000000;

/* The perf events are the targets' threads' own (inherited by new threads), not per CPU; user
 * space may fall back to per-CPU events before any sample. */
bool per_task_events __weak;

/* Per-task events keep the period they were inherited with: over budget, user space keeps one
 * sample in this many instead (each weighs sample_period_ns). */
__u32 sample_stride __weak = 1;

/* ktime after which no sample is taken (0: none): --duration's end, or 1 from user space's
 * signal handler. Sampling ends on time even when the profiler waits for a CPU. */
__u64 stop_at_ns __weak;

/* Set by user space before each run of the iterator (enum pyi_iter_mode). */
__u32 iter_mode __weak;

/* Limits of the kernel's work, not knobs: user space has never needed to change them. */
#define MAX_WALK		(16 * PYI_FRAMES_CAP)	/* frames followed at most */
#define MAX_THREAD_WALK		4096		/* thread states visited at most */
#define SYMBOLS_PER_SAMPLE	64		/* code objects described per sample */
#define REWALK_MIN_NS		100000ULL	/* retry a thread with no state after, */
#define REWALK_NS		20000000ULL	/* ... doubling up to this */
#define REDISCOVER_NS		1000000000ULL	/* ask about a pid at most once a second */

/* 3.11+: bytes of a thread's data stack read at once (several frames) */
#define FRAME_WINDOW 2048

/*
 * Code objects seen earlier in this sample. A live frame holds its code object, so neither it
 * nor its name can be freed while the sample is taken: a second sight needs no reads.
 */
#define SEEN_SLOTS 8

struct seen_code {
	__u64 code;
	__u32 cookie;
	__u32 flags;
};

struct walk_state {
	__u64 frame;	/* next frame to read */
	__u64 tstate;	/* the thread's PyThreadState (0 if none) */
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

/* One row per CPU, then the iterator's: a sample is assembled here, then copied out. */
struct scratch {
	struct pyi_sample hdr;
	struct pyi_frame frames[PYI_FRAMES_CAP];
	struct pyi_proc proc;
	struct walk_state w;
	struct pyi_str var0;	/* a code object's first local variable name (self/cls) */
	__u8 frame_block[PYI_FRAME_BLOCK];
	__u8 window[FRAME_WINDOW + PYI_FRAME_BLOCK];	/* slack: loads stay in the array */
	__u8 code_block[PYI_CODE_BLOCK];
	__u64 name_window[PYI_NAME_WINDOW / 8];
};

/* code_slot.flags: the code object's first argument */
#define CODE_SELF 1
#define CODE_CLS 2

/* A code object this row described to user space (user/collect/symbolize.c mirrors the rows). */
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

/* The thread cache (threads): where a thread's PyThreadState was found. */
struct thread_key {
	__u32 pid;
	__u32 tid;
};

struct thread_val {
	__u64 tstate;		/* 0: none found at last_walk */
	__u64 last_walk;	/* ktime of the last list walk that missed */
	__u64 rewalk_ns;	/* how long after it to walk again */
};

/* Wall mode: a thread of a target as the iterator last saw it. */
struct wall_thread {
	__u64 start;		/* task->start_time: a reused tid is another thread */
	__u64 last_ts;		/* ktime up to which its time is accounted */
	__u64 last_runtime;	/* its se.sum_exec_runtime at last_ts (exact: it was off a CPU) */
	__u64 walk_switches;	/* nvcsw + nivcsw at its last walk */
	__u32 walked;		/* that walk sent a stack: user space has it */
	__u32 reason;		/* why it was off a CPU when last accounted */
	/* settle_oncpu: */
	__u64 settled_runtime;	/* its se.sum_exec_runtime when its on-CPU time was last settled */
	__u64 sampled;		/* on-CPU ns the perf_event program sent since (atomic) */
	__s64 debt;		/* sampled beyond its run time: held back from its next samples */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* resized by user space */
} events __weak SEC(".maps");

/* Targets, keyed by host tgid: filled by user space once it knows the process's layout. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYI_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pyi_proc);
} procs __weak SEC(".maps");

/* Processes whose descendants become targets when they turn out to be Python. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYI_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} follow __weak SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_THREADS);
	__type(key, struct thread_key);
	__type(value, struct thread_val);
} threads __weak SEC(".maps");

/*
 * Per-task events: the event (its root's id) that samples a thread. A thread that the profiler
 * opened an event on while it had already inherited one has two; only the first to fire counts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} sampled_by __weak SEC(".maps");

/* Discovery requests already sent: tgid -> ktime of the last one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} asked __weak SEC(".maps");

/* One row per CPU (perf_event), then the iterator's; max_entries set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map __weak SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct code_cache);
} code_caches __weak SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PYI_ERR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} errors __weak SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pyi_budget);
} budget __weak SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYI_MAX_THREADS);
	__type(key, __u32);	/* host tid */
	__type(value, struct wall_thread);
} wall_threads __weak SEC(".maps");

static __always_inline void count(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		(*v)++;
}

#endif /* PYINST_SAMPLER_BPF_H */
