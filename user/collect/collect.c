// SPDX-License-Identifier: MIT
/*
 * The collector: loads bpf/sampler.bpf.c, opens a cpu-clock perf event per CPU (or per target
 * thread with PYI_PERF_PER_TASK=1), takes sample, code and process records off the ring
 * buffer, and builds one session per Python process.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "asyncio_view.h"
#include "clock.h"
#include "collect.h"
#include "jitter.h"
#include "log.h"
#include "proc.h"
#include "python_layouts.h"
#include "sampler.skel.h"
#include "session.h"
#include "symbolize.h"
#include "target.h"
#include "waits.h"

#define DISCOVERY_TIMEOUT_S 10.0	/* how long an exec'd process may take to look like Python */
#define RETRY_MAX_S 1.0	/* a pending target is looked at at least this often */

#define PENDING_POLL_MS 2	/* how often to look at a process that may become Python */
#define WALL_PERIOD_S 0.01	/* wall mode: threads off a CPU are read this often at most */
#define NAMES_PERIOD_S 0.5	/* threading's names are read again this often */
#define FORGET_PERIOD_S 2.0	/* ended threads are forgotten this often */
#define FOLD_MIN_ENDED 1000	/* ended threads with roots of their own before they are folded */
#define WALL_SHARE 0.01		/* the iterators' runs take at most this share of a CPU */
#define WALL_PERIOD_MAX_S 0.05	/* ... but they run at least this often */
/* continuous mode (opts.continuous): the fixed cost of a profiler left on every host first */
#define CONT_WALL_SHARE 0.005	/* the iterators' share of a CPU */
#define CONT_WALL_PERIOD_MAX_S 0.25	/* ... which wins up to here */
#define CONT_ASYNC_IDLE_MAX_S 0.5	/* a process without a loop's sole task: looked at */
#define CPU_UPDATE_S 0.2		/* the targets' CPU time read (for the status line) */
#define CONT_CPU_UPDATE_S 1.0		/* ... without one */
#define POLL_SLICE_S 0.02	/* records taken per poll for at most this long past its timeout:
				 * the caller's clock and signals come back in timeout + 20 ms
				 * whatever the event rate */
#define BUDGET_CHECK_S 0.5	/* how often the sampler's cost is read */
#define MAX_PERIOD_NS 100000000ULL	/* the rate is lowered down to 10 Hz at most */

struct collector {
	struct collect_opts opts;
	struct sampler *skel;
	double next_wall;	/* when the wall iterator runs next */
	double next_names;	/* when threading's names may be read again */
	double next_forget;	/* when ended threads are forgotten next */
	uint64_t wall_tick;	/* runs of the wall iterators so far */
	double wall_run_s;	/* how long a run of the iterators takes (moving average) */
	uint64_t wall_rng;	/* xorshift64 state of the runs' jitter */
	collect_dump_fn dump_fn;	/* dump mode: where each thread's record goes */
	void *dump_ctx;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int *perf_fds;
	int ncpus;
	bool per_task;		/* perf events on the targets' threads (task_events), not per CPU */
	struct task_event *task_events;
	size_t ntask_events, task_events_cap;
	struct symbolizer *sym;
	struct target_table targets;
	char refusal[256];	/* the first Python refused (ENOTSUP), "" if none */
	uint64_t samples;
	uint64_t last_sample_ns;	/* ktime of the latest on-CPU sample taken */
	double slice_end;	/* on_record stops the ring buffer's loop from then on */
	bool backlog;		/* records were left in the ring buffer by the last poll */
	uint64_t period_ns;	/* the perf events' period now */
	double last_budget_check;
	uint64_t *budget_ns, *budget_skipped;	/* per CPU, at the last check */
	struct pyi_budget budget_sum;	/* over CPUs, at the last check */
	struct async_slot *async;	/* --async: one task view per target */
	size_t nasync;
};

/* A cpu-clock event opened on one thread of a target; the threads it starts inherit it. */
struct task_event {
	int tid;
	int fd;
	struct bpf_link *link;
};

struct async_slot {
	struct target *t;
	struct asyncio_view *view;	/* NULL: the target's version has no task reader */
};

/*
 * libbpf's messages go through our log like any other: its warnings at info level, as the
 * caller sums a failure up in one line of its own (-v shows them, the verifier log with them),
 * the rest at debug level.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log_vtext(level == LIBBPF_WARN ? LOG_INFO : LOG_DEBUG, "", fmt, ap);	/* "libbpf: ..." */
	return 0;
}

/*
 * A Python we cannot profile, told once per process and image: a static build is looked at
 * again when its exec event arrives after the first look, which used to tell it twice.
 */
