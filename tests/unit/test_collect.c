// SPDX-License-Identifier: MIT
/*
 * The collection side without BPF: records made here exactly as the sampler lays them out
 * (include/pyinst_abi.h) go through the collector's ring buffer callback one at a time, and the
 * resulting sessions are read back as stacks. Covers the code cache mirror and its cookie checks,
 * the ring order of frames, truncation, wall mode's SAME/RACED records and wait leaves, and what
 * process events (exit, exec, fork, a reused pid) do to symbols and sessions.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect.h"
#include "pyinst_abi.h"
#include "session.h"
#include "target.h"

/* Above PID_MAX_LIMIT (4194304): no such process exists, nothing is read from /proc. */
#define PID	5000001
#define PID2	5000002
#define TID2	5000003
#define V311	0x030b00f0u
#define INTERVAL 0.001

#define CODE_A	0x7f1200a01230ULL
#define CODE_B	0x7f1200a05670ULL
#define CODE_C	0x7f1200a09ab0ULL

#define ROOT	"MainThread:<thread>:5000001"
#define ROOT_T2	"Thread-5000003:<thread>:5000003"
#define OUTER	"outer:app.py:10"
#define INNER	"inner:app.py:20"

/* ---- records ------------------------------------------------------------------------------ */

static void set_str(struct pyi_str *s, const char *text)
{
	size_t n = strlen(text);

	s->length = (__u32)n;
	s->nbytes = (__u16)n;
	s->kind = 1;
	s->ok = 1;
	memcpy(s->data, text, n);
}

/*
 * A code record as the kernel sends it when a CPU's cache slot takes a code object. Its line
 * table (3.11 format): bytes 0-3 on firstlineno, bytes 4-7 two lines further.
 */
static void send_code(struct collector *c, int pid, __u32 row, __u64 code, __u32 cookie,
		      const char *name, const char *file, int firstlineno)
{
	static const __u8 table[] = { 0x80 | (10 << 3) | 1, 1, 4, 0x80 | (12 << 3) | 1, 1, 4 };
	struct pyi_code *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->type = PYI_REC_CODE;
	r->pid = (__u32)pid;
	r->code = code;
	r->cookie = cookie;
	r->firstlineno = firstlineno;
	r->row = row;
	r->slot = pyi_code_slot(code);
	set_str(&r->name, name);
	set_str(&r->filename, file);
	r->linetable_copied = sizeof(table);
	memcpy(r->linetable, table, sizeof(table));
	assert_int_equal(collector_take_record(c, r, sizeof(*r)), 0);
	free(r);
}

struct smp {
	int pid, tid;
	__u32 gen, row, flags, reason, depth, head;
	__u64 weight_ns;
	const struct pyi_frame *leaf_first;	/* the stack, leaf first */
	__u32 n;
};

#define FRAME(code_, cookie_, lasti_) { .code = (code_), .cookie = (cookie_), .lasti = (lasti_) }
#define FRAMES(...) .leaf_first = (const struct pyi_frame[]){ __VA_ARGS__ }, \
	.n = sizeof((const struct pyi_frame[]){ __VA_ARGS__ }) / sizeof(struct pyi_frame)

/* A sample record of exactly its size (ASan sees any read past it), frames in ring order. */
static void send_sample(struct collector *c, const struct smp *m)
{
	size_t size = sizeof(struct pyi_sample) + m->n * sizeof(struct pyi_frame);
	struct pyi_sample *s = calloc(1, size);
	__u32 j;

	assert_non_null(s);
	s->type = PYI_REC_SAMPLE;
	s->pid = (__u32)m->pid;
	s->tid = (__u32)(m->tid ? m->tid : m->pid);
	s->flags = m->flags;
	s->ts = 1000;
	s->weight_ns = m->weight_ns;
	s->nframes = m->n;
	s->depth = m->depth ? m->depth : m->n;
	s->head = m->n ? m->head % m->n : 0;
	s->reason = m->reason;
	s->row = m->row;
	s->gen = m->gen;
	s->thread_ident = s->tid;
	for (j = 0; j < m->n; j++)
		s->frames[(s->head + j) % m->n] = m->leaf_first[j];
	assert_int_equal(collector_take_record(c, s, size), 0);
	free(s);
}

static void send_proc(struct collector *c, __u32 kind, int pid, int ppid)
{
	struct pyi_proc_event ev = {
		.type = PYI_REC_PROC, .kind = kind, .pid = (__u32)pid, .ppid = (__u32)ppid,
	};

	assert_int_equal(collector_take_record(c, &ev, sizeof(ev)), 0);
}

/*
 * What target_discover does for a real process, by hand: active, a session, the symbolizer's
 * view (no layout: a code object the kernel did not describe is never read from memory here).
 */
