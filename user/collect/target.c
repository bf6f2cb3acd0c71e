// SPDX-License-Identifier: MIT
/* The processes being profiled (see target.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "debug_offsets.h"
#include "log.h"
#include "session.h"
#include "target.h"

#define PYI_MIN_MINOR 6
#define PYI_MAX_MINOR 15

void target_table_init(struct target_table *tt)
{
	memset(tt, 0, sizeof(*tt));
}

static void target_free(struct target *t)
{
	size_t i;

	session__free(t->session);
	for (i = 0; i < t->nretired; i++)
		session__free(t->retired[i]);
	free(t->retired);
	free(t->threads);
	hash_index_free(&t->tids);
	thread_names_free(&t->names);
	free(t);
}

void target_table_free(struct target_table *tt)
{
	size_t i;

	for (i = 0; i < tt->len; i++)
		target_free(tt->items[i]);
	free(tt->items);
	memset(tt, 0, sizeof(*tt));
}

/* The newest target with this pid: an older one is a process that exited (pids are reused). */
struct target *target_find(struct target_table *tt, int pid)
{
	size_t i;

	if (tt->last && tt->last->pid == pid)
		return tt->last;
	for (i = tt->len; i-- > 0;) {
		if (tt->items[i]->pid == pid)
			return tt->last = tt->items[i];
	}
	return NULL;
}

struct target *target_add(struct target_table *tt, int pid, bool follow, struct target *parent)
{
	struct target *t;

	if (array_reserve(&tt->items, &tt->cap, tt->len + 1, sizeof(*tt->items)))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	t->state = TARGET_PENDING;
	t->same_pid_ns = 2;
	t->follow = follow || (parent && parent->follow);
	proc_cmdline(pid, t->cmdline, sizeof(t->cmdline));
	tt->items[tt->len++] = t;
	tt->last = t;	/* target_find must not answer with an older process of this pid */
	return t;
}

void target_table_counts(const struct target_table *tt, unsigned int *processes,
			 unsigned int *threads, unsigned int *running)
{
	size_t i;

	*processes = *threads = *running = 0;
	for (i = 0; i < tt->len; i++) {
		const struct target *t = tt->items[i];

		if (t->session || t->nretired)
			(*processes)++;
		*threads += t->threads_seen;
		if (t->state == TARGET_ACTIVE || t->state == TARGET_PENDING)
			(*running)++;
	}
}

/* A new image of the process (exec) starts with no threads. */
static void threads_reset(struct target *t)
{
	t->nthreads = 0;
	t->main_comm_at = 0;	/* an exec renames the process */
	hash_index_clear(&t->tids);
}

/* ---- discovery ---------------------------------------------------------------------------- */

static int check_version(const struct target *t, uint32_t *hex, char *err, size_t errlen)
{
	const struct proc_python *py = &t->py;

	*hex = py->version_hex ? py->version_hex : (uint32_t)(py->major << 24 | py->minor << 16);
	if (py->free_threaded) {
		snprintf(err, errlen, "process %d runs a free-threaded CPython %d.%d, which is not "
			 "supported", t->pid, py->major, py->minor);
		return -ENOTSUP;
	}
	if (py->major != 3 || py->minor < PYI_MIN_MINOR || py->minor > PYI_MAX_MINOR ||
	    !layouts_find(*hex)) {
		snprintf(err, errlen, "process %d runs Python %d.%d, which is not supported "
			 "(CPython 3.%d to 3.%d are)", t->pid, py->major, py->minor, PYI_MIN_MINOR,
			 PYI_MAX_MINOR);
		return -ENOTSUP;
	}
	return 0;
}

static __u16 read_len(int max_off, int limit)
{
	int len = max_off + 8;

	return (__u16)(len > limit ? limit : len);
}

static int max_of(const int16_t *offs, size_t n)
{
	int m = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (offs[i] > m)
			m = offs[i];
	}
	return m;
}

/*
 * Where the GIL is: its holder and locked flag (GIL-held samples, --gil), and the extent of
 * struct _gil_runtime_state, whose condition variables and mutex a GIL waiter sleeps on.
 * 3.7-3.11 keep it inside _PyRuntime.ceval, 3.12+ behind interp->ceval.gil. The struct starts
 * with `interval` just before last_holder and ends within 256 bytes (two conds, two mutexes).
 */
static void fill_gil(const struct target *t, struct pyi_proc *p)
{
	const struct pyi_layout *l = &t->layout;
	uint64_t interp = 0, gil = 0;

	if (t->py.minor >= 7 && t->py.minor <= 11 && l->runtime_gil_last_holder > 0) {
		p->gil_holder_addr = t->py.runtime + l->runtime_gil_last_holder;
		p->gil_locked_addr = t->py.runtime + l->runtime_gil_locked;
		p->gil_lo = p->gil_holder_addr - 8;
	} else if (t->py.minor >= 12 && l->interp_ceval_gil >= 0 &&
		   !proc_read(t->pid, p->interp_head_addr, &interp, sizeof(interp)) && interp &&
		   !proc_read(t->pid, interp + l->interp_ceval_gil, &gil, sizeof(gil)) && gil) {
		p->gil_holder_addr = gil + l->gil_last_holder;
		p->gil_locked_addr = gil + l->gil_locked;
		p->gil_lo = gil;
	}
	if (p->gil_lo)
		p->gil_hi = p->gil_lo + 256;
}

int target_resolve_gil(struct target *t, struct pyi_proc *p)
{
	fill_gil(t, p);
	t->gil_pending = !p->gil_lo && t->py.minor >= 12;
	return t->gil_pending ? -EAGAIN : 0;
}