static void refuse(struct collector *c, struct target *t, const char *why)
{
	uint32_t h = 2166136261u;

	for (const char *p = why; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	t->state = TARGET_FAILED;
	if (!c->refusal[0])
		snprintf(c->refusal, sizeof(c->refusal), "%s", why);
	if (t->refused == h)
		return;
	t->refused = h;
	pr_warn("%s", why);
}

const char *collector_refusal(const struct collector *c)
{
	return c->refusal[0] ? c->refusal : NULL;
}

/* ---- records ------------------------------------------------------------------------------ */

/* The Python stack of a sample, root first under its thread root. */
static uint32_t sample_stack(struct collector *c, struct target *t, struct target_thread *th,
			     const struct pyi_sample *s, uint32_t *leaf)
{
	uint32_t stack = th->stack, id, j, n = s->nframes;

	*leaf = SESSION_NO_FRAME;
	/* frames are stored leaf first from head, wrapping; push them root first */
	for (j = n; j-- > 0;) {
		id = symbolizer_frame(c->sym, t->session, &t->sym, s->row,
				      &s->frames[(s->head + j) % n]);
		if (id == SESSION_NO_FRAME)
			continue;
		stack = session_stack_push(t->session, stack, id);
		*leaf = id;
	}
	if (s->flags & PYI_SF_TRUNCATED)
		stack = session_stack_push(t->session, stack,
					   target_truncated_frame(t, s->depth - n));
	return stack;
}

/* Wall mode: the synthetic leaf that says why the thread was off CPU. */
static uint32_t push_wait(struct collector *c, struct target *t, uint32_t stack, uint32_t leaf,
			  uint32_t reason, bool *idle)
{
	const char *label, *leaf_info = NULL;
	char buf[64], info[128];
	size_t leaf_len = 0;
	int n;

	if (leaf != SESSION_NO_FRAME)
		leaf_info = session_frame_info(t->session, leaf, &leaf_len);
	*idle = waits_is_idle(reason, leaf_info, leaf_len);
	label = waits_label(reason, buf, sizeof(buf));
	n = snprintf(info, sizeof(info), "%s%c%s%c0", label, 0, *idle ? IDLE_FILE : WAIT_FILE, 0);
	return session_stack_push(t->session, stack, session_intern_frame(t->session, info, n));
}

static struct asyncio_view *async_view(struct collector *c, const struct target *t)
{
	for (size_t i = 0; i < c->nasync; i++) {
		if (c->async[i].t == t)
			return c->async[i].view;
	}
	return NULL;
}

/*
 * Is the sample's thread in its event loop's wait for events (select)? Waiting there for a CPU
 * too: the loop's task is still suspended until the loop runs it, and pyinstrument counts all
 * of that time as its await.
 */
static bool waits_is_idle_sample(uint32_t reason, struct session *s, uint32_t leaf)
{
	const char *info;
	size_t len = 0;

	if (leaf == SESSION_NO_FRAME || reason == PYI_REASON_GIL)
		return false;
	info = session_frame_info(s, leaf, &len);
	return waits_is_idle(reason == PYI_REASON_PREEMPTED ? PYI_REASON_BLOCKED : reason, info,
			     len);
}

static void take_sample(struct collector *c, const struct pyi_sample *s, size_t size)
{
	struct target *t = target_find(&c->targets, (int)s->pid);
	struct target_thread *th;
	uint32_t stack, leaf;
	bool idle = false;

	if (!t || t->state != TARGET_ACTIVE || s->nframes > PYI_FRAMES_CAP ||
	    size < sizeof(*s) + (size_t)s->nframes * sizeof(struct pyi_frame) ||
	    (s->nframes && s->head >= s->nframes))
		return;
	if (c->dump_fn) {
		th = target_thread(t, (int)s->tid, s->thread_ident, s->gen);
		stack = th ? sample_stack(c, t, th, s, &leaf) : SESSION_NO_STACK;
		c->dump_fn(c->dump_ctx, t->session, s, stack);
		return;
	}
	if (s->flags & PYI_SF_NO_TSTATE)
		return;	/* a thread without Python: nothing of it belongs in a Python profile */
	if (s->flags & PYI_SF_SAME) {
		/* not run since its last walk: that stack again, with today's reason */
		th = target_thread_find(t, (int)s->tid, s->gen);
		if (!th || !th->walked)
			return;
		stack = th->walked_stack;
		leaf = th->walked_leaf;
	} else if (s->flags & PYI_SF_RACED) {
		/* read while it ran again: the last stack it was seen with, else none (not a mix) */
		th = target_thread(t, (int)s->tid, s->thread_ident, s->gen);
		if (!th)
			return;
		stack = th->recent ? th->recent_stack : th->stack;
		leaf = th->recent ? th->recent_leaf : SESSION_NO_FRAME;
	} else {
		th = target_thread(t, (int)s->tid, s->thread_ident, s->gen);
		if (!th)
			return;
		stack = sample_stack(c, t, th, s, &leaf);
		th->recent = true;
		th->recent_stack = stack;
		th->recent_leaf = leaf;
		if (s->flags & PYI_SF_OFFCPU) {
			th->walked = true;
			th->walked_stack = stack;
			th->walked_leaf = leaf;
		}
	}
	if (s->flags & PYI_SF_OFFCPU) {
		uint32_t awaited = SESSION_NO_STACK;

		/* off a CPU at the last run of the iterator: the status line's blocked count */
		th->off_tick = c->wall_tick;
		th->off_reason = s->reason;
		if (waits_is_idle_sample(s->reason, t->session, leaf))
			awaited = asyncio_view_idle_stack(async_view(c, t), (int)s->tid, stack);
		if (awaited != SESSION_NO_STACK) {
			stack = awaited;
		} else {
			stack = push_wait(c, t, stack, leaf, s->reason, &idle);
			if (idle && c->opts.hide_idle)
				return;
		}
	} else if (c->nasync && waits_is_idle_sample(PYI_REASON_BLOCKED, t->session, leaf)) {
		/* on a CPU inside the loop's select: still the loop's wait for its task */
		uint32_t awaited = asyncio_view_idle_stack(async_view(c, t), (int)s->tid, stack);

		if (awaited != SESSION_NO_STACK)
			stack = awaited;
	}
	session_add_sample(t->session, stack,
			   s->weight_ns ? (double)s->weight_ns / 1e9 : c->opts.interval);
	c->samples++;
	if (!(s->flags & PYI_SF_OFFCPU) && s->ts > c->last_sample_ns)
		c->last_sample_ns = s->ts;
}

static void mark_interesting(struct collector *c, int pid);
static void unmark_interesting(struct collector *c, int pid);
static int activate(struct collector *c, struct target *t, char *err, size_t errlen);

/* --cgroup / --all: the kernel saw a process we have not looked at. */
static void discover(struct collector *c, int pid)
{
	struct target *t = target_find(&c->targets, pid);
	char err[256];
	int rc;

	if (t && t->state != TARGET_EXITED)
		return;
	/* a pid seen before belonged to a process that has exited: this one is another, with a
	 * session of its own */
	t = target_add(&c->targets, pid, false, NULL);
	if (!t)
		return;
	/* watched from now on: an exec may turn it into Python */
	mark_interesting(c, pid);
	rc = activate(c, t, err, sizeof(err));
	if (rc == -ENOTSUP)
		refuse(c, t, err);
	else if (rc)
		t->state = TARGET_FAILED;
	/* gone already: the kernel saw no exit of an interesting process, so forget it here */
	if (rc && !proc_exists(pid)) {
		t->state = TARGET_EXITED;
		unmark_interesting(c, pid);
	}
}

static void take_proc_event(struct collector *c, const struct pyi_proc_event *ev)
{
	struct target *t = target_find(&c->targets, (int)ev->pid);
	struct target *parent;

	switch (ev->kind) {
	case PYI_PROC_DISCOVER:
		discover(c, (int)ev->pid);
		break;
	case PYI_PROC_FORK:
		parent = target_find(&c->targets, (int)ev->ppid);
		if (!t || t->state == TARGET_EXITED)	/* a reused pid is a new process */
			t = target_add(&c->targets, (int)ev->pid, true, parent);
		break;
	case PYI_PROC_EXEC:
		if (!t)
			break;
		if (t->state == TARGET_ACTIVE) {
			pr_warn("process %d called exec: profiling what it runs now, if Python",
				t->pid);
			symbolizer_forget(c->sym, t->pid);
		}
		target_retire_session(t);
		t->image++;
		/* it runs something else now: its root is named after what it runs */
		proc_cmdline(t->pid, t->cmdline, sizeof(t->cmdline));
		t->state = TARGET_PENDING;
		t->pending_since = monotonic_s();
		t->next_retry = 0;
		break;
	case PYI_PROC_EXIT:
		if (!t)
			break;
		target_update_cpu(t);
		t->state = TARGET_EXITED;
		bpf_link__destroy(t->wall_link);
		t->wall_link = NULL;
		symbolizer_forget(c->sym, t->pid);
		break;
	default:
		break;
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	__u32 type;
	int rc = 0;

	/* libbpf loops while the producer keeps up: a negative return ends the loop after this
	 * record (taken), so a poll returns when its slice is over whatever the event rate */
	if (c->slice_end && monotonic_s() > c->slice_end)
		rc = -EAGAIN;
	if (size < sizeof(type))
		return rc;
	type = *(const __u32 *)data;
	switch (type) {
	case PYI_REC_SAMPLE:
		if (size >= sizeof(struct pyi_sample))
			take_sample(c, data, size);
		break;
	case PYI_REC_CODE:
		if (size >= sizeof(struct pyi_code))
			symbolizer_add_code(c->sym, data);
		break;
	case PYI_REC_PROC:
		if (size >= sizeof(struct pyi_proc_event))
			take_proc_event(c, data);
		break;
	default:
		break;
	}
	return rc;
}

/* ---- records without the BPF side (unit tests) -------------------------------------------- */

struct collector *collector__new_offline(const struct collect_opts *o, unsigned int rows)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->opts = *o;
	target_table_init(&c->targets);
	c->sym = symbolizer__new(rows);
	if (!c->sym) {
		free(c);
		return NULL;
	}
	return c;
}

int collector_take_record(struct collector *c, const void *data, size_t size)
{
	return on_record(c, (void *)data, size);
}

struct target_table *collector_targets(struct collector *c)
{
	return &c->targets;
}

/* ---- setup -------------------------------------------------------------------------------- */

static size_t ringbuf_size(const struct collect_opts *o, int ncpus)
{
	/* a quarter second of samples at the full rate with 128-frame stacks, 8 MiB at least */
	double per_s = ncpus / o->interval * (sizeof(struct pyi_sample) + 128 * 24);
	size_t size = 8u << 20;

	while (size < per_s / 4 && size < (256u << 20))
		size <<= 1;
	return size;
}

static int configure(struct collector *c)
{
	struct sampler *skel = c->skel;
	unsigned int rows = c->ncpus + 1;	/* one per CPU, then the iterator's */

	skel->rodata->max_depth = c->opts.max_depth;
	skel->rodata->iter_slot = c->ncpus;
	skel->rodata->gil_only = c->opts.gil_only;
	/* --gil charges a thread only while it holds the GIL: its run time is not that */
	skel->rodata->settle_oncpu = c->opts.wall && !c->opts.gil_only;
	skel->rodata->target_cgroup = c->opts.cgroup_id;
	skel->rodata->target_cgroup_level = c->opts.cgroup_level;
	skel->rodata->discover_all = c->opts.discover_all;
	skel->rodata->budget_ns = COLLECT_BUDGET_NS_PER_S * PYI_BUDGET_WINDOW_NS / 1000000000ULL;
	skel->rodata->budget_events = COLLECT_BUDGET_EVENTS_PER_S * PYI_BUDGET_WINDOW_NS /
				      1000000000ULL;
	c->period_ns = (__u64)(c->opts.interval * 1e9);
	skel->data->sample_period_ns = c->period_ns;
	if (bpf_map__set_max_entries(skel->maps.scratch_map, rows) ||
	    bpf_map__set_max_entries(skel->maps.code_caches, rows) ||
	    bpf_map__set_max_entries(skel->maps.events, ringbuf_size(&c->opts, c->ncpus)))
		return -EINVAL;
	return 0;
}

static void cpu_clock_attr(const struct collector *c, struct perf_event_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = PERF_TYPE_SOFTWARE;
	attr->size = sizeof(*attr);
	attr->config = PERF_COUNT_SW_CPU_CLOCK;
	attr->sample_period = (__u64)(c->opts.interval * 1e9);
}

static int open_perf_events(struct collector *c, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	int cpu, fd, opened = 0;

	cpu_clock_attr(c, &attr);
	for (cpu = 0; cpu < c->ncpus; cpu++) {
		c->perf_fds[cpu] = -1;
		fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue;	/* an offline CPU */
			snprintf(err, errlen, "cannot open a cpu-clock perf event on CPU %d: %s",
				 cpu, strerror(errno));
			return -errno;
		}
		c->perf_fds[cpu] = fd;
		c->links[cpu] = bpf_program__attach_perf_event(c->skel->progs.on_cpu_sample, fd);
		if (!c->links[cpu]) {
			snprintf(err, errlen, "cannot attach the sampler to CPU %d: %s", cpu,
				 strerror(errno));
			return -errno;
		}
		opened++;
	}
	return opened ? 0 : -ENODEV;
}