static struct target *activate(struct collector *c, int pid)
{
	struct target_table *tt = collector_targets(c);
	struct target *t = target_find(tt, pid);

	if (!t || t->state == TARGET_EXITED)
		t = target_add(tt, pid, false, NULL);
	assert_non_null(t);
	t->state = TARGET_ACTIVE;
	if (!t->session)
		t->session = session__new();
	assert_non_null(t->session);
	t->sym.pid = pid;
	t->sym.version_hex = V311;
	t->sym.off = &t->off;
	t->sym.layout = NULL;
	return t;
}

/* ---- reading a session back ---------------------------------------------------------------- */

/* A frame_info with its separators visible: "name:file:line|lN". */
static void frame_text(const struct session *s, uint32_t frame, char *out, size_t len)
{
	size_t n, i, o = 0;
	const char *info = session_frame_info(s, frame, &n);

	for (i = 0; i < n && o + 1 < len; i++)
		out[o++] = info[i] == '\0' ? ':' : info[i] == '\x01' ? '|' : info[i];
	out[o] = '\0';
}

/* The stack as "root;...;leaf". */
static char *stack_text(const struct session *s, uint32_t stack)
{
	char *out = calloc(1, 8192), frame[512], tmp[8192];

	assert_non_null(out);
	for (; stack != SESSION_NO_STACK; stack = session_stack_parent(s, stack)) {
		frame_text(s, session_stack_frame(s, stack), frame, sizeof(frame));
		snprintf(tmp, sizeof(tmp), "%s%s%s", frame, out[0] ? ";" : "", out);
		snprintf(out, 8192, "%s", tmp);
	}
	return out;
}

/* Seconds recorded on exactly this stack. */
static double weight(const struct session *s, const char *path)
{
	const struct session_sample *v;
	double sum = 0;
	size_t n, i;

	v = session_samples(s, &n);
	for (i = 0; i < n; i++) {
		char *text = stack_text(s, v[i].stack);

		if (!strcmp(text, path))
			sum += v[i].weight;
		free(text);
	}
	return sum;
}

static double total(const struct session *s)
{
	const struct session_sample *v;
	double sum = 0;
	size_t n, i;

	v = session_samples(s, &n);
	for (i = 0; i < n; i++)
		sum += v[i].weight;
	return sum;
}

/* Seconds recorded under a thread's root frame (its text). */
static double thread_total(const struct session *s, const char *root)
{
	const struct session_sample *v;
	size_t n, i, len = strlen(root);
	double sum = 0;

	v = session_samples(s, &n);
	for (i = 0; i < n; i++) {
		char *text = stack_text(s, v[i].stack);

		if (!strncmp(text, root, len) && (text[len] == ';' || !text[len]))
			sum += v[i].weight;
		free(text);
	}
	return sum;
}

static void print_session(const struct session *s)
{
	const struct session_sample *v;
	size_t n, i;

	v = session_samples(s, &n);
	for (i = 0; i < n; i++) {
		char *text = stack_text(s, v[i].stack);

		print_message("  %s %.6f\n", text, v[i].weight);
		free(text);
	}
}

static void expect_weight(const struct session *s, const char *path, double want)
{
	double got = weight(s, path);

	if (fabs(got - want) > 1e-9) {
		print_message("%s: %.6f s, want %.6f; the session holds:\n", path, got, want);
		print_session(s);
		fail();
	}
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static struct collector *new_collector(bool wall, bool hide_idle)
{
	struct collect_opts o = {
		.interval = INTERVAL, .max_depth = 8, .wall = wall, .hide_idle = hide_idle,
	};
	struct collector *c = collector__new_offline(&o, 3);

	assert_non_null(c);
	return c;
}

static int setup_cpu(void **state)
{
	*state = new_collector(false, false);
	activate(*state, PID);
	return 0;
}

static int setup_wall(void **state)
{
	*state = new_collector(true, false);
	activate(*state, PID);
	return 0;
}

static int setup_hide_idle(void **state)
{
	*state = new_collector(true, true);
	activate(*state, PID);
	return 0;
}

static int teardown(void **state)
{
	collector__free(*state);
	return 0;
}

static struct session *session_of(struct collector *c, int pid)
{
	return target_find(collector_targets(c), pid)->session;
}

/* The code address nearest above code that the kernel caches in the same slot. */
static __u64 same_slot(__u64 code)
{
	__u64 other = code + 16;

	while (pyi_code_slot(other) != pyi_code_slot(code))
		other += 16;
	return other;
}

/* ---- the code cache mirror ------------------------------------------------------------------ */

/* Described once, then every sample naming the object resolves: names, files, current line. */
static void test_collect_mirror_names_frames(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_B, 22, 4),
							  FRAME(CODE_A, 11, 0)) });
	/* the kernel never sends a code object twice to one slot: the mirror keeps it */
	send_sample(c, &(struct smp){ .pid = PID, .weight_ns = 5000000,
				      FRAMES(FRAME(CODE_B, 22, 4), FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 6)) });
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l22", 0.006);
	expect_weight(s, ROOT ";" OUTER "|l12", INTERVAL);
	assert_int_equal(session_sample_count(s), 3);
}

