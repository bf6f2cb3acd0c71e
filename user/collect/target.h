/* SPDX-License-Identifier: MIT */
/* The processes being profiled: discovery, kernel configuration, threads and sessions. */
#ifndef PYINST_TARGET_H
#define PYINST_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash_index.h"
#include "proc.h"
#include "pyinst_abi.h"
#include "python_layouts.h"
#include "symbolize.h"
#include "thread_names.h"

struct session;
struct bpf_link;

enum target_state {
	TARGET_PENDING,		/* not (yet) a Python we can read: it may exec into one */
	TARGET_ACTIVE,		/* sampled */
	TARGET_EXITED,
	TARGET_FAILED,		/* not Python, or an unsupported one */
};

struct target_thread {
	int tid;
	uint32_t gen;		/* its start time's low bits (struct pyi_sample.gen) */
	uint32_t stack;		/* the thread's root stack in the session */
	bool walked;		/* wall: walked_stack is its last stack read off a CPU */
	uint32_t walked_stack;	/* without the wait leaf */
	uint32_t walked_leaf;	/* its Python leaf frame (idle detection), SESSION_NO_FRAME */
	bool recent;		/* recent_stack: its last stack from any sample */
	uint32_t recent_stack, recent_leaf;
	uint64_t ident;		/* threading.get_ident() */
	uint64_t off_tick;	/* wall: the iterator run that last found it off a CPU */
	uint32_t off_reason;	/* why, then */
	bool renamed;		/* threading named it after its root frame was made */
	char name[THREAD_NAME_MAX];	/* the name in its root frame, or the new one */
};

struct target {
	int pid;
	enum target_state state;
	bool follow;
	bool gil_pending;	/* 3.12+: found before the interpreter made its GIL */
	uint32_t refused;	/* hash of the last refusal told (ENOTSUP): told once */
	double pending_since;
	double next_retry;	/* pending: when to look at it again (retry_pending) */
	uint32_t image;	/* its execs: what was read of its memory before one is void */
	struct proc_python py;
	struct pyi_layout layout;	/* the generated table's, overlaid by _Py_DebugOffsets */
	struct pyi_offsets off;
	struct sym_target sym;
	struct session *session;	/* this image of the process (since its last exec) */
	struct session **retired;	/* sessions of earlier images */
	size_t nretired;
	struct bpf_link *wall_link;	/* wall mode: the iterator over its threads */
	uint64_t interp_head_addr;	/* where the main interpreter's address is */
	struct thread_names names;	/* threading._active as last read */
	double names_due, names_every;	/* when to read them again, and how often */
	double names_read;		/* when they were last read */
	double names_soon;		/* a thread new since: when to read them (0: none) */
	char main_comm[32];		/* the main thread's OS name, as read at main_comm_at */
	double main_comm_at;
	int same_pid_ns;		/* proc_same_pid_ns(), 2: not asked yet */
	size_t names_nthreads;		/* threads known at that read */
	double cpu_start, cpu_last;
	bool cpu_known;
	char cmdline[512];
	struct target_thread *threads;
	size_t nthreads, threads_cap;
	struct hash_index tids;	/* over threads, by tid */
	size_t threads_seen;
};

struct target_table {
	struct target **items;
	size_t len, cap;
	struct target *last;
};

void target_table_init(struct target_table *tt);
void target_table_free(struct target_table *tt);
struct target *target_find(struct target_table *tt, int pid);
struct target *target_add(struct target_table *tt, int pid, bool follow, struct target *parent);
void target_table_counts(const struct target_table *tt, unsigned int *processes,
			 unsigned int *threads, unsigned int *running);

/*
 * Finds the target's CPython and fills the kernel's view of it. Returns 0; -ENOTSUP for a
 * Python we cannot profile (message names the version); other -errno while it is not Python.
 */
int target_discover(struct target *t, struct pyi_proc *proc, char *err, size_t errlen);

/*
 * 3.12+ make the GIL when the interpreter initializes, after a launched program is found: fills
 * p's GIL fields once the target has one. Returns 0 when found, -EAGAIN while it has none yet.
 */
int target_resolve_gil(struct target *t, struct pyi_proc *p);

/*
 * A thread's record, made on first sight with its pyinstrument root frame; NULL if no memory.
 * gen tells a thread from an older one that had the same tid.
 */
struct target_thread *target_thread(struct target *t, int tid, uint64_t ident, uint32_t gen);
/* A live thread's record if it exists. */
struct target_thread *target_thread_find(struct target *t, int tid, uint32_t gen);
/* Forgets the threads that have ended; keep_renamed: not those whose roots get a late name. */
void target_forget_ended(struct target *t, bool keep_renamed);
/*
 * Once at least min_ended threads that have ended (forgotten: target_forget_ended) have roots of
 * their own in the session, folds those roots into one per name, digits aside ("Thread-*
 * (handler) [5400 ended]"). 1: folded, the session was rebuilt (frame and stack ids
 * held outside the target are void); 0: nothing to fold; -ENOMEM.
 */
int target_fold_ended(struct target *t, size_t min_ended);
/* The synthetic leaf frame that says a stack lost `missing` frames at its leaf end. */
uint32_t target_truncated_frame(struct target *t, uint32_t missing);

void target_update_cpu(struct target *t);
/*
 * Reads the names threading gives the target's threads; threads already seen that threading
 * named (or renamed) since get that name in the session (their roots change at retirement).
 * Paced (now: CLOCK_MONOTONIC seconds): every 0.5 s while threads come or names change, up to
 * every 8 s while nothing does; force reads them now.
 */
void target_refresh_names(struct target *t, double now, bool force);
/* The process exec'd: what was recorded so far is kept apart. */
void target_retire_session(struct target *t);

/* --per-process: every process's session (finished), its pid in pids[]. Returns the count. */
size_t target_table_sessions(struct target_table *tt, double start_time, double duration,
			     double interval, const char *description, struct session **out,
			     int *pids, size_t max);

/* One session for everything recorded: one process as is, several under a root each. */
struct session *target_table_session(struct target_table *tt, double start_time, double duration,
				     double interval, const char *description);

/*
 * Continuous mode: the window ends now. Every target's sessions for it go to out (finished, at
 * most max, pids[] says whose); an active target records on into a fresh session with its
 * threads. Targets that are gone and hold
 * nothing are freed, so that memory stays flat on a busy host. Returns the count.
 */
size_t target_table_take_window(struct target_table *tt, double start_time,
				double duration, double interval, const char *description,
				struct session **out, int *pids, size_t max);

#endif