/* ---- per-task perf events ------------------------------------------------------------------ */

/*
 * PYI_PERF_PER_TASK=1, with known targets (--pid, a launched command and what it starts): the
 * cpu-clock event is opened on each of their threads, not on each CPU. Its timer runs only
 * while a target thread runs, so other processes pay nothing, where an event per CPU fires
 * 1000 times a second on every CPU whatever runs there. The event is inherited (attr.inherit)
 * by every thread a thread with it starts, and by the processes it forks when those are
 * followed; the kernel gives the inherited events the parent's BPF program. --all and
 * --cgroup keep an event per CPU: they find their targets through it.
 */

static bool task_event_has(const struct collector *c, int tid)
{
	for (size_t i = 0; i < c->ntask_events; i++) {
		if (c->task_events[i].tid == tid)
			return true;
	}
	return false;
}

static void close_task_events(struct collector *c)
{
	/* closing an event also removes the events its threads inherited */
	for (size_t i = 0; i < c->ntask_events; i++) {
		bpf_link__destroy(c->task_events[i].link);
		close(c->task_events[i].fd);
	}
	c->ntask_events = 0;
}

/* 1: an event was opened on tid, 0: it has one or has exited, < 0: -errno. */
static int open_task_event(struct collector *c, int tid, bool follow)
{
	struct perf_event_attr attr;
	struct task_event *te;
	int fd, rc;

	if (task_event_has(c, tid))
		return 0;
	if (c->ntask_events == c->task_events_cap) {
		size_t cap = c->task_events_cap ? 2 * c->task_events_cap : 16;

		te = realloc(c->task_events, cap * sizeof(*te));
		if (!te)
			return -ENOMEM;
		c->task_events = te;
		c->task_events_cap = cap;
	}
	cpu_clock_attr(c, &attr);
	attr.inherit = 1;
	/* not followed: the processes it forks are not targets and pay nothing */
	attr.inherit_thread = !follow;
	fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? 0 : -errno;
	te = &c->task_events[c->ntask_events];
	te->link = bpf_program__attach_perf_event(c->skel->progs.on_cpu_sample, fd);
	if (!te->link) {
		rc = -errno;
		close(fd);
		return rc;
	}
	te->tid = tid;
	te->fd = fd;
	c->ntask_events++;
	return 1;
}