/* Each CPU has its own cache: one address holds different objects on two rows at once. */
static void test_collect_mirror_rows_per_cpu(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "before", "app.py", 10);
	send_code(c, PID, 1, CODE_A, 12, "after", "app.py", 30);
	send_sample(c, &(struct smp){ .pid = PID, .row = 1, FRAMES(FRAME(CODE_A, 12, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .row = 0, .weight_ns = 2000000,
				      FRAMES(FRAME(CODE_A, 11, 0)) });
	expect_weight(s, ROOT ";after:app.py:30|l30", INTERVAL);
	expect_weight(s, ROOT ";before:app.py:10|l10", 0.002);
}

/*
 * A slot taken by another object (an address that hashes alike, or the same address reused by
 * a new object: another cookie) no longer describes the old one: a late sample of the old
 * object is named from what was pushed out of the slot, never after the new one.
 */
static void test_collect_mirror_evicted_slot(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);
	__u64 other = same_slot(CODE_A);

	send_code(c, PID, 0, CODE_A, 11, "first", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	send_code(c, PID, 0, other, 11, "second", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 4)) });
	send_code(c, PID, 0, CODE_A, 99, "third", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 2)) });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 99, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(other, 11, 0)) });
	/* the first sample's frame was resolved while the slot held it: it stays named */
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	/* a description pushed out of its slot still names its own object (same address and
	 * cookie): the kernel describes two objects of one stack that share a slot, then sends
	 * the sample, and the first may be freed before it could be read back */
	expect_weight(s, ROOT ";first:app.py:10|l10", 3 * INTERVAL);
	expect_weight(s, ROOT ";first:app.py:10|l12", INTERVAL);
	expect_weight(s, ROOT ";second:app.py:10|l10", INTERVAL);
	expect_weight(s, ROOT ";third:app.py:10|l10", INTERVAL);
	expect_weight(s, ROOT ";<unknown>:<unknown>:0", 0);
	assert_int_equal(session_sample_count(s), 6);
}

/* Forked children share addresses and cookies: each process's records are its own. */
static void test_collect_mirror_per_process(void **state)
{
	struct collector *c = *state;

	activate(c, PID2);
	send_code(c, PID, 0, CODE_A, 11, "parent_only", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID2, FRAMES(FRAME(CODE_A, 11, 0)) });
	send_code(c, PID2, 0, CODE_A, 11, "child", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID2, FRAMES(FRAME(CODE_A, 11, 2)) });
	expect_weight(session_of(c, PID2), "MainThread:<thread>:5000002;<unknown>:<unknown>:0",
		      INTERVAL);
	expect_weight(session_of(c, PID2), "MainThread:<thread>:5000002;child:app.py:10|l10",
		      INTERVAL);
	assert_int_equal(session_sample_count(session_of(c, PID)), 0);
}

/* ---- stacks -------------------------------------------------------------------------------- */

/* frames[] is a ring from head; a truncated walk keeps the root end and says what it lost. */
static void test_collect_ring_order_and_truncation(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_code(c, PID, 0, CODE_C, 33, "deep", "lib.py", 30);
	send_sample(c, &(struct smp){ .pid = PID, .head = 2,
				      FRAMES(FRAME(CODE_C, 33, 0), FRAME(CODE_B, 22, 0),
					     FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .head = 1, .flags = PYI_SF_TRUNCATED,
				      .depth = 10,
				      FRAMES(FRAME(CODE_C, 33, 0), FRAME(CODE_B, 22, 0),
					     FRAME(CODE_A, 11, 0)) });
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l20;deep:lib.py:30|l30", INTERVAL);
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l20;deep:lib.py:30|l30;"
		      "[truncated: 7 frames deeper than --max-depth]:<truncated>:0", INTERVAL);
}

/* 3.11+: a frame before its first traceable instruction has not started: left out. */
static void test_collect_incomplete_frame_left_out(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);
	struct pyi_code *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->type = PYI_REC_CODE;
	r->pid = PID;
	r->code = CODE_B;
	r->cookie = 22;
	r->firstlineno = 20;
	r->firsttraceable = 3;	/* RESUME after 3 code units: bytes 0-5 are the prologue */
	r->slot = pyi_code_slot(CODE_B);
	set_str(&r->name, "starting");
	set_str(&r->filename, "app.py");
	assert_int_equal(collector_take_record(c, r, sizeof(*r)), 0);
	free(r);
	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_B, 22, 4),
							  FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_B, 22, 6),
							  FRAME(CODE_A, 11, 0)) });
	expect_weight(s, ROOT ";" OUTER "|l10", INTERVAL);
	expect_weight(s, ROOT ";" OUTER "|l10;starting:app.py:20", INTERVAL);
}

