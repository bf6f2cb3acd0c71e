// SPDX-License-Identifier: MIT
/* --async: asyncio tasks as roots under their thread (see asyncio_view.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncio_tasks.h"
#include "asyncio_view.h"
#include "clock.h"
#include "jitter.h"
#include "log.h"
#include "proc.h"
#include "session.h"
#include "symbolize.h"
#include "target.h"

#define BASE_PERIOD_S 0.002	/* scans per second at most: 500 */
#define COST_FACTOR 50.0	/* period >= 50 x a scan's CPU: scanning stays under 2% */
#define MAX_PERIOD_S 5.0	/* the budget wins over freshness: 50 ms scans, every 2.5 s */
#define RETRY_S 0.02		/* a process whose interpreter state is not there yet, */
#define MAX_RETRY_S 1.0		/* ... or cannot be read: less often the longer it lasts */
#define IDLE_PERIOD_S 0.01	/* without --async: only the sole task of a loop is kept */
#define MAX_LOOPS 64
#define COOKIE_CACHE 4096	/* code objects whose cookie was read recently */
#define COOKIE_TTL_S 1.0	/* a freed code object's address is trusted this long at most */

struct view_task {
	uint64_t addr;
	uint64_t indicator;
	int state;
	uint64_t chain;		/* what that stack was made of (chain_hash) */
	uint32_t stack;		/* its current state's stack in the session */
	double acc;		/* seconds on that stack not yet written */
};

struct loop_thread {
	uint64_t loop;
	int tid;
};

struct cookie_entry {
	uint64_t code;
	uint32_t cookie;
	double at;
};

struct asyncio_view {
	struct cookie_entry cookies[COOKIE_CACHE];
	struct target *t;	/* not to be read once its target is freed: see pid */
	int pid;		/* the target's, for the closing line */
	struct session *session;	/* the session the view's frame ids are of */
	uint32_t image;		/* the image (target.image) the reader was made for */
	struct asyncio_reader *r;
	struct view_task *tasks, *next;	/* sorted by addr */
	size_t ntasks, cap, next_cap;
	struct loop_thread loops[MAX_LOOPS];
	unsigned int nloops;
	double last_scan, next_due, period;
	double idle_max;	/* the period's limit while no loop has a sole task */
	double retry;		/* RETRY_S, doubled up to MAX_RETRY_S while no reader can be made */
	uint64_t rng;
	bool as_tasks;		/* --async: tasks as roots */
	/* without --async: the only task, when the last scan found exactly one, suspended */
	int sole_tid;
	uint64_t sole_addr, sole_indicator;
	uint32_t sole_frames[ASYNCIO_MAX_CHAIN + 1];	/* session frame ids, [await] last */
	uint32_t sole_n;
	uint32_t run_once_ident;	/* the identifier of asyncio's _run_once, once seen */
	struct asyncio_view_stats st;
};

static struct asyncio_reader *reader_for(struct target *t)
{
	uint64_t interp = 0;

	if (t->layout.runtime_interpreters_head < 0 ||
	    proc_read(t->pid, t->py.runtime + t->layout.runtime_interpreters_head, &interp,
		      sizeof(interp)) || !interp) {
		errno = ENOENT;
		return NULL;
	}
	return asyncio_reader__new(t->pid, &t->layout, interp);
}

struct asyncio_view *asyncio_view__new(struct target *t, bool tasks, double idle_max)
{
	struct asyncio_view *v;

	if (!asyncio_layout_find(t->layout.off.version_hex))
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	v->t = t;
	v->pid = t->pid;
	v->as_tasks = tasks;
	v->run_once_ident = SESSION_NO_FRAME;
	v->period = tasks ? BASE_PERIOD_S : IDLE_PERIOD_S;
	v->idle_max = idle_max > IDLE_PERIOD_S ? idle_max : IDLE_PERIOD_S;
	v->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)t->pid;
	return v;
}

double asyncio_view_next_due(const struct asyncio_view *v)
{
	return v->next_due;
}

void asyncio_view__free(struct asyncio_view *v)
{
	if (!v)
		return;
	if (v->r) {
		struct asyncio_reader_stats rs;

		/* what the scans cost, for -v */
		asyncio_reader_stats(v->r, &rs);
		pr_info("asyncio: process %d: %llu scans, %.3fs CPU, %llu tasks, period %.4fs, "
			"%llu reads, %llu chains read, %llu reused", v->pid,
			(unsigned long long)v->st.scans, v->st.scan_cpu,
			(unsigned long long)v->st.tasks_seen, v->period,
			(unsigned long long)rs.reads, (unsigned long long)rs.chains_read,
			(unsigned long long)rs.chains_reused);
	}
	asyncio_reader__free(v->r);
	free(v->tasks);
	free(v->next);
	free(v);
}