/*
 * An event on every thread of pid. A thread started while its starter had no event yet has
 * none: the threads are listed again until a listing finds none new. One started after its
 * starter's event inherited it and may get a second here: the program counts only one of them.
 */
static int open_task_events(struct collector *c, int pid, bool follow)
{
	char path[64];
	struct dirent *de;
	int added, rc = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	do {
		added = 0;
		d = opendir(path);
		if (!d)
			return errno == ENOENT ? 0 : -errno;	/* gone: nothing to sample */
		while (!rc && (de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);

			if (*end || tid <= 0)
				continue;
			rc = open_task_event(c, (int)tid, follow);
			added += rc > 0;
			rc = rc < 0 ? rc : 0;
		}
		closedir(d);
	} while (!rc && added);
	return rc;
}

/* Per-task events are not possible here (too many threads for the descriptors left, a kernel
 * without inherit_thread, no right to trace the target, ...): an event per CPU instead, as
 * before them, opened before sampling begins. */
static int fall_back_per_cpu(struct collector *c, int why, char *err, size_t errlen)
{
	close_task_events(c);
	c->per_task = false;
	c->skel->bss->per_task_events = false;
	pr_info("cannot open perf events on the targets' threads (%s): one per CPU instead",
		strerror(-why));
	return open_perf_events(c, err, errlen);
}

/* As many descriptors as allowed: an event per thread of a target. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct collector *collector__new(const struct collect_opts *o, char *err, size_t errlen)
{
	struct collector *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->wall_rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();	/* jitter's seed: not 0 */
	c->opts = *o;
	libbpf_set_print(libbpf_print);
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0 || c->ncpus > PYI_MAX_CPUS) {
		snprintf(err, errlen, "unsupported number of CPUs: %d", c->ncpus);
		goto fail;
	}
	c->perf_fds = calloc(c->ncpus, sizeof(int));
	c->links = calloc(c->ncpus, sizeof(*c->links));
	c->budget_ns = calloc(c->ncpus, sizeof(*c->budget_ns));
	c->budget_skipped = calloc(c->ncpus, sizeof(*c->budget_skipped));
	if (!c->perf_fds || !c->links || !c->budget_ns || !c->budget_skipped) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int cpu = 0; cpu < c->ncpus; cpu++)
		c->perf_fds[cpu] = -1;
	/*
	 * Per-task events only when asked (PYI_PERF_PER_TASK=1): they spare other processes the
	 * timer but cost a target on each context switch and lose on-CPU time under thread
	 * storms (docs/design.md, "Perf events"). --all and --cgroup find their targets through
	 * an event per CPU.
	 */
	c->per_task = !o->dump && !o->discover_all && !o->cgroup_id &&
		      getenv("PYI_PERF_PER_TASK") && !strcmp(getenv("PYI_PERF_PER_TASK"), "1");
	target_table_init(&c->targets);
	c->sym = symbolizer__new(c->ncpus + 1);
	c->skel = sampler__open();
	if (!c->sym || !c->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	if (configure(c)) {
		snprintf(err, errlen, "cannot size the BPF maps");
		goto fail;
	}
	/* the iterator is attached per target (its threads only), and cpu mode has no use for it */
	bpf_program__set_autoattach(c->skel->progs.wall_iter, false);
	if (!o->wall && !o->dump)
		bpf_program__set_autoload(c->skel->progs.wall_iter, false);
	/* dump reads each thread once: no sampling, no process events */
	if (o->dump) {
		bpf_program__set_autoload(c->skel->progs.on_cpu_sample, false);
		bpf_program__set_autoload(c->skel->progs.on_fork, false);
		bpf_program__set_autoload(c->skel->progs.on_exec, false);
		bpf_program__set_autoload(c->skel->progs.on_exit, false);
	}
	rc = sampler__load(c->skel);
	if (rc) {
		snprintf(err, errlen, "the BPF programs failed to load: %s%s", strerror(-rc),
			 log_enabled(LOG_INFO) ? "" : " (run with -v for the verifier log)");
		goto fail;
	}
	rc = sampler__attach(c->skel);
	if (rc) {
		snprintf(err, errlen, "cannot attach the process tracepoints: %s", strerror(-rc));
		goto fail;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_record, c, NULL);
	if (!c->rb) {
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(errno));
		goto fail;
	}
	c->skel->bss->per_task_events = c->per_task;
	if (c->per_task)
		raise_fd_limit();
	else if (!o->dump && open_perf_events(c, err, errlen))
		goto fail;
	/*
	 * Wall mode reads the threads off a CPU every 10 ms from here: on a host loaded many
	 * times over, a starved profiler would see them at fewer instants (the time stays exact,
	 * where it is spent gets coarser). It uses little CPU: a higher priority costs the
	 * others latency of microseconds, not throughput.
	 */
	if (o->wall && setpriority(PRIO_PROCESS, 0, -10))
		pr_debug("cannot raise the profiler's priority: %s", strerror(errno));
	return c;
fail:
	collector__free(c);
	return NULL;
}

void collector__free(struct collector *c)
{
	int cpu;

	if (!c)
		return;
	for (cpu = 0; c->links && cpu < c->ncpus; cpu++)
		bpf_link__destroy(c->links[cpu]);
	close_task_events(c);
	free(c->task_events);
	for (size_t i = 0; i < c->targets.len; i++)
		bpf_link__destroy(c->targets.items[i]->wall_link);
	for (cpu = 0; c->perf_fds && cpu < c->ncpus; cpu++) {
		if (c->perf_fds[cpu] >= 0)
			close(c->perf_fds[cpu]);
	}
	free(c->links);
	free(c->perf_fds);
	free(c->budget_ns);
	free(c->budget_skipped);
	ring_buffer__free(c->rb);
	sampler__destroy(c->skel);
	symbolizer__free(c->sym);
	for (size_t i = 0; i < c->nasync; i++)
		asyncio_view__free(c->async[i].view);
	free(c->async);
	target_table_free(&c->targets);
	free(c);
}

/* ---- targets ------------------------------------------------------------------------------ */

static void mark_interesting(struct collector *c, int pid)
{
	__atomic_fetch_or(&c->skel->bss->pid_bitmap[(pid >> 6) & (PYI_PID_BITMAP / 64 - 1)],
			  1ULL << (pid & 63), __ATOMIC_SEQ_CST);
}

/* ---- wall mode: threads off a CPU ---------------------------------------------------------- */