/* The kernel's view: where the interpreter's thread list starts, and how much to read. */
static void fill_proc(const struct target *t, uint32_t hex, struct pyi_proc *p)
{
	const struct pyi_layout *l = &t->layout;
	const struct pyi_offsets *o = &t->off;
	int minor = t->py.minor;
	int16_t frame_offs[] = { o->frame_code, o->frame_previous, o->frame_instr,
				 o->frame_owner };
	/* the code object fields the kernel reads (bpf/code.bpf.h) */
	int16_t code_offs[] = { o->object_type, o->code_flags, o->code_firstlineno,
				o->code_name, o->code_filename, o->code_varnames,
				o->code_linetable, o->code_firsttraceable };

	memset(p, 0, sizeof(*p));
	p->off = *o;
	p->off.version_hex = hex;
	p->interp_head_addr = minor >= 7 ? t->py.runtime + l->runtime_interpreters_head :
					   t->py.interp_head;
	p->code_type_addr = t->py.code_type;
	if (minor < 11)
		p->flags |= PYI_PF_FRAMEOBJECT;
	if (minor == 10)
		p->flags |= PYI_PF_LASTI_UNITS;
	if (minor == 11 || minor == 12)
		p->flags |= PYI_PF_CFRAME;
	if (l->frame_code_tag_mask)
		p->flags |= PYI_PF_STACKREF;
	p->frame_read_len = read_len(max_of(frame_offs, 4), PYI_FRAME_BLOCK);
	/* the first local rides along when it is close: methods then cost no extra read */
	if (o->frame_localsplus >= 0 && o->frame_localsplus + 8 <= PYI_FRAME_BLOCK &&
	    o->frame_localsplus + 8 > p->frame_read_len)
		p->frame_read_len = o->frame_localsplus + 8;
	p->code_read_len = read_len(max_of(code_offs, sizeof(code_offs) / sizeof(code_offs[0])),
				    PYI_CODE_BLOCK);
	p->since_ns = clock_ns(CLOCK_MONOTONIC);	/* bpf_ktime_get_ns() */
}

/* 3.13+: the target describes its own layout in _PyRuntime; trust it over our table. */
static int apply_debug_offsets(struct target *t, char *err, size_t errlen)
{
	uint8_t image[DEBUG_OFFSETS_READ_LEN];
	struct pyi_layout l;
	int rc;

	rc = proc_read(t->pid, t->py.runtime, image, sizeof(image));
	if (rc) {
		snprintf(err, errlen, "process %d: cannot read _PyRuntime: %s", t->pid, strerror(-rc));
		return rc;
	}
	rc = debug_offsets_apply(image, sizeof(image), &l, err, errlen);
	if (rc)
		return rc == -ENOTSUP ? rc : -EAGAIN;
	if (log_get_level() >= LOG_DEBUG)
		debug_offsets_verify(image, sizeof(image), &t->layout, stderr);
	t->layout = l;
	return 0;
}

int target_discover(struct target *t, struct pyi_proc *proc, char *err, size_t errlen)
{
	uint32_t hex;
	int rc;

	rc = proc_python_find(t->pid, &t->py, err, errlen);
	if (rc)
		return rc;
	rc = check_version(t, &hex, err, errlen);
	if (rc)
		return rc;
	t->layout = *layouts_find(hex);
	if (t->py.minor >= 13) {
		rc = apply_debug_offsets(t, err, errlen);
		if (rc)
			return rc;
	}
	t->off = t->layout.off;
	if (t->py.minor >= 7 && !t->py.runtime) {
		snprintf(err, errlen, "process %d: CPython %d.%d without a _PyRuntime symbol",
			 t->pid, t->py.major, t->py.minor);
		return -ENOTSUP;
	}
	if (t->py.minor == 6 && !t->py.interp_head) {
		snprintf(err, errlen, "process %d: CPython 3.6 without its interp_head symbol "
			 "(a stripped build?)", t->pid);
		return -ENOTSUP;
	}
	fill_proc(t, hex, proc);
	target_resolve_gil(t, proc);
	t->interp_head_addr = proc->interp_head_addr;
	t->sym.pid = t->pid;
	t->sym.version_hex = hex;
	t->sym.off = &t->off;
	t->sym.layout = &t->layout;
	t->sym.type_type = t->py.type_type;
	t->sym.code_type = t->py.code_type;
	if (!t->session) {
		t->session = session__new();
		if (!t->session)
			return -ENOMEM;
	}
	threads_reset(t);
	if (!proc_cpu_time(t->pid, &t->cpu_start)) {
		t->cpu_last = t->cpu_start;
		t->cpu_known = true;
	}
	proc_cmdline(t->pid, t->cmdline, sizeof(t->cmdline));
	return 0;
}

void target_update_cpu(struct target *t)
{
	double v;

	if (t->cpu_known && !proc_cpu_time(t->pid, &v))
		t->cpu_last = v;
}

/* pyinstrument's thread root frame: name, "<thread>", threading.get_ident(); the name's control
 * characters made '?' (no target's name reaches a terminal raw) */
static uint32_t thread_root_frame(struct session *s, const char *name, uint64_t ident)
{
	char info[THREAD_NAME_MAX + 32];
	int n = snprintf(info, sizeof(info), "%.*s%c<thread>%c%llu", THREAD_NAME_MAX - 1, name, 0,
			 0, (unsigned long long)ident);

	log_sanitize(info, strnlen(name, THREAD_NAME_MAX - 1));
	return session_intern_frame(s, info, (size_t)n);
}