/* ---- stacks ------------------------------------------------------------------------------ */

/* The cookie of a code object, computed as the sampler does (pyinst_abi.h). */
static uint32_t code_cookie(const struct target *t, uint64_t code)
{
	const struct pyi_offsets *o = &t->off;
	uint8_t block[PYI_CODE_BLOCK];
	__u64 window[PYI_NAME_WINDOW / 8] = { 0 };
	uint64_t name = 0, file = 0, table = 0;
	int32_t first = 0, flags = 0;

	if (proc_read(t->pid, code, block, sizeof(block)))
		return 0;
	memcpy(&name, block + o->code_name, 8);
	memcpy(&file, block + o->code_filename, 8);
	memcpy(&table, block + o->code_linetable, 8);
	memcpy(&first, block + o->code_firstlineno, 4);
	memcpy(&flags, block + o->code_flags, 4);
	if (name)
		proc_read(t->pid, name + o->unicode_length, window, sizeof(window));
	return pyi_cookie(name, file, table, first, flags, window);
}

/* Chains and running stacks name the same few code objects scan after scan. */
static uint32_t cached_cookie(struct asyncio_view *v, uint64_t code)
{
	struct cookie_entry *e = &v->cookies[(code >> 4 ^ code >> 16) & (COOKIE_CACHE - 1)];

	if (e->code != code || v->last_scan - e->at > COOKIE_TTL_S || v->last_scan < e->at) {
		e->code = code;
		e->cookie = code_cookie(v->t, code);
		e->at = v->last_scan;
	}
	return e->cookie;
}

static uint32_t push_frames(struct asyncio_view *v, struct symbolizer *sy, uint32_t stack,
			    const struct asyncio_task *task)
{
	struct target *t = v->t;

	for (uint32_t i = 0; i < task->nframes; i++) {
		struct pyi_frame f = {
			.code = task->frames[i].code,
			.cookie = cached_cookie(v, task->frames[i].code),
			.lasti = task->frames[i].lasti,
		};
		uint32_t id = symbolizer_frame(sy, t->session, &t->sym, 0, &f);

		if (id != SESSION_NO_FRAME)
			stack = session_stack_push(t->session, stack, id);
	}
	return stack;
}

/* "name\0<task>\00": a task's frame, as pyinstrument writes a thread's. */
static uint32_t task_frame(struct session *s, const char *prefix, const char *name)
{
	char info[ASYNCIO_NAME_MAX + 64];
	int n = snprintf(info, sizeof(info), "%s%s%c%s%c0", prefix, name, 0, ASYNCIO_TASK_FILE,
			 0);

	if (n >= (int)sizeof(info))
		n = sizeof(info) - 1;
	return session_intern_frame(s, info, (size_t)n);
}