/* What the callback must not take: short or inconsistent records, other processes, no Python. */
static void test_collect_malformed_records_dropped(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);
	size_t size = sizeof(struct pyi_sample) + 2 * sizeof(struct pyi_frame);
	struct pyi_sample *smp = calloc(1, size);
	struct pyi_code *code = calloc(1, sizeof(*code));
	__u32 type = PYI_REC_SAMPLE, junk[2] = { 77, 0 };

	assert_non_null(smp);
	assert_non_null(code);
	smp->type = PYI_REC_SAMPLE;
	smp->pid = smp->tid = PID;
	smp->nframes = 2;
	smp->depth = 2;
	smp->frames[0] = (struct pyi_frame)FRAME(CODE_A, 11, 0);
	smp->frames[1] = (struct pyi_frame)FRAME(CODE_A, 11, 0);
	/* frames claimed past the record's end */
	assert_int_equal(collector_take_record(c, smp, size - 1), 0);
	smp->nframes = 3;
	assert_int_equal(collector_take_record(c, smp, size), 0);
	/* a head outside the ring; more frames than the kernel can hold */
	smp->nframes = 2;
	smp->head = 2;
	assert_int_equal(collector_take_record(c, smp, size), 0);
	smp->head = 0;
	smp->nframes = PYI_FRAMES_CAP + 1;
	assert_int_equal(collector_take_record(c, smp, size), 0);
	/* a header cut short, a bare type, an unknown type */
	smp->nframes = 0;
	assert_int_equal(collector_take_record(c, smp, sizeof(*smp) - 1), 0);
	assert_int_equal(collector_take_record(c, &type, sizeof(type)), 0);
	assert_int_equal(collector_take_record(c, junk, sizeof(junk)), 0);
	assert_int_equal(collector_take_record(c, junk, 2), 0);
	/* a thread without a PyThreadState; a process that is not a target */
	smp->flags = PYI_SF_NO_TSTATE;
	assert_int_equal(collector_take_record(c, smp, sizeof(*smp)), 0);
	smp->flags = 0;
	smp->pid = PID2;
	assert_int_equal(collector_take_record(c, smp, sizeof(*smp)), 0);
	assert_int_equal(session_sample_count(s), 0);
	/* a code record cut short is not taken: the object stays unknown */
	code->type = PYI_REC_CODE;
	code->pid = PID;
	code->code = CODE_A;
	code->cookie = 11;
	code->slot = pyi_code_slot(CODE_A);
	set_str(&code->name, "cut");
	assert_int_equal(collector_take_record(c, code, sizeof(*code) - 1), 0);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	expect_weight(s, ROOT ";<unknown>:<unknown>:0", INTERVAL);
	assert_int_equal(session_sample_count(s), 1);
	free(smp);
	free(code);
}

/* ---- wall mode ----------------------------------------------------------------------------- */

#define SLEEP	PYI_REASON_SYSCALL(35)	/* nanosleep */
#define FUTEX	PYI_REASON_SYSCALL(202)
#define EPOLL	PYI_REASON_SYSCALL(232)

/* SAME: the thread has not run since its last walk: that stack again, with today's reason. */
static void test_collect_wall_same_repeats_walked_stack(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = SLEEP,
				      .weight_ns = 10000000,
				      FRAMES(FRAME(CODE_B, 22, 4), FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
				      .reason = SLEEP, .weight_ns = 20000000 });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
				      .reason = FUTEX, .weight_ns = 5000000 });
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l22;[sleeping]:<wait>:0", 0.030);
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l22;[waiting on a lock]:<wait>:0", 0.005);
	/* an on-CPU sample moves its recent stack, not the walked one SAME repeats */
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 6)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
				      .reason = SLEEP, .weight_ns = 1000000 });
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l22;[sleeping]:<wait>:0", 0.031);
	expect_weight(s, ROOT ";" OUTER "|l12", INTERVAL);
	assert_true(fabs(total(s) - 0.037) < 1e-9);
}

/*
 * An on-CPU SAME (the iterator settling a thread's on-CPU time, wall.bpf.h): the run time its
 * samples missed, on the stack it was just walked with, without a wait: on a CPU, not off one.
 */
