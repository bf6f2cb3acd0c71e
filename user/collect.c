// SPDX-License-Identifier: MIT
/*
 * The collector: loads bpf/sampler.bpf.c, opens a cpu-clock perf event per CPU, takes sample,
 * code and process records off the ring buffer, and builds one session per Python process.
 */
#include <errno.h>
#include <linux/perf_event.h>
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

#include "collect.h"
#include "log.h"
#include "proc.h"
#include "python_layouts.h"
#include "sampler.skel.h"
#include "session.h"
#include "symbolize.h"
#include "target.h"
#include "waits.h"

#define DISCOVERY_TIMEOUT_S 10.0	/* how long an exec'd process may take to look like Python */
#define MAX_NOTICES 64

#define PENDING_POLL_MS 2	/* how often to look at a process that may become Python */
#define WALL_PERIOD_S 0.01	/* wall mode: threads off a CPU are read this often at most */
#define NAMES_PERIOD_S 0.5	/* threading's names are read again this often */

struct collector {
	struct collect_opts opts;
	struct sampler *skel;
	double next_wall;	/* when the wall iterator runs next */
	double next_names;	/* when threading's names may be read again */
	collect_dump_fn dump_fn;	/* dump mode: where each thread's record goes */
	void *dump_ctx;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int *perf_fds;
	int ncpus;
	struct symbolizer *sym;
	struct target_table targets;
	char *notices[MAX_NOTICES];
	unsigned int notice_head, notice_tail;
	uint64_t samples;
	int cb_err;
};

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!libbpf_verbose && level != LIBBPF_WARN)
		return 0;
	if (!libbpf_verbose)
		return 0;	/* warnings are summed up by the caller in one line */
	return vfprintf(stderr, fmt, ap);
}

static double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void notice(struct collector *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (c->notice_tail - c->notice_head == MAX_NOTICES)
		return;
	c->notices[c->notice_tail++ % MAX_NOTICES] = strdup(buf);
}

const char *collector_next_notice(struct collector *c)
{
	static char *last;

	free(last);
	last = NULL;
	if (c->notice_head == c->notice_tail)
		return NULL;
	last = c->notices[c->notice_head++ % MAX_NOTICES];
	return last;
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
		id = symbolizer_frame(c->sym, t->session, &t->sym, s->cpu,
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
	} else {
		th = target_thread(t, (int)s->tid, s->thread_ident, s->gen);
		if (!th)
			return;
		stack = sample_stack(c, t, th, s, &leaf);
		if (s->flags & PYI_SF_OFFCPU) {
			th->walked = true;
			th->walked_stack = stack;
			th->walked_leaf = leaf;
		}
	}
	if (s->flags & PYI_SF_OFFCPU) {
		stack = push_wait(c, t, stack, leaf, s->reason, &idle);
		if (idle && c->opts.hide_idle)
			return;
	}
	session_add_sample(t->session, stack,
			   s->weight_ns ? (double)s->weight_ns / 1e9 : c->opts.interval);
	c->samples++;
}

static void mark_interesting(struct collector *c, int pid);
static int activate(struct collector *c, struct target *t, char *err, size_t errlen);