/* stack copied into dst, its root frame replaced by root_to[that frame] where one is given */
static uint32_t copy_rerooted(struct session *dst, const struct session *src, uint32_t stack,
			      uint32_t *memo, const uint32_t *root_to)
{
	uint32_t parent, frame = session_stack_frame(src, stack), id;
	const char *info;
	size_t len;

	if (memo[stack] != SESSION_NO_STACK)
		return memo[stack];
	parent = session_stack_parent(src, stack);
	if (parent == SESSION_NO_STACK && root_to[frame] != SESSION_NO_FRAME) {
		id = root_to[frame];
	} else {
		info = session_frame_info(src, frame, &len);
		id = session_intern_frame(dst, info, len);
	}
	parent = parent == SESSION_NO_STACK ? SESSION_NO_STACK :
		 copy_rerooted(dst, src, parent, memo, root_to);
	memo[stack] = session_stack_push(dst, parent, id);
	return memo[stack];
}

static uint32_t carry_frame(struct session *dst, const struct session *src, uint32_t frame);

/*
 * The target's session rebuilt into dst, root frames replaced where root_to (dst's frame ids,
 * SESSION_NO_FRAME: as it is) says: the records, and the stacks they and the threads use (the
 * others, of threads forgotten, are left behind). The threads' ids move into dst, so sampling
 * goes on from there. 0; on failure -ENOMEM and the old session stays, with the ids in it.
 * dst is taken either way.
 */
static int rebuild_session(struct target *t, struct session *dst, const uint32_t *root_to)
{
	struct session *src = t->session;
	const struct session_sample *samples;
	struct target_thread *moved = NULL;
	uint32_t *memo;
	size_t i, n, nstacks = session_stack_count(src);
	int rc = -ENOMEM;

	memo = malloc((nstacks + 1) * sizeof(*memo));
	moved = malloc((t->nthreads ? t->nthreads : 1) * sizeof(*moved));
	if (!memo || !moved)
		goto out;
	memset(memo, 0xff, (nstacks + 1) * sizeof(*memo));
	samples = session_samples(src, &n);
	for (i = 0; i < n; i++)
		session_add_record(dst, samples[i].stack == SESSION_NO_STACK ? SESSION_NO_STACK :
				   copy_rerooted(dst, src, samples[i].stack, memo, root_to),
				   samples[i].weight);
	session_set_sample_count(dst, session_sample_count(src));
	memcpy(moved, t->threads, t->nthreads * sizeof(*moved));
	for (i = 0; i < t->nthreads; i++) {
		struct target_thread *th = &moved[i];

		th->stack = copy_rerooted(dst, src, th->stack, memo, root_to);
		if (th->walked) {
			th->walked_stack = copy_rerooted(dst, src, th->walked_stack, memo, root_to);
			th->walked_leaf = carry_frame(dst, src, th->walked_leaf);
		}
		if (th->recent) {
			th->recent_stack = copy_rerooted(dst, src, th->recent_stack, memo, root_to);
			th->recent_leaf = carry_frame(dst, src, th->recent_leaf);
		}
	}
	if (!session_error(dst)) {
		memcpy(t->threads, moved, t->nthreads * sizeof(*moved));
		t->session = dst;
		dst = src;
		rc = 0;
	}
out:
	session__free(dst);
	free(memo);
	free(moved);
	return rc;
}

/* A map over a session's n frames (one more, never empty), every entry SESSION_NO_FRAME. */
static uint32_t *no_frames(size_t n)
{
	uint32_t *v = malloc((n + 1) * sizeof(*v));

	if (v)
		memset(v, 0xff, (n + 1) * sizeof(*v));
	return v;
}

/*
 * The session with the roots of threads that threading named late under their names. The
 * threads' stacks are moved into it, so a window goes on from there (next_window) and the next
 * window's roots have the new names too.
 */
static void apply_names(struct target *t)
{
	struct session *dst;
	uint32_t *root_to;
	bool any = false;
	size_t i;

	for (i = 0; i < t->nthreads; i++)
		any |= t->threads[i].renamed;
	if (!any)
		return;
	root_to = no_frames(session_frame_count(t->session));
	dst = session__new();
	if (!root_to || !dst) {
		session__free(dst);
		free(root_to);
		return;
	}
	for (i = 0; i < t->nthreads; i++) {
		const struct target_thread *th = &t->threads[i];

		if (th->renamed)
			root_to[session_stack_frame(t->session, th->stack)] =
				thread_root_frame(dst, th->name, th->ident);
	}
	/* on failure the old session stays, and so do the ids in it */
	if (!rebuild_session(t, dst, root_to)) {
		for (i = 0; i < t->nthreads; i++)
			t->threads[i].renamed = false;
	}
	free(root_to);
}

/* ---- ended threads, folded ---------------------------------------------------------------- */

static struct target_thread *find_tid(struct target *t, int tid, uint32_t *pos);

#define FOLD_GROUPS_MAX 64	/* names past these many go to one group, "*" */
#define FOLD_SUFFIX " ended]"

struct fold_group {
	char key[THREAD_NAME_MAX];
	uint64_t threads;
	uint32_t frame;		/* in the new session */
};

/* The name of thread root frame `frame` (its length in *len), or NULL: not a thread root. */
static const char *thread_root_name(const struct session *s, uint32_t frame, size_t *len,
				    const char **ident)
{
	size_t info_len;
	const char *info = session_frame_info(s, frame, &info_len), *end = info + info_len;
	const char *file = memchr(info, 0, info_len);

	if (!file || (size_t)(end - file) < 10 || memcmp(file, "\0<thread>\0", 10))
		return NULL;
	*len = (size_t)(file - info);
	*ident = file + 10;
	return info;
}

/*
 * A folded group's key: the thread's name with each run of digits made "*" (Thread-812
 * (process_request_thread) and Thread-813 (...) are one group); a root folded before (ident 0,
 * "KEY [N ended]") is its key again and counts N threads.
 */