static void test_collect_wall_same_oncpu_topup(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 6)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = SLEEP,
				      .weight_ns = 10000000,
				      FRAMES(FRAME(CODE_B, 22, 4), FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_SAME, .weight_ns = 3000000 });
	expect_weight(s, ROOT ";" OUTER "|l12", INTERVAL);
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l22;[sleeping]:<wait>:0", 0.010);
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l22", 0.003);
	assert_true(fabs(total(s) - 0.014) < 1e-9);
}

/* SAME for a thread never walked off a CPU, or for a new thread that reuses a tid: dropped. */
static void test_collect_wall_same_needs_walk(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	/* seen on a CPU only */
	send_sample(c, &(struct smp){ .pid = PID, .tid = TID2, .gen = 1,
				      FRAMES(FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .tid = TID2, .gen = 1,
				      .flags = PYI_SF_OFFCPU | PYI_SF_SAME, .reason = SLEEP,
				      .weight_ns = 4000000 });
	/* walked, then its tid taken by a new thread (another start time) */
	send_sample(c, &(struct smp){ .pid = PID, .tid = TID2, .gen = 1, .flags = PYI_SF_OFFCPU,
				      .reason = SLEEP, .weight_ns = 2000000,
				      FRAMES(FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .tid = TID2, .gen = 2,
				      .flags = PYI_SF_OFFCPU | PYI_SF_SAME, .reason = SLEEP,
				      .weight_ns = 8000000 });
	/* a thread never seen at all */
	send_sample(c, &(struct smp){ .pid = PID, .tid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
				      .reason = SLEEP, .weight_ns = 16000000 });
	expect_weight(s, ROOT_T2 ";" OUTER "|l10", INTERVAL);
	expect_weight(s, ROOT_T2 ";" OUTER "|l10;[sleeping]:<wait>:0", 0.002);
	assert_true(fabs(total(s) - 0.003) < 1e-9);
}

/* RACED: read while it ran again: its latest stack from any sample, else its root alone. */
static void test_collect_wall_raced(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_B, 22, 0),
							  FRAME(CODE_A, 11, 0)) });
	/* its frames may mix two moments: not used */
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_RACED,
				      .reason = FUTEX, .weight_ns = 3000000,
				      FRAMES(FRAME(CODE_A, 11, 6)) });
	send_sample(c, &(struct smp){ .pid = PID, .tid = TID2, .flags = PYI_SF_OFFCPU |
				      PYI_SF_RACED, .reason = SLEEP, .weight_ns = 7000000,
				      FRAMES(FRAME(CODE_B, 22, 0)) });
	expect_weight(s, ROOT ";" OUTER "|l10;" INNER "|l20;[waiting on a lock]:<wait>:0", 0.003);
	expect_weight(s, ROOT_T2 ";[sleeping]:<wait>:0", 0.007);
	assert_true(fabs(total(s) - 0.011) < 1e-9);
}

/* Why a thread was off CPU, as its leaf: stopped, the GIL, a CPU, a syscall with no name. */
static void test_collect_wall_wait_leaves(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);
	static const __u32 reasons[] = {
		PYI_REASON_STOPPED, PYI_REASON_GIL, PYI_REASON_PREEMPTED, PYI_REASON_BLOCKED,
		PYI_REASON_SYSCALL(999),
	};

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU,
					      .reason = reasons[i], .weight_ns = 1000000 * (i + 1),
					      FRAMES(FRAME(CODE_A, 11, 0)) });
	expect_weight(s, ROOT ";" OUTER "|l10;[stopped]:<wait>:0", 0.001);
	expect_weight(s, ROOT ";" OUTER "|l10;[waiting for the GIL]:<wait>:0", 0.002);
	expect_weight(s, ROOT ";" OUTER "|l10;[waiting for a CPU]:<wait>:0", 0.003);
	expect_weight(s, ROOT ";" OUTER "|l10;[blocked]:<wait>:0", 0.004);
	expect_weight(s, ROOT ";" OUTER "|l10;[in system call 999]:<wait>:0", 0.005);
}

/* A thread parked in selectors' select is idle, not waiting; waiting for a CPU there is not. */
static void send_idle_samples(struct collector *c)
{
	send_code(c, PID, 0, CODE_A, 11, "run_forever",
		  "/usr/lib/python3.11/asyncio/base_events.py", 600);
	send_code(c, PID, 0, CODE_B, 22, "select", "/usr/lib/python3.11/selectors.py", 451);
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = EPOLL,
				      .weight_ns = 50000000,
				      FRAMES(FRAME(CODE_B, 22, 0), FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason =
				      PYI_REASON_PREEMPTED, .weight_ns = 2000000,
				      FRAMES(FRAME(CODE_B, 22, 0), FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = EPOLL,
				      .weight_ns = 3000000, FRAMES(FRAME(CODE_A, 11, 0)) });
}