/*
 * How often the iterators run: 10 ms, or the interval if longer, and less often when their
 * runs would take more than WALL_SHARE of the time (many busy threads, many targets), so the
 * profiler's cost stays flat. Off-CPU time stays exact; only how often its stack is looked at
 * changes.
 */
static double wall_period(const struct collector *c)
{
	double p = c->opts.interval > WALL_PERIOD_S ? c->opts.interval : WALL_PERIOD_S;
	double share = c->wall_run_s / (c->opts.continuous ? CONT_WALL_SHARE : WALL_SHARE);
	double max = c->opts.continuous ? CONT_WALL_PERIOD_MAX_S : WALL_PERIOD_MAX_S;

	if (share > max)
		share = max;
	return share > p ? share : p;
}

/* The iterator over t's threads (and no other task): bpf_iter_attach_opts with its pid. */
static int attach_wall_iter(struct collector *c, struct target *t, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo;

	memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = (__u32)t->pid;
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	t->wall_link = bpf_program__attach_iter(c->skel->progs.wall_iter, &opts);
	if (!t->wall_link) {
		snprintf(err, errlen, "cannot attach the thread iterator to process %d: %s",
			 t->pid, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Runs the iterator over t's threads once: a read() of a new iterator fd runs the program on
 * each thread; what it finds goes to the ring buffer, taken off by the caller.
 */
static int run_wall_iter(struct collector *c, struct target *t, enum pyi_iter_mode mode)
{
	char buf[64];
	ssize_t n;
	int fd;

	if (!t->wall_link)
		return 0;
	c->skel->bss->iter_mode = mode;
	fd = bpf_iter_create(bpf_link__fd(t->wall_link));
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
	close(fd);
	return n < 0 ? -errno : 0;
}

static void run_wall_iters(struct collector *c, enum pyi_iter_mode mode)
{
	c->wall_tick++;
	for (size_t i = 0; i < c->targets.len; i++) {
		if (c->targets.items[i]->state == TARGET_ACTIVE)
			run_wall_iter(c, c->targets.items[i], mode);
	}
	/* the records are taken with the others, a slice at a time (collector_poll, drain) */
}

static void unmark_interesting(struct collector *c, int pid)
{
	__atomic_fetch_and(&c->skel->bss->pid_bitmap[(pid >> 6) & (PYI_PID_BITMAP / 64 - 1)],
			   ~(1ULL << (pid & 63)), __ATOMIC_SEQ_CST);
}

/* Turns a pending target into a profiled one, if it is a supported Python. */
static int activate(struct collector *c, struct target *t, char *err, size_t errlen)
{
	struct pyi_proc proc;
	int rc;

	rc = target_discover(t, &proc, err, errlen);
	if (rc)
		return rc;
	rc = bpf_map_update_elem(bpf_map__fd(c->skel->maps.procs), &t->pid, &proc, BPF_ANY);
	if (rc) {
		snprintf(err, errlen, "cannot add process %d to the kernel's table: %s", t->pid,
			 strerror(errno));
		return -errno;
	}
	t->state = TARGET_ACTIVE;
	/* threads are named as threading names them from their first sample on */
	target_refresh_names(t, monotonic_s(), true);
	if ((c->opts.wall || c->opts.dump) && !t->wall_link) {
		rc = attach_wall_iter(c, t, err, errlen);
		if (rc)
			return rc;
	}
	/* the first run only notes each thread's run time: its time counts from now */
	if (c->opts.wall)
		run_wall_iter(c, t, PYI_ITER_TICK);
	pr_info("profiling pid %d: CPython %d.%d (%s)", t->pid, t->py.major, t->py.minor,
		t->py.elf_path);
	return 0;
}

int collector_add_pid(struct collector *c, int pid, bool follow, bool must_be_python, char *err,
		      size_t errlen)
{
	struct target *t;
	__u32 one = 1;
	int rc;

	if (!proc_exists(pid)) {
		snprintf(err, errlen, "no process with pid %d", pid);
		return -ESRCH;
	}
	t = target_find(&c->targets, pid);
	if (!t)
		t = target_add(&c->targets, pid, follow, NULL);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->pending_since = monotonic_s();
	t->next_retry = 0;
	if (c->per_task) {
		rc = open_task_events(c, pid, follow);
		if (rc)
			rc = fall_back_per_cpu(c, rc, err, errlen);
		if (rc)
			return rc;
	}
	if (follow &&
	    bpf_map_update_elem(bpf_map__fd(c->skel->maps.follow), &pid, &one, BPF_ANY)) {
		snprintf(err, errlen, "cannot follow process %d: %s", pid, strerror(errno));
		return -errno;
	}
	mark_interesting(c, pid);
	rc = activate(c, t, err, errlen);
	if (rc && !must_be_python && rc != -ENOTSUP)
		return 0;	/* not Python yet: it may exec into Python */
	if (rc)
		t->state = TARGET_FAILED;
	return rc;
}

/*
 * Pending targets (launched, forked or exec'd) become Python a little after exec, when the
 * loader has mapped libpython. Each look reads the whole of /proc/PID/maps: a process looked
 * at is looked at again at once for its first moments, then less and less often (a quarter of
 * its age, at most once a second). A poll every 2 ms for DISCOVERY_TIMEOUT_S was up to 5000
 * reads of the maps of each non-Python program --all saw start (a shell, a cron job, perf).
 */
static void retry_pending(struct collector *c)
{
	double now = monotonic_s(), wait;
	struct target *t;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < c->targets.len; i++) {
		t = c->targets.items[i];
		if (t->state != TARGET_PENDING)
			continue;
		if (now < t->next_retry)
			continue;
		if (!proc_exists(t->pid)) {
			t->state = TARGET_EXITED;
			continue;
		}
		rc = activate(c, t, err, sizeof(err));
		if (!rc)
			continue;
		wait = (now - t->pending_since) / 4;
		t->next_retry = now + (wait < RETRY_MAX_S ? wait : RETRY_MAX_S);
		if (rc == -ENOTSUP) {
			refuse(c, t, err);
		} else if (now - t->pending_since > DISCOVERY_TIMEOUT_S) {
			t->state = TARGET_FAILED;	/* stays followed, never Python */
		}
	}
}

/*
 * A launched 3.12+ program is found at exec, before Py_Initialize makes its GIL: until the GIL
 * is known, waits for it would read as waits on a lock. Look again until it exists.
 */
static void resolve_gils(struct collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.procs);
	struct pyi_proc proc;
	struct target *t;

	for (size_t i = 0; i < c->targets.len; i++) {
		t = c->targets.items[i];
		if (t->state != TARGET_ACTIVE || !t->gil_pending ||
		    bpf_map_lookup_elem(fd, &t->pid, &proc) || target_resolve_gil(t, &proc))
			continue;
		if (bpf_map_update_elem(fd, &t->pid, &proc, BPF_EXIST))
			t->gil_pending = true;
	}
}

/* When a pending target is next looked at (retry_pending); false if none is pending. */
static bool pending_due(const struct collector *c, double *due)
{
	bool any = false;

	for (size_t i = 0; i < c->targets.len; i++) {
		const struct target *t = c->targets.items[i];

		if (t->state == TARGET_PENDING && (!any || t->next_retry < *due)) {
			*due = t->next_retry;
			any = true;
		}
	}
	return any;
}

/* When the first asyncio view is next due; false if there is none. Only active targets' views
 * are ticked (async_tick): another's due time stays in the past (polls of 0 ms, a busy loop). */
static bool async_due(const struct collector *c, double *due)
{
	bool any = false;
	double d;

	for (size_t i = 0; i < c->nasync; i++) {
		if (!c->async[i].view || c->async[i].t->state != TARGET_ACTIVE)
			continue;
		d = asyncio_view_next_due(c->async[i].view);
		if (!any || d < *due) {
			*due = d;
			any = true;
		}
	}
	return any;
}

/* timeout_ms, or less so that the poll ends by `due` (CLOCK_MONOTONIC seconds) */
static int until(int timeout_ms, double due, double now)
{
	double left_ms = (due - now) * 1e3;

	if (left_ms >= timeout_ms)
		return timeout_ms;
	return left_ms > 0 ? (int)left_ms + 1 : 0;
}

/* When threading's names are next looked at: the periodic look, or soon after a new thread. */
static double names_due(const struct collector *c)
{
	double due = c->next_names;

	for (size_t i = 0; i < c->targets.len; i++) {
		const struct target *t = c->targets.items[i];

		if (t->names_soon && t->names_soon < due)
			due = t->names_soon;
	}
	return due;
}

/* --async: each active target's tasks, read when its view's period is due. */
static void async_tick(struct collector *c, double now)
{
	for (size_t i = 0; i < c->targets.len; i++) {
		struct target *t = c->targets.items[i];
		struct async_slot *slot = NULL, *p;
		size_t j;

		if (t->state != TARGET_ACTIVE)
			continue;
		for (j = 0; j < c->nasync && !slot; j++)
			slot = c->async[j].t == t ? &c->async[j] : NULL;
		if (!slot) {
			p = realloc(c->async, (c->nasync + 1) * sizeof(*p));
			if (!p)
				return;
			c->async = p;
			slot = &c->async[c->nasync++];
			slot->t = t;
			slot->view = asyncio_view__new(t, c->opts.async_tasks,
						       c->opts.continuous ? CONT_ASYNC_IDLE_MAX_S : 0);
			if (!slot->view && c->opts.async_tasks)
				pr_warn("process %d: CPython %d.%d: --async reads tasks of 3.11 to "
					"3.14 only", t->pid, t->py.major, t->py.minor);
		}
		if (slot->view)
			asyncio_view_tick(slot->view, c->sym, now);
	}
}

/* The per-CPU budget counters summed, and each CPU's kernel time and skips into ns[], sk[]. */
static int read_budget(struct collector *c, struct pyi_budget *sum, uint64_t *ns, uint64_t *sk)
{
	struct pyi_budget *v = calloc(c->ncpus, sizeof(*v));
	__u32 zero = 0;
	int i, rc;

	memset(sum, 0, sizeof(*sum));
	if (!v)
		return -ENOMEM;
	rc = bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.budget), &zero, v) ? -errno : 0;
	for (i = 0; !rc && i < c->ncpus; i++) {
		sum->total_ns += v[i].total_ns;
		sum->total_events += v[i].total_events;
		sum->skipped += v[i].skipped;
		if (ns)
			ns[i] = v[i].total_ns;
		if (sk)
			sk[i] = v[i].skipped;
	}
	free(v);
	return rc;
}