static uint64_t fold_key(const char *name, size_t len, const char *ident, char *key,
			 size_t keylen)
{
	size_t suffix = sizeof(FOLD_SUFFIX) - 1, o = 0, i, j;
	uint64_t threads = 1;

	if (!strcmp(ident, "0") && len > suffix && !memcmp(name + len - suffix, FOLD_SUFFIX, suffix)) {
		for (i = len - suffix; i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9'; i--)
			;
		if (i >= 2 && i < len - suffix && !memcmp(name + i - 2, " [", 2)) {
			threads = strtoull(name + i, NULL, 10);
			len = i - 2;
		}
	}
	for (i = 0; i < len && o + 1 < keylen; i = j) {
		for (j = i; j < len && name[j] >= '0' && name[j] <= '9'; j++)
			;
		if (j > i) {
			key[o++] = '*';
			continue;
		}
		key[o++] = name[i];
		j = i + 1;
	}
	key[o] = 0;
	return threads;
}

static uint32_t fold_group_of(struct fold_group *g, size_t *ng, const char *key)
{
	size_t i;

	for (i = 0; i < *ng; i++) {
		if (!strcmp(g[i].key, key))
			return (uint32_t)i;
	}
	if (*ng >= FOLD_GROUPS_MAX - 1) {	/* the last place is for "*" */
		key = "*";
		for (i = 0; i < *ng; i++) {
			if (!strcmp(g[i].key, key))
				return (uint32_t)i;
		}
	}
	snprintf(g[*ng].key, sizeof(g[*ng].key), "%s", key);
	g[*ng].threads = 0;
	return (uint32_t)(*ng)++;
}

/*
 * A session keeps a root per thread (pyinstrument's model): a target that starts a thread per
 * request added one, and the stacks under it, for each, without bound (about 20 MB a minute at
 * 3 000 threads a second). Once min_ended threads that have ended have roots of their own, their
 * roots become one per name (digits aside): "Thread-* (process_request_thread) [5400 ended]",
 * with the sum of their times and their stacks merged. An ended thread that threading named
 * late goes by that name. Live threads keep their roots. 1 when the session was rebuilt
 * (frame and stack ids held elsewhere are void) and the ended threads forgotten, 0 when there
 * was nothing to fold, -ENOMEM.
 */
int target_fold_ended(struct target *t, size_t min_ended)
{
	const struct session *src = t->session;
	size_t nframes, nstacks, ended = 0, ngroups = 0, i;
	struct fold_group *groups = NULL;
	uint32_t *root_to = NULL, *group_of = NULL, *late = NULL, pos;
	struct session *dst = NULL;
	int *live = NULL, nlive, rc = -ENOMEM;
	bool *known = NULL;

	if (!src || (nlive = proc_tids(t->pid, &live)) < 0)
		return 0;	/* gone or unreadable: its threads end with it */
	nframes = session_frame_count(src);
	nstacks = session_stack_count(src);
	known = calloc(nframes + 1, sizeof(*known));
	late = calloc(nframes + 1, sizeof(*late));
	if (!known || !late)
		goto out;
	/* live threads keep their roots; one that ended with a late name is folded under it */
	for (i = 0; i < t->nthreads; i++) {
		const struct target_thread *th = &t->threads[i];
		uint32_t f = session_stack_frame(src, th->stack);

		if (proc_tids_has(live, nlive, th->tid) && find_tid(t, th->tid, &pos) == th)
			known[f] = true;
		else if (th->renamed)
			late[f] = (uint32_t)i + 1;
	}
	for (i = 0; i < nstacks; i++) {
		uint32_t f = session_stack_frame(src, (uint32_t)i);
		const char *ident;
		size_t len;

		if (session_stack_parent(src, (uint32_t)i) == SESSION_NO_STACK && !known[f] &&
		    thread_root_name(src, f, &len, &ident))
			ended++;
	}
	rc = 0;
	if (ended < min_ended)
		goto out;
	rc = -ENOMEM;
	groups = calloc(FOLD_GROUPS_MAX, sizeof(*groups));
	group_of = no_frames(nframes);
	root_to = no_frames(nframes);
	dst = session__new();
	if (!groups || !group_of || !root_to || !dst)
		goto out;
	for (i = 0; i < nstacks; i++) {
		uint32_t f = session_stack_frame(src, (uint32_t)i);
		char key[THREAD_NAME_MAX];
		const char *name, *ident;
		uint64_t threads;
		size_t len;

		if (session_stack_parent(src, (uint32_t)i) != SESSION_NO_STACK || known[f] ||
		    !(name = thread_root_name(src, f, &len, &ident)))
			continue;
		if (late[f]) {
			name = t->threads[late[f] - 1].name;
			len = strlen(name);
			ident = "";
		}
		threads = fold_key(name, len, ident, key, sizeof(key));
		group_of[f] = fold_group_of(groups, &ngroups, key);
		groups[group_of[f]].threads += threads;
	}
	for (i = 0; i < ngroups; i++) {
		char buf[THREAD_NAME_MAX + 64];
		int n = snprintf(buf, sizeof(buf), "%s [%llu%s%c<thread>%c0", groups[i].key,
				 (unsigned long long)groups[i].threads, FOLD_SUFFIX, 0, 0);

		log_sanitize(buf, strlen(groups[i].key));
		groups[i].frame = session_intern_frame(dst, buf, (size_t)n);
	}
	for (i = 0; i < nframes; i++) {
		if (group_of[i] != SESSION_NO_FRAME)
			root_to[i] = groups[group_of[i]].frame;
	}
	rc = rebuild_session(t, dst, root_to);
	dst = NULL;
	if (!rc) {
		/* their roots have their names now: the entries of ended threads can go */
		target_forget_ended(t, false);
		rc = 1;
	}
out:
	session__free(dst);
	free(live);
	free(known);
	free(late);
	free(groups);
	free(group_of);
	free(root_to);
	return rc;
}

void target_retire_session(struct target *t)
{
	struct session **r;

	if (!t->session)
		return;
	apply_names(t);
	if (!session_sample_count(t->session)) {
		session__free(t->session);
		t->session = NULL;
		return;
	}
	r = realloc(t->retired, (t->nretired + 1) * sizeof(*r));
	if (!r)
		return;
	t->retired = r;
	t->retired[t->nretired++] = t->session;
	t->session = NULL;
	threads_reset(t);
}

/* ---- threads ------------------------------------------------------------------------------ */

#define MAIN_COMM_S 1.0	/* the main thread's OS name is read again after this long */

/* The main thread's OS name, read at most every MAIN_COMM_S (a thread per request asked for it
 * thousands of times a second). */
static const char *main_comm(struct target *t)
{
	double now = monotonic_s();

	if (!t->main_comm_at || now - t->main_comm_at >= MAIN_COMM_S) {
		if (proc_comm(t->pid, 0, t->main_comm, sizeof(t->main_comm)))
			t->main_comm[0] = '\0';
		t->main_comm_at = now;
	}
	return t->main_comm;
}

/* tid as the process sees it (its pid namespace's), without a read of /proc when that is the
 * profiler's own namespace. */
static int ns_tid(struct target *t, int tid)
{
	if (t->same_pid_ns == 2)
		t->same_pid_ns = proc_same_pid_ns(t->pid);
	return t->same_pid_ns == 1 ? tid : proc_ns_pid(t->pid, tid);
}

static void thread_name(struct target *t, int tid, uint64_t ident, char *buf, size_t len)
{
	char comm[64] = "";
	const char *py = thread_names_find(&t->names, ident), *main;

	/* the name threading gave it, else the OS's, else Thread-<tid> */
	if (py) {
		snprintf(buf, len, "%s", py);
		return;
	}
	if (tid == t->pid) {
		snprintf(buf, len, "MainThread");
		return;
	}
	/* a thread that named itself (prctl, or Python 3.14's threading) keeps its name */
	if (!proc_comm(t->pid, tid, comm, sizeof(comm)) && comm[0] &&
	    (main = main_comm(t))[0] && strcmp(comm, main)) {
		snprintf(buf, len, "%s", comm);
		return;
	}
	snprintf(buf, len, "Thread-%d", ns_tid(t, tid));
}

static uint64_t tid_hash_of(const void *ctx, uint32_t i)
{
	return hash_u64((uint32_t)((const struct target *)ctx)->threads[i].tid);
}

/* The thread of tid (its latest, when the tid was reused), or NULL; *pos: where tid's entry is
 * or would go in the index. */
static struct target_thread *find_tid(struct target *t, int tid, uint32_t *pos)
{
	uint32_t i;

	for (i = hash_index_first(&t->tids, hash_u64((uint32_t)tid), pos); i != HASH_INDEX_NONE;
	     i = hash_index_next(&t->tids, pos))
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

struct target_thread *target_thread_find(struct target *t, int tid, uint32_t gen)
{
	uint32_t pos;
	struct target_thread *th = find_tid(t, tid, &pos);

	return th && th->gen == gen ? th : NULL;
}

#define NAMES_EVERY_MIN_S 0.5
#define NAMES_EVERY_MAX_S 8.0
#define NAMES_NEW_THREAD_S 0.05	/* a new thread's name is read this long after first sight, */
#define NAMES_NEW_GAP_S 0.1	/* ... and no sooner than this after the last read, */
#define NAMES_NEW_MAX 4096	/* ... while the target has seen fewer threads than this */

/*
 * threading names a thread as it starts it and lists it (_active) in its first moments; a thread
 * seen first is named from then until its end, which for a short one may come before the next
 * periodic read: its name is read soon after it was first seen. Not for a target that starts
 * threads by the thousand (a thread per request): a read passes over every thread seen, and
 * the periodic reads are enough for threads that live half a second.
 */
static void names_soon(struct target *t)
{
	double due = monotonic_s() + NAMES_NEW_THREAD_S;

	if (t->names_soon || t->nthreads >= NAMES_NEW_MAX)
		return;
	if (due < t->names_read + NAMES_NEW_GAP_S)
		due = t->names_read + NAMES_NEW_GAP_S;
	t->names_soon = due;
}

struct target_thread *target_thread(struct target *t, int tid, uint64_t ident, uint32_t gen)
{
	uint32_t pos;
	struct target_thread *th = find_tid(t, tid, &pos);
	char name[THREAD_NAME_MAX];

	if (th && th->gen == gen)
		return th;
	if (hash_index_reserve(&t->tids, tid_hash_of, t))
		return NULL;
	find_tid(t, tid, &pos);	/* the index may have grown */
	if (array_reserve(&t->threads, &t->threads_cap, t->nthreads + 1, sizeof(*t->threads)))
		return NULL;
	thread_name(t, tid, ident, name, sizeof(name));
	log_sanitize(name, strlen(name));
	th = &t->threads[t->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	th->gen = gen;
	th->ident = ident;
	snprintf(th->name, sizeof(th->name), "%s", name);
	hash_index_put(&t->tids, pos, (uint32_t)t->nthreads - 1);
	names_soon(t);
	th->stack = session_stack_push(t->session, SESSION_NO_STACK,
				       thread_root_frame(t->session, name, ident));
	t->threads_seen++;
	return th;
}

void target_refresh_names(struct target *t, double now, bool force)
{
	uint64_t interp = 0;
	bool *taken, renamed = false;
	const char *py;
	size_t i, j;

	/* Read again soon while threads come and names change, less often (up to 8 s) while
	 * they do not: with many targets, these reads were a good part of the profiler's CPU.
	 * A new thread makes them read soon (names_soon). */
	if (t->state != TARGET_ACTIVE ||
	    (!force && now < t->names_due && !(t->names_soon && now >= t->names_soon)))
		return;
	t->names_read = now;
	t->names_soon = 0;
	if (!t->names_every || t->nthreads != t->names_nthreads)
		t->names_every = NAMES_EVERY_MIN_S;
	t->names_due = now + t->names_every;
	t->names_nthreads = t->nthreads;
	if (proc_read(t->pid, t->interp_head_addr, &interp, 8) || !interp ||
	    thread_names_read(t->pid, t->py.minor, &t->layout, interp, &t->names))
		return;
	taken = calloc(t->names.n + 1, sizeof(*taken));
	if (!taken)
		return;
	/* an ident is reused by a later thread (pthread stacks are cached): the newest has it */
	for (i = t->nthreads; i-- > 0;) {
		struct target_thread *th = &t->threads[i];

		py = thread_names_find(&t->names, th->ident);
		if (!py)
			continue;
		j = (size_t)((const struct thread_name *)(py - offsetof(struct thread_name, name)) -
			     t->names.v);
		if (taken[j])
			continue;
		taken[j] = true;
		if (strcmp(th->name, py)) {
			snprintf(th->name, sizeof(th->name), "%s", py);
			th->renamed = true;
			renamed = true;
		}
	}
	free(taken);
	if (renamed)
		t->names_every = NAMES_EVERY_MIN_S;
	else if (t->names_every < NAMES_EVERY_MAX_S)
		t->names_every *= 2;
}

uint32_t target_truncated_frame(struct target *t, uint32_t missing)
{
	char info[96];
	int n = snprintf(info, sizeof(info), "[truncated: %u frames deeper than --max-depth]%c"
			 "<truncated>%c0", missing, 0, 0);

	return session_intern_frame(t->session, info, (size_t)n);
}

/* ---- the session -------------------------------------------------------------------------- */

/* sys.prefix and friends, from where the interpreter lives (pyinstrument's library rule). */
static void add_prefixes(struct session *s, const struct target *t)
{
	char prefix[PATH_MAX], venv[PATH_MAX], cfg[PATH_MAX + 16], lib[PATH_MAX + 64];
	const char *src = strstr(t->py.elf_path, "/lib/") ? t->py.elf_path : t->py.exe;
	char *cut;
	int fd;

	snprintf(prefix, sizeof(prefix), "%s", src);
	cut = strstr(prefix, "/lib/");
	if (!cut)
		cut = strstr(prefix, "/bin/");
	if (!cut)
		return;
	*cut = '\0';
	if (!prefix[0])
		snprintf(prefix, sizeof(prefix), "/");
	/* a virtual environment: <venv>/bin/python with <venv>/pyvenv.cfg */
	snprintf(venv, sizeof(venv), "%s", t->py.exe);
	cut = strstr(venv, "/bin/");
	venv[cut ? cut - venv : 0] = '\0';
	snprintf(cfg, sizeof(cfg), "%s/pyvenv.cfg", venv);
	fd = venv[0] ? proc_open_in_root(t->pid, cfg) : -1;
	if (fd >= 0)
		close(fd);
	else
		snprintf(venv, sizeof(venv), "%s", prefix);
	session_add_sys_prefix(s, venv);
	session_add_sys_prefix(s, prefix);
	session_add_sys_prefix(s, venv);
	session_add_sys_prefix(s, prefix);
	snprintf(lib, sizeof(lib), "%s/lib/python%d.%d", prefix, t->py.major, t->py.minor);
	session_add_sys_path(s, lib);
	snprintf(lib, sizeof(lib), "%s/lib/python%d.%d/lib-dynload", prefix, t->py.major,
		 t->py.minor);
	session_add_sys_path(s, lib);
	snprintf(lib, sizeof(lib), "%s/lib/python%d.%d/site-packages", venv, t->py.major,
		 t->py.minor);
	session_add_sys_path(s, lib);
	if (!strcmp(prefix, "/usr")) {
		/* Debian's own interpreter */
		session_add_sys_path(s, "/usr/lib/python3/dist-packages");
		snprintf(lib, sizeof(lib), "/usr/local/lib/python%d.%d/dist-packages", t->py.major,
			 t->py.minor);
		session_add_sys_path(s, lib);
	}
}

/* sys.path[0]: the script's directory, as Python computes it from the command line. */
static void add_script_dir(struct session *s, const struct target *t)
{
	char cwd_link[64], cwd[PATH_MAX] = "", dir[2 * PATH_MAX + 2], *arg, *slash;
	char cmd[sizeof(t->cmdline)];
	ssize_t n;

	snprintf(cwd_link, sizeof(cwd_link), "/proc/%d/cwd", t->pid);
	n = readlink(cwd_link, cwd, sizeof(cwd) - 1);
	cwd[n > 0 ? n : 0] = '\0';
	snprintf(cmd, sizeof(cmd), "%s", t->cmdline);
	arg = strtok(cmd, " ");
	while (arg && (arg = strtok(NULL, " ")) && arg[0] == '-') {
		if (!strcmp(arg, "-m") || !strcmp(arg, "-c")) {
			session_add_sys_path(s, cwd);
			return;
		}
	}
	if (!arg)
		return;
	slash = strrchr(arg, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), "%s", cwd);
	else if (arg[0] == '/')
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - arg), arg);
	else
		snprintf(dir, sizeof(dir), "%s/%.*s", cwd, (int)(slash - arg), arg);
	session_add_sys_path(s, dir);
}

