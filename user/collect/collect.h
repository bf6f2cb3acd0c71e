/* SPDX-License-Identifier: MIT */
/*
 * The collector loads the sampler, attaches it, takes records off the ring buffer and turns
 * them into sessions (one per profiled process). main.c only drives it.
 */
#ifndef PYINST_COLLECT_H
#define PYINST_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyinst_abi.h"

struct session;
struct collector;

/*
 * The shortest interval accepted: below it the timer interrupts alone cost a CPU more than the
 * budget (measured in docs/safety.md). The budget: the sampler's kernel time per CPU per second
 * and its records per CPU per second; above either the rate is lowered, with a notice.
 */
#define COLLECT_MIN_INTERVAL	0.0001
#define COLLECT_BUDGET_NS_PER_S	50000000ULL	/* 5% of each CPU */
#define COLLECT_BUDGET_EVENTS_PER_S	20000ULL

struct collect_opts {
	double interval;		/* seconds between samples on each CPU */
	unsigned int max_depth;		/* frames kept per stack (root end) */
	bool wall;			/* wall-clock: off-CPU time too */
	bool gil_only;			/* only samples of the GIL holder */
	bool hide_idle;			/* wall: leave out threads parked waiting for work */
	uint64_t cgroup_id;		/* --cgroup/--container: Python processes under it */
	uint32_t cgroup_level;
	bool discover_all;		/* --all: every Python process on the host */
	bool async_tasks;		/* --async: asyncio tasks as roots (asyncio_view.h) */
	bool no_await;			/* wall, --async-mode disabled: a loop's idle time stays
					 * the loop's, not its sole task's [await] */
	bool dump;			/* no sampling: collector_dump() only */
	bool continuous;		/* a profiler left running (--push, --output-dir): a
					 * fixed small cost before freshness (collect.c: the
					 * iterators' share, how often processes are looked at) */
};

struct pyi_sample;

/* collector_dump(): one thread's record and its stack in s (SESSION_NO_STACK if none). */
typedef void (*collect_dump_fn)(void *ctx, struct session *s, const struct pyi_sample *rec,
				uint32_t stack);

struct collect_stats {
	uint64_t samples;		/* samples in the sessions */
	uint64_t last_sample_ns;	/* CLOCK_MONOTONIC of the latest on-CPU sample */
	uint64_t lost;			/* records the kernel could not send */
	uint64_t unresolved;		/* frames whose code object was never described */
	uint64_t errors[PYI_ERR_MAX];
	unsigned int threads;
	unsigned int processes;		/* Python processes seen */
	unsigned int running;		/* targets (Python or not yet) still alive */
	unsigned int blocked;		/* wall mode: threads waiting now (not for a CPU) */
	uint64_t kernel_ns;		/* the sampler's kernel time, every CPU */
	uint64_t budget_skipped;	/* samples skipped to hold the budget */
	double interval;		/* the interval now (raised over budget) */
};

/* Loads and attaches the BPF side. NULL on failure, with a one-line reason in err. */
struct collector *collector__new(const struct collect_opts *o, char *err, size_t errlen);
void collector__free(struct collector *c);

/*
 * Profiles pid. With follow, its children and later descendants that are or become Python
 * are profiled too. Without must_be_python the process may become Python later (exec).
 * Returns 0 or -errno with a one-line reason in err.
 */
int collector_add_pid(struct collector *c, int pid, bool follow, bool must_be_python, char *err,
		      size_t errlen);

/*
 * Takes what the kernel sent, waiting up to timeout_ms; returns within timeout_ms + 20 ms
 * whatever the event rate (what is left is taken by the next call, which does not wait).
 * Every half second, checks the sampler's cost and lowers the rate over budget (a notice).
 * Returns 0 or -errno.
 */
int collector_poll(struct collector *c, int timeout_ms);

/* Sampling ends in the kernel seconds from now, whether or not the caller is on a CPU then. */
void collector_stop_at(struct collector *c, double seconds);

/* A word that ends sampling in the kernel at once when set to 1: a signal handler may store it. */
volatile uint64_t *collector_stop_word(struct collector *c);

/* Ends sampling at once (the perf events are detached); what was sent is still taken. */
void collector_stop(struct collector *c);

/* True once every target has exited. */
bool collector_done(const struct collector *c);

void collector_stats(struct collector *c, struct collect_stats *st);

/*
 * Ends the session: drains the ring buffer and returns the session (owned by the caller):
 * one process as pyinstrument would record it, several under one root per process.
 */
struct session *collector_finish(struct collector *c, double start_time, double duration,
				 const char *description);

/* --per-process: one session per process (at most max), pids[] says whose. Returns the count. */
size_t collector_finish_each(struct collector *c, double start_time, double duration,
			     const char *description, struct session **out, int *pids, size_t max);

/*
 * The first target refused as a Python we cannot profile (its version named), or NULL: when
 * nothing else was profiled, the run failed.
 */
const char *collector_refusal(const struct collector *c);

/*
 * Continuous mode: ends the current window without stopping the sampler. Every process's
 * session for the window [start_time, start_time + duration] goes to out (at most max, pids[]
 * says whose); the processes still running record on into fresh sessions. Returns the count.
 */
size_t collector_take_window(struct collector *c, double start_time, double duration,
			     const char *description, struct session **out, int *pids, size_t max);


/*
 * Dump mode: reads every thread of pid once, whatever it is doing, and hands each to fn
 * (with its Python stack, thread name in the root frame, and state in rec->reason).
 * Returns 0 or -errno with a one-line reason in err.
 */
int collector_dump(struct collector *c, int pid, collect_dump_fn fn, void *ctx, char *err,
		   size_t errlen);

/* The CPython version of a profiled process, 0 if unknown. */
int collector_python_version(struct collector *c, int pid, int *major, int *minor);

/*
 * Unit tests: a collector with no BPF side (nothing loaded or attached, no ring buffer) and
 * `rows` code cache rows. Records go in one at a time, as the ring buffer hands them over;
 * targets are made active by hand in its table (no /proc discovery). Only the record path
 * and collector_take_window work: no poll, finish, stats or dump, and no PYI_PROC_DISCOVER
 * (it needs the kernel's bitmap). collector__free frees it.
 */
struct target_table;
struct collector *collector__new_offline(const struct collect_opts *o, unsigned int rows);
int collector_take_record(struct collector *c, const void *data, size_t size);
struct target_table *collector_targets(struct collector *c);

#endif