/* Every perf event to a new period, and on-CPU samples weighed by it. */
static int set_period(struct collector *c, uint64_t period_ns)
{
	__u64 p = period_ns;
	int cpu;

	if (c->per_task) {
		/* the events their threads inherited keep their period: keep one sample in n */
		uint64_t base = (uint64_t)(c->opts.interval * 1e9) / c->skel->data->sample_stride;
		uint32_t n = (uint32_t)((p + base / 2) / base);

		c->skel->data->sample_stride = n ? n : 1;
		p = base * c->skel->data->sample_stride;
	}
	for (cpu = 0; cpu < c->ncpus; cpu++) {
		if (c->perf_fds[cpu] >= 0 && ioctl(c->perf_fds[cpu], PERF_EVENT_IOC_PERIOD, &p))
			return -errno;
	}
	c->skel->data->sample_period_ns = p;
	c->period_ns = p;
	c->opts.interval = (double)p / 1e9;
	return 0;
}

/*
 * The host's budget: when sampling on some CPU took more kernel time than the budget, or the
 * kernel had to skip samples to hold it, the rate is lowered to what fits, with a notice.
 */
static void check_budget(struct collector *c, double now)
{
	double elapsed = now - c->last_budget_check, worst = 0, share;
	uint64_t *ns = calloc(c->ncpus, sizeof(*ns)), *sk = calloc(c->ncpus, sizeof(*sk));
	uint64_t skipped = 0, sent, period;
	struct pyi_budget sum;
	int cpu, worst_cpu = 0;

	if (!ns || !sk || read_budget(c, &sum, ns, sk))
		goto out;
	for (cpu = 0; cpu < c->ncpus; cpu++) {
		share = (double)(ns[cpu] - c->budget_ns[cpu]) / (elapsed * 1e9);
		if (share > worst) {
			worst = share;
			worst_cpu = cpu;
		}
		skipped += sk[cpu] - c->budget_skipped[cpu];
	}
	sent = sum.total_events - c->budget_sum.total_events;
	memcpy(c->budget_ns, ns, c->ncpus * sizeof(*ns));
	memcpy(c->budget_skipped, sk, c->ncpus * sizeof(*sk));
	c->budget_sum = sum;
	c->last_budget_check = now;
	/* a burst (many code objects described at once) may skip a few: the rate is lowered
	 * when the cost is over budget on average, or the skips are more than a few */
	if (skipped * 50 <= sent && worst * 1e9 <= COLLECT_BUDGET_NS_PER_S)
		goto out;
	if (c->period_ns >= MAX_PERIOD_NS)
		goto out;
	/* at least halve the rate; more when the cost says so (skips hide part of it) */
	share = worst * 1e9 / COLLECT_BUDGET_NS_PER_S;
	period = c->period_ns * (share > 2 ? (uint64_t)(share + 1) : 2);
	period = period > MAX_PERIOD_NS ? MAX_PERIOD_NS : period;
	if (set_period(c, period))
		goto out;
	pr_warn("sampling cost %.1f%% of CPU %d (budget %.0f%%)%s: interval raised to %.3g ms",
		worst * 100, worst_cpu, COLLECT_BUDGET_NS_PER_S / 1e7,
		skipped ? ", samples skipped" : "", (double)period / 1e6);
out:
	free(ns);
	free(sk);
}