/* The name of task addr among this scan's (in address order). */
static const char *name_of(const struct asyncio_task *const *all, int n, uint64_t addr)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (all[mid]->addr == addr)
			return all[mid]->name;
		if (all[mid]->addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The thread a task belongs to: where it runs, else where its loop was last seen running. */
static struct target_thread *thread_of(struct asyncio_view *v, const struct asyncio_task *task)
{
	unsigned int i;
	int tid = 0;

	for (i = 0; i < v->nloops; i++) {
		if (v->loops[i].loop == task->loop)
			tid = v->loops[i].tid;
	}
	if (task->state == ASYNCIO_RUNNING && task->tid > 0 && tid != task->tid) {
		for (i = 0; i < v->nloops && v->loops[i].loop != task->loop; i++)
			;
		if (i < MAX_LOOPS) {
			v->loops[i] = (struct loop_thread){ .loop = task->loop, .tid = task->tid };
			if (i == v->nloops)
				v->nloops++;
		}
		tid = task->tid;
	}
	if (!tid)
		tid = v->t->pid;	/* not seen running yet: asyncio.run's main thread */
	/* the newest record of that tid: an older thread with the same tid has ended */
	for (size_t k = v->t->nthreads; k-- > 0;) {
		if (v->t->threads[k].tid == tid)
			return &v->t->threads[k];
	}
	return NULL;
}

static uint32_t task_stack(struct asyncio_view *v, struct symbolizer *sy,
			   const struct asyncio_task *task, const struct asyncio_task *const *all,
			   int n)
{
	struct session *s = v->t->session;
	struct target_thread *th = thread_of(v, task);
	const char *other;
	uint32_t stack;

	if (!th)
		return SESSION_NO_STACK;	/* its thread has no sample yet */
	stack = session_stack_push(s, th->stack, task_frame(s, "", task->name));
	stack = push_frames(v, sy, stack, task);
	if (task->state == ASYNCIO_RUNNING)
		return stack;
	if (task->awaited_task) {
		other = name_of(all, n, task->awaited_task);
		stack = session_stack_push(s, stack,
					   task_frame(s, "await ", other ? other : "Task"));
	}
	return session_stack_push(s, stack, session_intern_frame(s, "[await]", 7));
}

/* ---- accounting -------------------------------------------------------------------------- */

static void emit(struct asyncio_view *v, struct view_task *vt)
{
	if (vt->acc > 0 && vt->stack != SESSION_NO_STACK)
		session_add_sample(v->t->session, vt->stack, vt->acc);
	vt->acc = 0;
}

static struct view_task *old_find(struct asyncio_view *v, uint64_t addr, size_t *hint)
{
	while (*hint < v->ntasks && v->tasks[*hint].addr < addr)
		emit(v, &v->tasks[(*hint)++]);	/* gone since the last scan: its time is written */
	if (*hint < v->ntasks && v->tasks[*hint].addr == addr)
		return &v->tasks[(*hint)++];
	return NULL;
}

/* A fingerprint of everything a task's stack is made of (FNV-1a over its fields). */
static uint64_t chain_hash(const struct asyncio_task *task)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint64_t words[] = { (uint64_t)task->state, task->awaited_task, (uint64_t)task->tid,
				   task->loop };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		h = (h ^ words[i]) * 0x100000001b3ULL;
	for (uint32_t i = 0; i < task->nframes; i++) {
		h = (h ^ task->frames[i].code) * 0x100000001b3ULL;
		h = (h ^ (uint64_t)(uint32_t)task->frames[i].lasti) * 0x100000001b3ULL;
	}
	for (const char *p = task->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h | 1;	/* never 0: 0 means not computed */
}

/* Gives each task dt seconds on its current stack; tasks are sorted by address. */
static int account(struct asyncio_view *v, struct symbolizer *sy,
		   const struct asyncio_task *const *all, int n, double dt)
{
	size_t hint = 0;

	if ((size_t)n > v->next_cap) {
		struct view_task *p = realloc(v->next, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->next = p;
		v->next_cap = n;
	}
	for (int i = 0; i < n; i++) {
		const struct asyncio_task *task = all[i];
		struct view_task *old = old_find(v, task->addr, &hint), *vt = &v->next[i];

		uint64_t chain = 0;

		if (old && task->chain_reused && old->indicator == task->indicator &&
		    old->state == (int)task->state && old->stack != SESSION_NO_STACK) {
			*vt = *old;
		} else if (old && old->stack != SESSION_NO_STACK &&
			   old->chain == (chain = chain_hash(task))) {
			/* it ran, and is back where it was (a loop around the same await) */
			*vt = *old;
			vt->indicator = task->indicator;
		} else {
			if (old)
				emit(v, old);
			else
				v->st.tasks_seen++;
			*vt = (struct view_task){ .addr = task->addr, .indicator = task->indicator,
						  .state = task->state };
			vt->stack = task_stack(v, sy, task, all, n);
			vt->chain = chain ? chain : chain_hash(task);
		}
		vt->acc += dt;
	}
	while (hint < v->ntasks)
		emit(v, &v->tasks[hint++]);
	/* the new table becomes the current one */
	struct view_task *swap = v->tasks;
	size_t swap_cap = v->cap;

	v->tasks = v->next;
	v->cap = v->next_cap;
	v->ntasks = (size_t)n;
	v->next = swap;
	v->next_cap = swap_cap;
	return 0;
}

/* Without --async: remembers the chain of a loop's only task while it is suspended. */
static void track_sole(struct asyncio_view *v, struct symbolizer *sy,
		       const struct asyncio_task *const *all, int n)
{
	struct session *s = v->t->session;
	const struct asyncio_task *task;
	struct target_thread *th;

	if (n != 1) {	/* none (the scan found fewer tasks than the count did: all is NULL) */
		v->sole_tid = 0;
		return;
	}
	task = all[0];
	/* running now, it suspends again before the next scan, most often where it did before:
	 * its last chain is kept meanwhile (a loop's idle time comes only once it has) */
	if (task->state == ASYNCIO_RUNNING && task->addr == v->sole_addr && v->sole_tid)
		return;
	if (task->state == ASYNCIO_RUNNING || !(th = thread_of(v, task))) {
		v->sole_tid = 0;
		return;
	}
	if (v->sole_tid == th->tid && v->sole_addr == task->addr &&
	    v->sole_indicator == task->indicator)
		return;
	v->sole_n = 0;
	for (uint32_t i = 0; i < task->nframes; i++) {
		struct pyi_frame f = {
			.code = task->frames[i].code,
			.cookie = cached_cookie(v, task->frames[i].code),
			.lasti = task->frames[i].lasti,
		};
		uint32_t id = symbolizer_frame(sy, s, &v->t->sym, 0, &f);

		if (id != SESSION_NO_FRAME)
			v->sole_frames[v->sole_n++] = id;
	}
	v->sole_frames[v->sole_n++] = session_intern_frame(s, "[await]", 7);
	v->sole_tid = th->tid;
	v->sole_addr = task->addr;
	v->sole_indicator = task->indicator;
}

/* Is this frame asyncio's BaseEventLoop._run_once? Its identifier is learned once. */
static bool is_run_once(struct asyncio_view *v, uint32_t frame)
{
	struct session *s = v->t->session;
	uint32_t ident = session_frame_ident(s, frame);
	static const char want[] = "_run_once";
	const char *info, *file;
	size_t len;

	if (v->run_once_ident != SESSION_NO_FRAME)
		return ident == v->run_once_ident;
	info = session_ident(s, ident, &len);
	if (len <= sizeof(want) || memcmp(info, want, sizeof(want)))	/* name and its \0 */
		return false;
	file = info + sizeof(want);
	if (!strstr(file, "asyncio/base_events.py"))
		return false;
	v->run_once_ident = ident;
	return true;
}

uint32_t asyncio_view_idle_stack(struct asyncio_view *v, int tid, uint32_t stack)
{
	struct session *s;
	uint32_t at;

	if (!v || v->as_tasks || !v->sole_tid || v->sole_tid != tid || v->session != v->t->session)
		return SESSION_NO_STACK;
	s = v->t->session;
	for (at = stack; at != SESSION_NO_STACK; at = session_stack_parent(s, at)) {
		if (is_run_once(v, session_stack_frame(s, at)))
			break;
	}
	if (at == SESSION_NO_STACK)
		return SESSION_NO_STACK;
	for (uint32_t i = 0; i < v->sole_n; i++)
		at = session_stack_push(s, at, v->sole_frames[i]);
	return at;
}

int asyncio_view_tick(struct asyncio_view *v, struct symbolizer *sy, double now)
{
	const struct asyncio_task *const *tasks;
	double cpu0, cost, dt;
	int n, err;

	if (now < v->next_due)
		return 0;
	if (v->session != v->t->session || !v->r || v->image != v->t->image) {
		/* first scan, a new session (continuous mode's windows: the frame ids are of the
		 * old one), or the process exec'd (what the old reader knew is void) */
		asyncio_view_flush(v);
		v->ntasks = 0;
		v->nloops = 0;
		v->sole_tid = 0;
		v->run_once_ident = SESSION_NO_FRAME;
		v->session = v->t->session;
		v->last_scan = 0;
		if (!v->r || v->image != v->t->image) {
			asyncio_reader__free(v->r);
			v->r = reader_for(v->t);
			v->image = v->t->image;
		}
		if (!v->r) {
			/* the interpreter is still starting (or its memory cannot be read) */
			v->retry = !v->retry ? RETRY_S : v->retry * 2 > MAX_RETRY_S ? MAX_RETRY_S :
				   v->retry * 2;
			v->next_due = now + v->retry;
			return 0;
		}
		v->retry = 0;
	}
	/* without --async only a loop with one task matters: more are counted, not read */
	if (!v->as_tasks && asyncio_reader_count(v->r, 2) != 1) {
		v->sole_tid = 0;
		if (v->period < v->idle_max)
			v->period = v->period * 2 < v->idle_max ? v->period * 2 : v->idle_max;
		v->next_due = now + v->period * jitter_next(&v->rng);
		return 0;
	}
	cpu0 = thread_cpu_s();
	n = asyncio_reader_scan(v->r, &tasks);
	if (n < 0)
		return n;
	dt = v->last_scan ? now - v->last_scan : 0;
	v->last_scan = now;
	if (v->as_tasks)
		err = account(v, sy, tasks, n, dt);
	else
		track_sole(v, sy, tasks, n), err = 0;
	cost = thread_cpu_s() - cpu0;
	v->st.scans++;
	v->st.scan_cpu += cost;
	/* the first scan walks every chain once: its cost says nothing of the next ones */
	v->period = v->st.scans == 1 ? 0 : cost * COST_FACTOR;
	if (v->period < (v->as_tasks ? BASE_PERIOD_S : IDLE_PERIOD_S))
		v->period = v->as_tasks ? BASE_PERIOD_S : IDLE_PERIOD_S;
	if (v->period > MAX_PERIOD_S)
		v->period = MAX_PERIOD_S;
	v->next_due = now + v->period * jitter_next(&v->rng);
	return err;
}

void asyncio_view_flush(struct asyncio_view *v)
{
	if (!v || v->session != v->t->session)
		return;
	for (size_t i = 0; i < v->ntasks; i++)
		emit(v, &v->tasks[i]);
}

void asyncio_view_restart(struct asyncio_view *v)
{
	if (v)
		v->session = NULL;
}

void asyncio_view_stats(const struct asyncio_view *v, struct asyncio_view_stats *st)
{
	*st = v->st;
	st->period = v->period;
}