#define LOOP ROOT ";run_forever:/usr/lib/python3.11/asyncio/base_events.py:600|l600"
#define SELECT LOOP ";select:/usr/lib/python3.11/selectors.py:451|l451"

static void test_collect_wall_idle(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_idle_samples(c);
	expect_weight(s, SELECT ";[polling]:<idle>:0", 0.050);
	expect_weight(s, SELECT ";[waiting for a CPU]:<wait>:0", 0.002);
	expect_weight(s, LOOP ";[polling]:<wait>:0", 0.003);
}

/* --hide-idle: the idle time is left out, the rest stays. */
static void test_collect_wall_hide_idle(void **state)
{
	struct collector *c = *state;
	struct session *s = session_of(c, PID);

	send_idle_samples(c);
	expect_weight(s, SELECT ";[polling]:<idle>:0", 0);
	expect_weight(s, SELECT ";[waiting for a CPU]:<wait>:0", 0.002);
	expect_weight(s, LOOP ";[polling]:<wait>:0", 0.003);
	assert_int_equal(session_sample_count(s), 2);
}

/*
 * Many threads: each keeps its own root and walked stack as the thread index grows, and the
 * SAME records of each repeat its own stack.
 */
static void test_collect_wall_many_threads(void **state)
{
	struct collector *c = *state;
	struct target *t = target_find(collector_targets(c), PID);
	char root[128];
	int i;

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	for (i = 0; i < 300; i++)
		send_sample(c, &(struct smp){ .pid = PID, .tid = TID2 + i, .gen = 1,
					      .flags = PYI_SF_OFFCPU, .reason = SLEEP,
					      .weight_ns = 1000000,
					      FRAMES(FRAME(i % 2 ? CODE_B : CODE_A, i % 2 ? 22 : 11,
							   0)) });
	for (i = 0; i < 300; i++)
		send_sample(c, &(struct smp){ .pid = PID, .tid = TID2 + i, .gen = 1,
					      .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
					      .reason = SLEEP, .weight_ns = 1000000 * (i + 1) });
	assert_int_equal(t->nthreads, 300);
	for (i = 0; i < 300; i++) {
		snprintf(root, sizeof(root), "Thread-%d:<thread>:%d", TID2 + i, TID2 + i);
		assert_true(fabs(thread_total(t->session, root) - 0.001 * (i + 2)) < 1e-9);
	}
	snprintf(root, sizeof(root), "Thread-%d:<thread>:%d;" INNER "|l20;[sleeping]:<wait>:0",
		 TID2 + 299, TID2 + 299);
	expect_weight(t->session, root, 0.301);
}

/*
 * Continuous mode: a window ends, the process records on into a fresh session with its threads
 * and their walked stacks; frames are interned anew there (the old ids name other frames).
 */
static void test_collect_window_carries_threads(void **state)
{
	struct collector *c = *state;
	struct target *t = target_find(collector_targets(c), PID);
	struct session *out[2];
	int pids[2];

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_code(c, PID, 0, CODE_C, 33, "gone", "app.py", 30);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_C, 33, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = SLEEP,
				      .weight_ns = 6000000,
				      FRAMES(FRAME(CODE_B, 22, 0), FRAME(CODE_A, 11, 0)) });
	assert_int_equal(collector_take_window(c, 0, 1, "w", out, pids, 2), 1);
	assert_int_equal(pids[0], PID);
	expect_weight(out[0], ROOT ";gone:app.py:30|l30", INTERVAL);
	expect_weight(out[0], ROOT ";" OUTER "|l10;" INNER "|l20;[sleeping]:<wait>:0", 0.006);
	session__free(out[0]);
	assert_int_equal(t->state, TARGET_ACTIVE);
	assert_int_equal(session_sample_count(t->session), 0);
	/* not run since: the walked stack, carried over */
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
				      .reason = SLEEP, .weight_ns = 9000000 });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_C, 33, 0)) });
	expect_weight(t->session, ROOT ";" OUTER "|l10;" INNER "|l20;[sleeping]:<wait>:0", 0.009);
	expect_weight(t->session, ROOT ";" OUTER "|l10", INTERVAL);
	expect_weight(t->session, ROOT ";gone:app.py:30|l30", INTERVAL);
	assert_int_equal(session_sample_count(t->session), 3);
}

/*
 * A RACED record after a window: the thread's latest stack is the one its last sample had,
 * which lives in the old window's session; here it must be a stack of the new one.
 */