static void set_placeholder_start(struct session *s)
{
	static const char main_thread[] = "MainThread\0<thread>\0" "0";

	session_set_start_call_stack(s, session_stack_push(s, SESSION_NO_STACK,
		session_intern_frame(s, main_thread, sizeof(main_thread) - 1)));
}

static void finish_one(struct session *s, const struct target *t, double start_time,
		       double duration, double interval, const char *description)
{
	struct session_origin origin = *session_get_origin(s);

	origin.pid = t->pid;	/* the header's pid, once saved and loaded again too */
	session_set_origin(s, &origin);
	session_set_times(s, start_time, duration);
	session_set_interval(s, interval, interval);
	session_set_cpu_time(s, t->cpu_known ? t->cpu_last - t->cpu_start : 0);
	session_set_target_description(s, description);
	add_script_dir(s, t);
	add_prefixes(s, t);
	/* pyinstrument needs a start_call_stack to load a session: the first thread's root */
	if (t->nthreads)
		session_set_start_call_stack(s, t->threads[0].stack);
	else
		set_placeholder_start(s);
}

static uint32_t copy_stack(struct session *dst, const struct session *src, uint32_t stack,
			   uint32_t root, uint32_t *memo)
{
	const char *info;
	uint32_t parent;
	size_t len;

	if (stack == SESSION_NO_STACK)
		return root;
	if (memo[stack] != SESSION_NO_STACK)
		return memo[stack];
	parent = copy_stack(dst, src, session_stack_parent(src, stack), root, memo);
	info = session_frame_info(src, session_stack_frame(src, stack), &len);
	memo[stack] = session_stack_push(dst, parent, session_intern_frame(dst, info, len));
	return memo[stack];
}