/* --cgroup / --all: the kernel saw a process we have not looked at. */
static void discover(struct collector *c, int pid)
{
	struct target *t = target_find(&c->targets, pid);
	char err[256];
	int rc;

	if (t && t->state != TARGET_EXITED)
		return;
	if (!t)
		t = target_add(&c->targets, pid, false, NULL);
	if (!t)
		return;
	/* watched from now on: an exec may turn it into Python */
	mark_interesting(c, pid);
	rc = activate(c, t, err, sizeof(err));
	if (rc == -ENOTSUP)
		notice(c, "%s", err);
	if (rc)
		t->state = TARGET_FAILED;
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
		if (!t)
			t = target_add(&c->targets, (int)ev->pid, true, parent);
		break;
	case PYI_PROC_EXEC:
		if (!t)
			break;
		if (t->state == TARGET_ACTIVE) {
			notice(c, "process %d called exec: profiling what it runs now, if Python",
			       t->pid);
			symbolizer_forget(c->sym, t->pid);
		}
		target_retire_session(t);
		t->state = TARGET_PENDING;
		t->pending_since = monotonic_now();
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

	if (size < sizeof(type))
		return 0;
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
	return 0;
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
	skel->rodata->period_ns = (__u64)(c->opts.interval * 1e9);
	skel->rodata->iter_slot = c->ncpus;
	skel->rodata->gil_only = c->opts.gil_only;
	skel->rodata->target_cgroup = c->opts.cgroup_id;
	skel->rodata->target_cgroup_level = c->opts.cgroup_level;
	skel->rodata->discover_all = c->opts.discover_all;
	if (bpf_map__set_max_entries(skel->maps.scratch_map, rows) ||
	    bpf_map__set_max_entries(skel->maps.code_caches, rows) ||
	    bpf_map__set_max_entries(skel->maps.events, ringbuf_size(&c->opts, c->ncpus)))
		return -EINVAL;
	return 0;
}

static int open_perf_events(struct collector *c, char *err, size_t errlen)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = (__u64)(c->opts.interval * 1e9),
	};
	int cpu, fd, opened = 0;

	c->perf_fds = calloc(c->ncpus, sizeof(int));
	c->links = calloc(c->ncpus, sizeof(*c->links));
	if (!c->perf_fds || !c->links)
		return -ENOMEM;
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