static void test_collect_window_then_raced(void **state)
{
	struct collector *c = *state;
	struct target *t = target_find(collector_targets(c), PID);
	struct session *out[2];
	int pids[2];

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "inner", "app.py", 20);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_B, 22, 0),
							  FRAME(CODE_A, 11, 0)) });
	assert_int_equal(collector_take_window(c, 0, 1, "w", out, pids, 2), 1);
	session__free(out[0]);
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_RACED,
				      .reason = FUTEX, .weight_ns = 3000000,
				      FRAMES(FRAME(CODE_A, 11, 6)) });
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	assert_int_equal(session_error(t->session), 0);
	expect_weight(t->session, ROOT ";" OUTER "|l10;" INNER "|l20;[waiting on a lock]:<wait>:0",
		      0.003);
	expect_weight(t->session, ROOT ";" OUTER "|l10", INTERVAL);
	assert_int_equal(session_sample_count(t->session), 2);
}

/* ---- process events ------------------------------------------------------------------------ */

/* Exit closes the process's session: a late record adds nothing to it. */
static void test_collect_exit_closes_session(void **state)
{
	struct collector *c = *state;
	struct target *t = target_find(collector_targets(c), PID);

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	send_proc(c, PYI_PROC_EXIT, PID, 0);
	assert_int_equal(t->state, TARGET_EXITED);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	assert_int_equal(session_sample_count(t->session), 1);
	/* an exit of a process that is no target is nothing */
	send_proc(c, PYI_PROC_EXIT, PID2, 0);
	assert_null(target_find(collector_targets(c), PID2));
}

/*
 * A new process with the pid of one that exited is another target with its own session: it
 * inherits neither the old one's frames (ids of the old session) nor, for an object the kernel
 * describes anew, its names.
 */
static void test_collect_pid_reuse(void **state)
{
	struct collector *c = *state;
	struct target_table *tt = collector_targets(c);
	struct target *old = target_find(tt, PID), *new;
	struct session *out[4];
	int pids[4];

	send_code(c, PID, 0, CODE_A, 11, "old_main", "old.py", 10);
	send_code(c, PID, 0, CODE_B, 22, "old_work", "old.py", 20);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_B, 22, 0),
							  FRAME(CODE_A, 11, 0)) });
	send_proc(c, PYI_PROC_EXIT, PID, 0);
	send_proc(c, PYI_PROC_FORK, PID, PID2);
	new = target_find(tt, PID);
	assert_ptr_not_equal(new, old);
	assert_int_equal(new->state, TARGET_PENDING);
	activate(c, PID);
	/* records of the pid go to the newest process, whatever came between */
	activate(c, PID2);
	/* the same address holds another object: the kernel describes it (another cookie) */
	send_code(c, PID, 0, CODE_A, 12, "new_main", "new.py", 40);
	send_sample(c, &(struct smp){ .pid = PID, .weight_ns = 2000000,
				      FRAMES(FRAME(CODE_A, 12, 0)) });
	/* an object identical to an old one (same cookie): the kernel's slot still holds it */
	send_sample(c, &(struct smp){ .pid = PID, .weight_ns = 3000000,
				      FRAMES(FRAME(CODE_B, 22, 0)) });
	/* the old object's frame, resolved in the old process: its slot holds the new one now */
	send_sample(c, &(struct smp){ .pid = PID, .weight_ns = 4000000,
				      FRAMES(FRAME(CODE_A, 11, 0)) });
	expect_weight(old->session, ROOT ";old_main:old.py:10|l10;old_work:old.py:20|l20",
		      INTERVAL);
	assert_int_equal(session_sample_count(old->session), 1);
	expect_weight(new->session, ROOT ";new_main:new.py:40|l40", 0.002);
	expect_weight(new->session, ROOT ";old_work:old.py:20|l20", 0.003);
	expect_weight(new->session, ROOT ";<unknown>:<unknown>:0", 0.004);
	assert_int_equal(session_sample_count(new->session), 3);
	/* --per-process: two sessions of one pid */
	assert_int_equal(target_table_sessions(tt, 0, 1, INTERVAL, "t", out, pids, 4), 2);
	assert_int_equal(pids[0], PID);
	assert_int_equal(pids[1], PID);
	assert_true(fabs(total(out[0]) - INTERVAL) < 1e-9);
	assert_true(fabs(total(out[1]) - 0.009) < 1e-9);
	session__free(out[0]);
	session__free(out[1]);
}