/* Appends src's samples under a process root frame of dst. */
static int merge_process(struct session *dst, const struct session *src, const struct target *t)
{
	const struct session_sample *samples;
	uint32_t root, *memo, nstacks = session_stack_count(src);
	char info[sizeof(t->cmdline) + 64];
	int len, ns_pid;
	size_t i, n;

	ns_pid = proc_ns_pid(t->pid, t->pid);
	if (ns_pid != t->pid)	/* in another pid namespace: show the pid both ways */
		len = snprintf(info, sizeof(info), "%.400s [pid %d in its namespace]%c<process>%c%d",
			       t->cmdline[0] ? t->cmdline : "?", ns_pid, 0, 0, t->pid);
	else
		len = snprintf(info, sizeof(info), "%s%c<process>%c%d",
			       t->cmdline[0] ? t->cmdline : "?", 0, 0, t->pid);
	root = session_stack_push(dst, SESSION_NO_STACK,
				  session_intern_frame(dst, info, (size_t)len));
	memo = malloc(((size_t)nstacks + 1) * sizeof(*memo));
	if (!memo)
		return -ENOMEM;
	memset(memo, 0xff, ((size_t)nstacks + 1) * sizeof(*memo));
	samples = session_samples(src, &n);
	for (i = 0; i < n; i++) {
		uint32_t stack = copy_stack(dst, src, samples[i].stack, root, memo);

		session_add_record(dst, stack, samples[i].weight);
	}
	free(memo);
	return 0;
}