struct collector *collector__new(const struct collect_opts *o, char *err, size_t errlen)
{
	struct collector *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->opts = *o;
	libbpf_verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0 || c->ncpus > PYI_MAX_CPUS) {
		snprintf(err, errlen, "unsupported number of CPUs: %d", c->ncpus);
		goto fail;
	}
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
	if (o->dump)
		bpf_program__set_autoload(c->skel->progs.on_cpu_sample, false);
	rc = sampler__load(c->skel);
	if (rc) {
		snprintf(err, errlen, "the BPF programs failed to load: %s%s", strerror(-rc),
			 o->verbose ? "" : " (run with -v for the verifier log)");
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
	if (!o->dump && open_perf_events(c, err, errlen))
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
	for (size_t i = 0; i < c->targets.len; i++)
		bpf_link__destroy(c->targets.items[i]->wall_link);
	for (cpu = 0; c->perf_fds && cpu < c->ncpus; cpu++) {
		if (c->perf_fds[cpu] >= 0)
			close(c->perf_fds[cpu]);
	}
	free(c->links);
	free(c->perf_fds);
	ring_buffer__free(c->rb);
	sampler__destroy(c->skel);
	symbolizer__free(c->sym);
	target_table_free(&c->targets);
	while (c->notice_head != c->notice_tail)
		free(c->notices[c->notice_head++ % MAX_NOTICES]);
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
 * How often the iterators run: 10 ms, or the interval if longer, and 1 ms more per target
 * beyond ten (--all, --cgroup), so that the profiler's cost stays flat however many processes
 * it profiles. Off-CPU time stays exact; only how often its stack is looked at changes.
 */
static double wall_period(const struct collector *c)
{
	double p = c->opts.interval > WALL_PERIOD_S ? c->opts.interval : WALL_PERIOD_S;
	size_t active = 0;

	for (size_t i = 0; i < c->targets.len; i++)
		active += c->targets.items[i]->state == TARGET_ACTIVE;
	return active > 10 ? p + (double)(active - 10) * 0.001 : p;
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
	for (size_t i = 0; i < c->targets.len; i++) {
		if (c->targets.items[i]->state == TARGET_ACTIVE)
			run_wall_iter(c, c->targets.items[i], mode);
	}
	ring_buffer__consume(c->rb);
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
	target_refresh_names(t);
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
	t->pending_since = monotonic_now();
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

/* Pending targets (launched, forked or exec'd) become Python a little after exec. */
static void retry_pending(struct collector *c)
{
	double now = monotonic_now();
	struct target *t;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < c->targets.len; i++) {
		t = c->targets.items[i];
		if (t->state != TARGET_PENDING)
			continue;
		if (!proc_exists(t->pid)) {
			t->state = TARGET_EXITED;
			continue;
		}
		rc = activate(c, t, err, sizeof(err));
		if (!rc)
			continue;
		if (rc == -ENOTSUP) {
			notice(c, "%s", err);
			t->state = TARGET_FAILED;
		} else if (now - t->pending_since > DISCOVERY_TIMEOUT_S) {
			t->state = TARGET_FAILED;	/* stays followed, never Python */
		}
	}
}

static bool any_pending(const struct collector *c)
{
	for (size_t i = 0; i < c->targets.len; i++) {
		if (c->targets.items[i]->state == TARGET_PENDING)
			return true;
	}
	return false;
}

int collector_poll(struct collector *c, int timeout_ms)
{
	static double last_cpu_update;
	double now;
	int rc;

	/* a process that may become Python is looked at often: found before its threads start,
	 * they are seen from their first switch */
	if (timeout_ms > PENDING_POLL_MS && any_pending(c))
		timeout_ms = PENDING_POLL_MS;
	if (c->opts.wall) {
		double left_ms = (c->next_wall - monotonic_now()) * 1e3;

		if (left_ms < timeout_ms)
			timeout_ms = left_ms > 0 ? (int)left_ms + 1 : 0;
	}
	/* samples come without wakeups (they would cost the target): sleep, then drain */
	rc = ring_buffer__poll(c->rb, timeout_ms);
	if (rc < 0 && rc != -EINTR)
		return rc;
	rc = ring_buffer__consume(c->rb);
	if (rc < 0 && rc != -EINTR)
		return rc;
	retry_pending(c);
	now = monotonic_now();
	if (c->opts.wall && now >= c->next_wall) {
		c->next_wall = now + wall_period(c);
		run_wall_iters(c, PYI_ITER_TICK);
	}
	if (now >= c->next_names) {
		c->next_names = now + NAMES_PERIOD_S;
		for (size_t i = 0; i < c->targets.len; i++) {
			target_refresh_names(c->targets.items[i]);
		}
	}
	if (now - last_cpu_update > 0.2) {
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

void collector_stats(struct collector *c, struct collect_stats *st)
{
	struct symbolizer_stats sst;
	__u32 i;

	memset(st, 0, sizeof(*st));
	st->samples = c->samples;
	for (i = 0; i < PYI_ERR_MAX; i++)
		sum_percpu(bpf_map__fd(c->skel->maps.errors), i, c->ncpus, &st->errors[i]);
	st->lost = st->errors[PYI_ERR_RINGBUF];
	symbolizer_stats(c->sym, &sst);
	st->unresolved = sst.unresolved;
	target_table_counts(&c->targets, &st->processes, &st->threads, &st->running);
}

static void drain(struct collector *c)
{
	/* what the kernel sent before the caller stopped still counts */
	ring_buffer__consume(c->rb);
	/* every thread's time up to now, on a CPU or not */
	if (c->opts.wall)
		run_wall_iters(c, PYI_ITER_FINAL);
	/* threads named since they were first seen */
	for (size_t i = 0; i < c->targets.len; i++)
		target_refresh_names(c->targets.items[i]);
}

size_t collector_finish_each(struct collector *c, double start_time, double duration,
			     const char *description, struct session **out, int *pids, size_t max)
{
	drain(c);
	return target_table_sessions(&c->targets, start_time, duration, c->opts.interval,
				     description, out, pids, max);
}

struct session *collector_finish(struct collector *c, double start_time, double duration,
				 const char *description)
{
	drain(c);
	return target_table_session(&c->targets, start_time, duration, c->opts.interval,
				    description);
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