/*
 * Ended threads, now and then (FORGET_PERIOD_S) and at each window's end: the collector's
 * entries of threads that have ended are dropped, and once many have roots of their own in
 * the session (a thread per request), those roots are folded into one per name
 * (target_fold_ended). A fold builds the session anew: the task view writes its time first,
 * and the frame ids the symbolizer holds are of the old session.
 */
static void forget_ended(struct collector *c, struct target *t)
{
	struct asyncio_view *v = async_view(c, t);

	target_forget_ended(t, true);
	asyncio_view_flush(v);
	if (target_fold_ended(t, FOLD_MIN_ENDED) != 1)
		return;
	asyncio_view_restart(v);
	symbolizer_forget_frames(c->sym);
}

int collector_poll(struct collector *c, int timeout_ms)
{
	static double last_cpu_update;
	double now = monotonic_s(), due = 0;
	int rc;

	/* a process that may become Python is looked at often: found before its threads start,
	 * they are seen from their first switch; records left over are taken at once */
	if (pending_due(c, &due))
		timeout_ms = until(timeout_ms, due > now + PENDING_POLL_MS / 1e3 ? due :
				   now + PENDING_POLL_MS / 1e3, now);
	if (c->opts.wall)
		timeout_ms = until(timeout_ms, c->next_wall, now);
	timeout_ms = until(timeout_ms, names_due(c), now);
	/* --async scans tasks from here: wake up at their pace (asyncio_view.c) */
	if (c->opts.async_tasks) {
		if (timeout_ms > ASYNCIO_VIEW_POLL_MS)
			timeout_ms = ASYNCIO_VIEW_POLL_MS;
	} else if (c->opts.wall && !c->opts.no_await) {
		if (!c->opts.continuous && timeout_ms > ASYNCIO_IDLE_POLL_MS)
			timeout_ms = ASYNCIO_IDLE_POLL_MS;
		else if (c->opts.continuous && async_due(c, &due))
			timeout_ms = until(timeout_ms, due, now);
	}
	if (c->backlog)
		timeout_ms = 0;
	/* samples come without wakeups (they would cost the target): sleep, then drain; a
	 * wakeup (a process event) drains inside the poll: the same deadline bounds both */
	c->slice_end = monotonic_s() + timeout_ms / 1e3 + POLL_SLICE_S;
	rc = ring_buffer__poll(c->rb, timeout_ms);
	if (rc >= 0 || rc == -EINTR)
		rc = ring_buffer__consume(c->rb);
	c->backlog = rc == -EAGAIN;
	c->slice_end = 0;
	if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
		return rc;
	retry_pending(c);
	resolve_gils(c);
	now = monotonic_s();
	if (c->opts.wall && now >= c->next_wall) {
		double cpu = thread_cpu_s();

		run_wall_iters(c, PYI_ITER_TICK);
		/* the CPU the run and its records took (not the wall time: on a loaded host it
		 * waits for a CPU too), averaged over about ten runs */
		c->wall_run_s += (thread_cpu_s() - cpu - c->wall_run_s) / 8;
		/* jittered: at exactly 10 ms the runs aliased with the GIL's 5 ms switch
		 * interval, and a thread waiting for the GIL half the time was found running
		 * at every run (its waits then went to the next function it blocked in) */
		c->next_wall = now + wall_period(c) * jitter_next(&c->wall_rng);
	}
	if (now >= names_due(c)) {
		c->next_names = now + NAMES_PERIOD_S;
		for (size_t i = 0; i < c->targets.len; i++)
			target_refresh_names(c->targets.items[i], now, false);
	}
	/* wall mode without --async still reads tasks: a loop's idle time goes to its one task */
	if (c->opts.async_tasks || (c->opts.wall && !c->opts.no_await))
		async_tick(c, now);
	if (!c->last_budget_check)
		c->last_budget_check = now;
	else if (now - c->last_budget_check >= BUDGET_CHECK_S)
		check_budget(c, now);
	if (now >= c->next_forget) {
		c->next_forget = now + FORGET_PERIOD_S;
		for (size_t i = 0; i < c->targets.len; i++) {
			if (c->targets.items[i]->state == TARGET_ACTIVE)
				forget_ended(c, c->targets.items[i]);
		}
	}
	if (now - last_cpu_update > (c->opts.continuous ? CONT_CPU_UPDATE_S : CPU_UPDATE_S)) {
		last_cpu_update = now;
		for (size_t i = 0; i < c->targets.len; i++) {
			if (c->targets.items[i]->state == TARGET_ACTIVE)
				target_update_cpu(c->targets.items[i]);
		}
	}
	return 0;
}

bool collector_done(const struct collector *c)
{
	size_t i;

	if (c->opts.discover_all || c->opts.cgroup_id)
		return false;	/* new processes may come: until --duration or Ctrl-C */
	for (i = 0; i < c->targets.len; i++) {
		const struct target *t = c->targets.items[i];

		if (t->state == TARGET_ACTIVE || t->state == TARGET_PENDING)
			return false;
		if (t->state == TARGET_FAILED && proc_exists(t->pid) && t->follow)
			return false;	/* a followed non-Python parent: its children may be */
	}
	return true;
}

static void sum_percpu(int fd, __u32 key, int ncpus, uint64_t *out)
{
	__u64 *vals = calloc(ncpus, sizeof(*vals));
	int i;

	*out = 0;
	if (!vals)
		return;
	if (!bpf_map_lookup_elem(fd, &key, vals)) {
		for (i = 0; i < ncpus; i++)
			*out += vals[i];
	}
	free(vals);
}

/*
 * Wall mode: threads off a CPU now, waiting on something other than a CPU. The last run's
 * records may still be in the ring buffer (run_wall_iters counts the run first; the final one
 * comes just before the summary), and a thread that waits in short turns can be between two
 * waits at one run: the two runs before the last count too, a few tens of ms late at worst
 * (with only the one before, test_final_summary_wall saw 2 of 5 such threads, rarely).
 */