size_t target_table_sessions(struct target_table *tt, double start_time, double duration,
			     double interval, const char *description, struct session **out,
			     int *pids, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < tt->len; i++) {
		struct target *t = tt->items[i];

		target_retire_session(t);
		for (j = 0; j < t->nretired && n < max; j++) {
			out[n] = t->retired[j];
			pids[n++] = t->pid;
			t->retired[j] = NULL;
			finish_one(out[n - 1], t, start_time, duration, interval, description);
		}
		t->nretired = 0;
	}
	return n;
}

struct session *target_table_session(struct target_table *tt, double start_time, double duration,
				     double interval, const char *description)
{
	struct session *only = NULL, *merged;
	const struct target *only_t = NULL;
	size_t i, j, count = 0;
	uint64_t samples = 0;
	double cpu = 0;

	for (i = 0; i < tt->len; i++) {
		struct target *t = tt->items[i];

		target_retire_session(t);
		for (j = 0; j < t->nretired; j++, count++) {
			only = t->retired[j];
			only_t = t;
		}
	}
	if (count <= 1) {
		if (only) {
			/* handed over to the caller */
			for (i = 0; i < only_t->nretired; i++) {
				if (only_t->retired[i] == only)
					only_t->retired[i] = NULL;
			}
		} else {
			only = session__new();
		}
		if (only && only_t)
			finish_one(only, only_t, start_time, duration, interval, description);
		else if (only)
			finish_one(only, &(struct target){ .pid = 0 }, start_time, duration,
				   interval, description);
		return only;
	}
	merged = session__new();
	if (!merged)
		return NULL;
	for (i = 0; i < tt->len; i++) {
		struct target *t = tt->items[i];

		for (j = 0; j < t->nretired; j++) {
			samples += session_sample_count(t->retired[j]);
			merge_process(merged, t->retired[j], t);
			add_prefixes(merged, t);
		}
		if (t->nretired && t->cpu_known)
			cpu += t->cpu_last - t->cpu_start;
	}
	session_set_times(merged, start_time, duration);
	session_set_interval(merged, interval, interval);
	session_set_cpu_time(merged, cpu);
	session_set_target_description(merged, description);
	session_set_sample_count(merged, samples);
	/* the first process's root: pyinstrument needs a start_call_stack; nothing is trimmed */
	session_set_start_call_stack(merged, session_samples(merged, &i)[0].stack);
	while (session_stack_parent(merged, session_get_header(merged)->start_call_stack) !=
	       SESSION_NO_STACK)
		session_set_start_call_stack(merged, session_stack_parent(merged,
					     session_get_header(merged)->start_call_stack));
	return merged;
}

/* ---- continuous mode ---------------------------------------------------------------------- */

/* stack of src, rebuilt in dst (same frames, root first). SESSION_NO_STACK on failure. */
static uint32_t carry_stack(struct session *dst, const struct session *src, uint32_t stack)
{
	uint32_t depth = stack == SESSION_NO_STACK ? 0 : session_stack_depth(src, stack);
	uint32_t *frames, out = SESSION_NO_STACK, i;
	const char *info;
	size_t len;

	frames = malloc((depth ? depth : 1) * sizeof(*frames));
	if (!frames)
		return SESSION_NO_STACK;
	for (i = depth; i-- > 0; stack = session_stack_parent(src, stack))
		frames[i] = session_stack_frame(src, stack);
	for (i = 0; i < depth; i++) {
		info = session_frame_info(src, frames[i], &len);
		out = session_stack_push(dst, out, session_intern_frame(dst, info, len));
	}
	free(frames);
	return out;
}