/* What the collector said on stderr (the log) while taking a process event. */
static void send_proc_logged(struct collector *c, __u32 kind, int pid, char *log, size_t len)
{
	char path[] = "/tmp/pyi-collect-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	send_proc(c, kind, pid, 0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, log, len - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

/* exec: what was recorded is kept apart, and the new image starts with no threads or frames. */
static void test_collect_exec_retires_session(void **state)
{
	struct collector *c = *state;
	struct target_table *tt = collector_targets(c);
	struct target *t = target_find(tt, PID);
	struct session *before = t->session, *out[4];
	char note[512];
	int pids[4];

	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = SLEEP,
				      .weight_ns = 4000000, FRAMES(FRAME(CODE_A, 11, 0)) });
	send_proc_logged(c, PYI_PROC_EXEC, PID, note, sizeof(note));
	assert_int_equal(t->state, TARGET_PENDING);
	assert_null(t->session);
	assert_int_equal(t->nretired, 1);
	assert_ptr_equal(t->retired[0], before);
	/* one line, a warning */
	assert_string_equal(note, "pyinst-bpf: warning: process 5000001 called exec: profiling "
			    "what it runs now, if Python\n");
	activate(c, PID);
	/* the thread walked before exec is not in the new image: SAME has nothing to repeat */
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU | PYI_SF_SAME,
				      .reason = SLEEP, .weight_ns = 9000000 });
	/* frames are the new session's: the old image's frame ids name other frames here */
	send_code(c, PID, 0, CODE_B, 22, "main", "new.py", 1);
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = FUTEX,
				      .weight_ns = 2000000, FRAMES(FRAME(CODE_B, 22, 0)) });
	send_sample(c, &(struct smp){ .pid = PID, .flags = PYI_SF_OFFCPU, .reason = SLEEP,
				      .weight_ns = 1000000, FRAMES(FRAME(CODE_A, 11, 0)) });
	expect_weight(t->session, ROOT ";main:new.py:1|l1;[waiting on a lock]:<wait>:0", 0.002);
	expect_weight(t->session, ROOT ";outer:app.py:10|l10;[sleeping]:<wait>:0", 0.001);
	assert_int_equal(session_sample_count(t->session), 2);
	assert_int_equal(target_table_sessions(tt, 0, 1, INTERVAL, "t", out, pids, 4), 2);
	expect_weight(out[0], ROOT ";outer:app.py:10|l10;[sleeping]:<wait>:0", 0.004);
	session__free(out[0]);
	session__free(out[1]);
}

/* Several processes in one session: each under a root of its own, its threads below. */
static void test_collect_processes_merged(void **state)
{
	struct collector *c = *state;
	struct target_table *tt = collector_targets(c);
	struct session *s;

	activate(c, PID2);
	send_code(c, PID, 0, CODE_A, 11, "outer", "app.py", 10);
	send_code(c, PID2, 1, CODE_A, 11, "child", "app.py", 50);
	send_sample(c, &(struct smp){ .pid = PID, FRAMES(FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID2, .row = 1, .weight_ns = 3000000,
				      FRAMES(FRAME(CODE_A, 11, 0)) });
	send_sample(c, &(struct smp){ .pid = PID2, .tid = TID2, .row = 1, .weight_ns = 2000000,
				      FRAMES(FRAME(CODE_A, 11, 0)) });
	s = target_table_session(tt, 0, 1, INTERVAL, "t");
	assert_non_null(s);
	expect_weight(s, "?:<process>:5000001;" ROOT ";" OUTER "|l10", INTERVAL);
	expect_weight(s, "?:<process>:5000002;MainThread:<thread>:5000002;child:app.py:50|l50",
		      0.003);
	expect_weight(s, "?:<process>:5000002;" ROOT_T2 ";child:app.py:50|l50", 0.002);
	assert_int_equal(session_sample_count(s), 3);
	session__free(s);
}

/* fork: the child of a followed process is followed; a live pid is not made anew. */
static void test_collect_fork_follows(void **state)
{
	struct collector *c = *state;
	struct target_table *tt = collector_targets(c);
	struct target *parent = target_find(tt, PID), *child;

	parent->follow = true;
	send_proc(c, PYI_PROC_FORK, PID2, PID);
	child = target_find(tt, PID2);
	assert_non_null(child);
	assert_true(child->follow);
	assert_int_equal(child->state, TARGET_PENDING);
	send_proc(c, PYI_PROC_FORK, PID, 1);
	assert_ptr_equal(target_find(tt, PID), parent);
	assert_int_equal(parent->state, TARGET_ACTIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collect_mirror_names_frames, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_mirror_rows_per_cpu, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_mirror_evicted_slot, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_mirror_per_process, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_ring_order_and_truncation, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_incomplete_frame_left_out, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_malformed_records_dropped, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_same_repeats_walked_stack,
						setup_wall, teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_same_oncpu_topup, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_same_needs_walk, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_raced, setup_wall, teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_wait_leaves, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_idle, setup_wall, teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_hide_idle, setup_hide_idle,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_wall_many_threads, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_window_carries_threads, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_window_then_raced, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_exit_closes_session, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_pid_reuse, setup_cpu, teardown),
		cmocka_unit_test_setup_teardown(test_collect_exec_retires_session, setup_wall,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_processes_merged, setup_cpu,
						teardown),
		cmocka_unit_test_setup_teardown(test_collect_fork_follows, setup_cpu, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
