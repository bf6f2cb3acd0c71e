/* SPDX-License-Identifier: MIT */
/*
 * --async: asyncio tasks as roots under their thread in a target's session. Each scan reads the
 * tasks (asyncio_tasks.h) and gives every live task the time since the previous scan, on its
 * current stack: "<name> <task>" then its real stack while it runs, or its await chain ending in
 * [await] (after the task it awaits, when it awaits one) while it is suspended. A task's total is
 * its lifetime in the session. A task whose state did not change costs no symbolizing and no
 * session work: its time accumulates and is written once, when its state changes or at the end.
 */
#ifndef PYINST_ASYNCIO_VIEW_H
#define PYINST_ASYNCIO_VIEW_H

#include <stdbool.h>
#include <stdint.h>

struct target;
struct symbolizer;
struct asyncio_view;

/* The file name of a task's root frame, as "<thread>" is a thread's. */
#define ASYNCIO_TASK_FILE "<task>"

/* How often the collector should call asyncio_view_tick at most, in ms. */
#define ASYNCIO_VIEW_POLL_MS 1
#define ASYNCIO_IDLE_POLL_MS 10	/* wall mode without --async (asyncio_view_idle_stack) */

/*
 * With tasks (--async) every task gets a root; without, the view only remembers the one
 * suspended task of a loop that has exactly one (asyncio_view_idle_stack).
 * idle_max: without tasks, how far the looks may back off while no loop has a sole task (0:
 * they do not; continuous mode lets them, as a loop found a little late costs it nothing).
 * NULL with errno: ENOTSUP (no asyncio layout for the version), ENOMEM.
 */
struct asyncio_view *asyncio_view__new(struct target *t, bool tasks, double idle_max);
void asyncio_view__free(struct asyncio_view *v);

/*
 * Scans when due (now: CLOCK_MONOTONIC seconds). The period adapts so that scanning costs at
 * most about 2% of a CPU, whatever the number of tasks. Returns 0 or -errno (-ESRCH: gone).
 */
int asyncio_view_tick(struct asyncio_view *v, struct symbolizer *sy, double now);

/* When the view's next scan or look is due (CLOCK_MONOTONIC seconds). */
double asyncio_view_next_due(const struct asyncio_view *v);

/*
 * pyinstrument's async_mode "enabled", without --async: a sample of thread tid idle in its event
 * loop (stack ends in the loop's select) while the loop's only task is suspended becomes the
 * stack up to _run_once, then that task's await chain and [await]. SESSION_NO_STACK when the
 * sample stays as it is (no loop frame, no task, or several).
 */
uint32_t asyncio_view_idle_stack(struct asyncio_view *v, int tid, uint32_t stack);

/* Writes the time still accumulated into the session (at the end, or before an exec). */
void asyncio_view_flush(struct asyncio_view *v);
/* The target's session was replaced (a window, a fold): the view's ids are void; its next scan
 * starts over (flush first, into the old session). */
void asyncio_view_restart(struct asyncio_view *v);

struct asyncio_view_stats {
	uint64_t scans;
	uint64_t tasks_seen;	/* distinct tasks over the session */
	double scan_cpu;	/* seconds of this thread's CPU spent scanning */
	double period;		/* the current scan period */
};
void asyncio_view_stats(const struct asyncio_view *v, struct asyncio_view_stats *st);

#endif /* PYINST_ASYNCIO_VIEW_H */