/* frame of src, interned in dst (SESSION_NO_FRAME stays). */
static uint32_t carry_frame(struct session *dst, const struct session *src, uint32_t frame)
{
	const char *info;
	size_t len;

	if (frame == SESSION_NO_FRAME)
		return frame;
	info = session_frame_info(src, frame, &len);
	return session_intern_frame(dst, info, len);
}

/*
 * Forgets the threads that have ended (and the older of two with one tid): their samples are
 * in the session under their roots already, and a window's end leaves them in that window.
 * Threads threading named late are kept until their session is retired (which renames their
 * roots) unless keep_renamed is false (a window's end, after that). Without this a target that
 * starts a thread per request kept an entry per thread for the life of the profiler (about 130
 * bytes each, 1.4 GB an hour at 3 000 threads a second), and every pass over its threads, and
 * in continuous mode every window's carry, grew with it.
 */
void target_forget_ended(struct target *t, bool keep_renamed)
{
	int *live = NULL, n = proc_tids(t->pid, &live);
	size_t i, kept = 0;
	uint32_t pos;
	bool *keep;

	if (n < 0)
		return;		/* gone or unreadable: its threads go with it */
	keep = calloc(t->nthreads ? t->nthreads : 1, sizeof(*keep));
	if (!keep)
		goto out;
	/* the index holds the newest entry of a tid: of a live tid, that is the live thread */
	for (i = 0; i < t->nthreads; i++)
		keep[i] = (proc_tids_has(live, n, t->threads[i].tid) &&
			   find_tid(t, t->threads[i].tid, &pos) == &t->threads[i]) ||
			  (keep_renamed && t->threads[i].renamed);
	for (i = 0; i < t->nthreads; i++) {
		if (keep[i])
			t->threads[kept++] = t->threads[i];
	}
	if (kept == t->nthreads)
		goto out;
	t->nthreads = kept;
	t->names_nthreads = kept;
	hash_index_clear(&t->tids);
	for (i = 0; i < kept; i++) {
		if (hash_index_reserve(&t->tids, tid_hash_of, t)) {
			t->nthreads = i;	/* no memory: the others are found again as new */
			break;
		}
		find_tid(t, t->threads[i].tid, &pos);
		hash_index_put(&t->tids, pos, (uint32_t)i);
	}
out:
	free(live);
	free(keep);
}

/*
 * An active target goes on in a fresh session. Its threads come along (their roots, and in wall
 * mode the stack last read off a CPU, which samples of a thread that has not run since reuse,
 * and the latest stack of any sample, which a walk that raced with the thread reuses).
 */
static int next_window(struct target *t)
{
	struct session *old = t->session, *s, **r;
	size_t i;

	if (!session_sample_count(old) && !t->nthreads)
		return 0;
	r = realloc(t->retired, (t->nretired + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	t->retired = r;
	s = session__new();
	if (!s)
		return -ENOMEM;
	target_forget_ended(t, false);
	for (i = 0; i < t->nthreads; i++) {
		struct target_thread *th = &t->threads[i];

		th->stack = carry_stack(s, old, th->stack);
		if (th->walked) {
			th->walked_stack = carry_stack(s, old, th->walked_stack);
			th->walked_leaf = carry_frame(s, old, th->walked_leaf);
		}
		/* an old session's id is no stack here: pushing on it would fail the session */
		if (th->recent) {
			th->recent_stack = carry_stack(s, old, th->recent_stack);
			th->recent_leaf = carry_frame(s, old, th->recent_leaf);
		}
	}
	t->retired[t->nretired++] = old;
	t->session = s;
	return session_error(s);
}

static bool target_gone(const struct target *t)
{
	if (t->session || t->nretired)
		return false;
	return t->state == TARGET_EXITED ||
	       ((t->state == TARGET_FAILED || t->state == TARGET_PENDING) && !proc_exists(t->pid));
}

size_t target_table_take_window(struct target_table *tt, double start_time,
				double duration, double interval, const char *description,
				struct session **out, int *pids, size_t max)
{
	size_t i, j, n = 0, kept = 0;

	for (i = 0; i < tt->len; i++) {
		struct target *t = tt->items[i];
		size_t nthreads = t->nthreads;

		target_update_cpu(t);
		/* earlier images (an exec in the window): their threads are gone */
		t->nthreads = 0;
		for (j = 0; j < t->nretired; j++)
			finish_one(t->retired[j], t, start_time, duration, interval, description);
		t->nthreads = nthreads;
		/* this window's roots under the names threading gave since (and the next one's,
		 * which next_window carries from it) */
		if (t->session)
			apply_names(t);
		if (t->session && (t->nthreads || session_sample_count(t->session)))
			finish_one(t->session, t, start_time, duration, interval, description);
		if (t->session && t->state == TARGET_ACTIVE)
			next_window(t);
		else if (t->session)
			target_retire_session(t);
		for (j = 0; j < t->nretired; j++) {
			if (n == max) {
				session__free(t->retired[j]);
				continue;
			}
			out[n] = t->retired[j];
			pids[n++] = t->pid;
		}
		t->nretired = 0;
		t->cpu_start = t->cpu_last;
	}
	tt->last = NULL;
	for (i = 0; i < tt->len; i++) {
		if (target_gone(tt->items[i]))
			target_free(tt->items[i]);
		else
			tt->items[kept++] = tt->items[i];
	}
	tt->len = kept;
	return n;
}