static unsigned int count_blocked(const struct collector *c)
{
	unsigned int n = 0;

	for (size_t i = 0; i < c->targets.len; i++) {
		const struct target *t = c->targets.items[i];

		for (size_t j = 0; t->state == TARGET_ACTIVE && j < t->nthreads; j++)
			n += t->threads[j].off_tick &&	/* 0: never found off a CPU */
			     t->threads[j].off_tick + 2 >= c->wall_tick &&
			     t->threads[j].off_reason != PYI_REASON_PREEMPTED;
	}
	return n;
}

void collector_stats(struct collector *c, struct collect_stats *st)
{
	struct symbolizer_stats sst;
	struct pyi_budget sum;
	__u32 i;

	memset(st, 0, sizeof(*st));
	st->samples = c->samples;
	st->last_sample_ns = c->last_sample_ns;
	for (i = 0; i < PYI_ERR_MAX; i++)
		sum_percpu(bpf_map__fd(c->skel->maps.errors), i, c->ncpus, &st->errors[i]);
	st->lost = st->errors[PYI_ERR_RINGBUF];
	if (!read_budget(c, &sum, NULL, NULL)) {
		st->kernel_ns = sum.total_ns;
		st->budget_skipped = sum.skipped;
	}
	st->interval = c->opts.interval;
	symbolizer_stats(c->sym, &sst);
	st->unresolved = sst.unresolved;
	target_table_counts(&c->targets, &st->processes, &st->threads, &st->running);
	st->blocked = count_blocked(c);
}

void collector_stop_at(struct collector *c, double seconds)
{
	c->skel->bss->stop_at_ns = clock_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);
}

volatile uint64_t *collector_stop_word(struct collector *c)
{
	return (volatile uint64_t *)&c->skel->bss->stop_at_ns;
}

void collector_stop(struct collector *c)
{
	for (int cpu = 0; c->links && cpu < c->ncpus; cpu++) {
		bpf_link__destroy(c->links[cpu]);
		c->links[cpu] = NULL;
	}
	/* the inherited events go with their parents */
	close_task_events(c);
}

static void drain(struct collector *c)
{
	double deadline = monotonic_s() + 1.0;
	int rc;

	/* sampling ends now, not when the backlog is taken */
	collector_stop(c);
	/* every thread's time up to now, on a CPU or not */
	if (c->opts.wall)
		run_wall_iters(c, PYI_ITER_FINAL);
	/* what the kernel sent before the caller stopped still counts, if it comes in time */
	do {
		c->slice_end = monotonic_s() + POLL_SLICE_S;
		rc = ring_buffer__consume(c->rb);
	} while (rc == -EAGAIN && monotonic_s() < deadline);
	c->slice_end = 0;
	/* threads named since they were first seen */
	for (size_t i = 0; i < c->targets.len; i++)
		target_refresh_names(c->targets.items[i], monotonic_s(), true);
	for (size_t i = 0; i < c->nasync; i++)
		asyncio_view_flush(c->async[i].view);
	/* a thread per request: the roots of the threads that ended since the last fold too */
	for (size_t i = 0; i < c->targets.len; i++)
		forget_ended(c, c->targets.items[i]);
}

/* What a saved session keeps of how it was recorded besides its samples (session.h). */
static void set_origin(struct collector *c, struct session *s)
{
	struct session_origin o = *session_get_origin(s);
	uint64_t lost;

	sum_percpu(bpf_map__fd(c->skel->maps.errors), PYI_ERR_RINGBUF, c->ncpus, &lost);
	o.mode = c->opts.wall ? SESSION_MODE_WALL : SESSION_MODE_CPU;
	o.lost_samples = (int64_t)lost;
	session_set_origin(s, &o);
}

size_t collector_finish_each(struct collector *c, double start_time, double duration,
			     const char *description, struct session **out, int *pids, size_t max)
{
	size_t n;

	drain(c);
	n = target_table_sessions(&c->targets, start_time, duration, c->opts.interval,
				  description, out, pids, max);
	for (size_t i = 0; i < n; i++)
		set_origin(c, out[i]);
	return n;
}

struct session *collector_finish(struct collector *c, double start_time, double duration,
				 const char *description)
{
	struct session *s;

	drain(c);
	s = target_table_session(&c->targets, start_time, duration, c->opts.interval,
				 description);
	if (s)
		set_origin(c, s);
	return s;
}

int collector_dump(struct collector *c, int pid, collect_dump_fn fn, void *ctx, char *err,
		   size_t errlen)
{
	struct target *t;
	int rc;

	rc = collector_add_pid(c, pid, false, true, err, errlen);
	if (rc)
		return rc;
	t = target_find(&c->targets, pid);
	if (!t || t->state != TARGET_ACTIVE) {
		snprintf(err, errlen, "process %d is not a Python we can read", pid);
		return -ESRCH;
	}
	c->dump_fn = fn;
	c->dump_ctx = ctx;
	rc = run_wall_iter(c, t, PYI_ITER_DUMP);
	ring_buffer__consume(c->rb);
	c->dump_fn = NULL;
	if (rc)
		snprintf(err, errlen, "cannot read the threads of process %d: %s", pid,
			 strerror(-rc));
	return rc;
}

int collector_python_version(struct collector *c, int pid, int *major, int *minor)
{
	struct target *t = target_find(&c->targets, pid);

	if (!t || t->state == TARGET_PENDING)
		return -ENOENT;
	*major = t->py.major;
	*minor = t->py.minor;
	return 0;
}

/* The task views of targets a window has just freed: a view kept its target's address, which
 * the next new target may be given (a use after free, and another process's reader). */
static void drop_async_of_gone(struct collector *c)
{
	size_t i, j, kept = 0;

	for (i = 0; i < c->nasync; i++) {
		bool live = false;

		for (j = 0; j < c->targets.len && !live; j++)
			live = c->targets.items[j] == c->async[i].t;
		if (live)
			c->async[kept++] = c->async[i];
		else
			asyncio_view__free(c->async[i].view);
	}
	c->nasync = kept;
}

size_t collector_take_window(struct collector *c, double start_time, double duration,
			     const char *description, struct session **out, int *pids, size_t max)
{
	size_t n;

	if (c->rb)	/* an offline collector has none */
		ring_buffer__consume(c->rb);
	for (size_t i = 0; i < c->targets.len; i++) {
		if (c->targets.items[i]->state == TARGET_ACTIVE)
			forget_ended(c, c->targets.items[i]);
	}
	/* the tasks' time so far belongs to this window */
	for (size_t i = 0; i < c->nasync; i++)
		asyncio_view_flush(c->async[i].view);
	n = target_table_take_window(&c->targets, start_time, duration, c->opts.interval,
				     description, out, pids, max);
	for (size_t i = 0; i < c->nasync; i++)
		asyncio_view_restart(c->async[i].view);
	drop_async_of_gone(c);
	/* the frame cache holds the old sessions' ids */
	symbolizer_forget_frames(c->sym);
	return n;
}
