// SPDX-License-Identifier: MIT
/*
 * The target table without processes: threads and their roots, names threading gives late,
 * sessions handed out at the end or per window, and what the table keeps of exited processes.
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

#include "session.h"
#include "target.h"

/* Above PID_MAX_LIMIT (4194304): no such process exists, nothing is read from /proc. */
#define PID	5000001
#define TID2	5000003

static struct target *add_active(struct target_table *tt, int pid)
{
	struct target *t = target_add(tt, pid, false, NULL);

	assert_non_null(t);
	t->state = TARGET_ACTIVE;
	t->session = session__new();
	assert_non_null(t->session);
	return t;
}

static uint32_t push(struct session *s, uint32_t stack, const char *name)
{
	char info[128];
	int n = snprintf(info, sizeof(info), "%s%capp.py%c1", name, 0, 0);

	return session_stack_push(s, stack, session_intern_frame(s, info, (size_t)n));
}

/* The root frame of a stack, its separators shown as ':'. */
static void root_text(const struct session *s, uint32_t stack, char *out, size_t len)
{
	const char *info;
	size_t n, i;

	while (session_stack_parent(s, stack) != SESSION_NO_STACK)
		stack = session_stack_parent(s, stack);
	info = session_frame_info(s, session_stack_frame(s, stack), &n);
	for (i = 0; i < n && i + 1 < len; i++)
		out[i] = info[i] ? info[i] : ':';
	out[i] = '\0';
}

static void expect_root(const struct session *s, size_t sample, const char *want)
{
	const struct session_sample *v;
	char got[256];
	size_t n;

	v = session_samples(s, &n);
	assert_true(sample < n);
	root_text(s, v[sample].stack, got, sizeof(got));
	assert_string_equal(got, want);
}

/* A thread's root: threading's name, MainThread for the main thread, else Thread-<tid>. */
static void test_target_thread_roots(void **state)
{
	struct target_table tt;
	struct target *t;
	struct target_thread *a, *b, *c;

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, PID);
	t->names.v = calloc(1, sizeof(*t->names.v));
	assert_non_null(t->names.v);
	t->names.n = t->names.cap = 1;
	t->names.v[0].ident = 0x7f0011;
	snprintf(t->names.v[0].name, sizeof(t->names.v[0].name), "pool\x1b[2J");
	a = target_thread(t, PID, 0x7f0010, 7);
	b = target_thread(t, TID2, 0x7f0011, 7);
	c = target_thread(t, TID2 + 1, 0x7f0012, 7);
	session_add_sample(t->session, a->stack, 1);
	session_add_sample(t->session, b->stack, 1);
	session_add_sample(t->session, c->stack, 1);
	expect_root(t->session, 0, "MainThread:<thread>:8323088");
	/* no control character of a target's reaches a terminal */
	expect_root(t->session, 1, "pool?[2J:<thread>:8323089");
	expect_root(t->session, 2, "Thread-5000004:<thread>:8323090");
	/* the same tid from another start: another thread */
	assert_ptr_equal(target_thread(t, TID2, 0x7f0011, 7), b);
	assert_ptr_equal(target_thread_find(t, TID2, 7), b);
	assert_null(target_thread_find(t, TID2, 8));
	b = target_thread(t, TID2, 0x7f0099, 8);
	assert_int_equal(b->gen, 8);
	assert_ptr_equal(target_thread_find(t, TID2, 8), b);
	assert_int_equal(t->nthreads, 4);
	assert_int_equal(t->threads_seen, 4);
	target_table_free(&tt);
}

/*
 * threading names a thread after its first sample: at retirement its root takes the new name
 * in every sample, and the frames below and the weights stay.
 */
static void test_target_late_names(void **state)
{
	struct target_table tt;
	struct target *t;
	struct target_thread *th;
	const struct session_sample *v;
	struct session *s;
	uint32_t stack;
	size_t n;

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, PID);
	th = target_thread(t, TID2, 42, 1);
	stack = push(t->session, push(t->session, th->stack, "outer"), "inner");
	session_add_sample(t->session, stack, 0.25);
	session_add_sample(t->session, th->stack, 0.5);
	snprintf(th->name, sizeof(th->name), "late\x07name");
	th->renamed = true;
	s = target_table_session(&tt, 0, 1, 0.001, "t");
	assert_non_null(s);
	expect_root(s, 0, "late?name:<thread>:42");
	expect_root(s, 1, "late?name:<thread>:42");
	v = session_samples(s, &n);
	assert_int_equal(n, 2);
	assert_int_equal(session_stack_depth(s, v[0].stack), 3);
	assert_true(fabs(v[0].weight - 0.25) < 1e-12);
	assert_true(fabs(v[1].weight - 0.5) < 1e-12);
	assert_int_equal(session_sample_count(s), 2);
	session__free(s);
	target_table_free(&tt);
}

/*
 * Continuous mode: every window hands out what was recorded; an exited process is handed out
 * once and then dropped from the table, so a busy host's table stays small.
 */
static void test_target_windows_drop_exited(void **state)
{
	struct target_table tt;
	struct session *out[4];
	struct target *a, *b;
	unsigned int procs, threads, running;
	int pids[4];

	(void)state;
	target_table_init(&tt);
	a = add_active(&tt, PID);
	b = add_active(&tt, PID + 1);
	session_add_sample(a->session, target_thread(a, PID, 1, 1)->stack, 0.1);
	session_add_sample(b->session, target_thread(b, PID + 1, 2, 1)->stack, 0.2);
	b->state = TARGET_EXITED;
	target_table_counts(&tt, &procs, &threads, &running);
	assert_int_equal(procs, 2);
	assert_int_equal(threads, 2);
	assert_int_equal(running, 1);
	assert_int_equal(target_table_take_window(&tt, 0, 1, 0.001, "w", out, pids, 4), 2);
	assert_int_equal(pids[0], PID);
	assert_int_equal(pids[1], PID + 1);
	assert_int_equal(session_sample_count(out[0]), 1);
	assert_int_equal(session_sample_count(out[1]), 1);
	session__free(out[0]);
	session__free(out[1]);
	/* b is gone; a records on with its thread */
	assert_int_equal(tt.len, 1);
	assert_ptr_equal(target_find(&tt, PID), a);
	assert_null(target_find(&tt, PID + 1));
	assert_int_equal(a->nthreads, 1);
	assert_int_equal(session_sample_count(a->session), 0);
	session_add_sample(a->session, a->threads[0].stack, 0.1);
	expect_root(a->session, 0, "MainThread:<thread>:1");
	target_table_free(&tt);
}

/*
 * Continuous mode: a window's end forgets the threads that have ended, and the older entry of a
 * reused tid (a thread per request used to cost an entry for the profiler's whole life). Run on
 * this test's own process: its one thread is live, TID2 never was.
 */
static void test_target_windows_forget_ended_threads(void **state)
{
	struct target_table tt;
	struct session *out[2];
	struct target *t;
	int pids[2], me = getpid();
	size_t n;

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, me);
	session_add_sample(t->session, target_thread(t, me, 1, 1)->stack, 0.1);
	session_add_sample(t->session, target_thread(t, TID2, 2, 1)->stack, 0.2);
	/* the same tid, a newer thread (another start time) */
	session_add_sample(t->session, target_thread(t, me, 3, 2)->stack, 0.3);
	assert_int_equal(t->nthreads, 3);
	assert_int_equal(target_table_take_window(&tt, 0, 1, 0.001, "w", out, pids, 2), 1);
	/* the window keeps all three */
	session_samples(out[0], &n);
	assert_int_equal(n, 3);
	expect_root(out[0], 1, "Thread-5000003:<thread>:2");
	session__free(out[0]);
	/* the next one knows only the live thread, as it is now */
	assert_int_equal(t->nthreads, 1);
	assert_null(target_thread_find(t, TID2, 1));
	assert_null(target_thread_find(t, me, 1));
	assert_ptr_equal(target_thread_find(t, me, 2), &t->threads[0]);
	session_add_sample(t->session, t->threads[0].stack, 0.1);
	expect_root(t->session, 0, "MainThread:<thread>:3");
	/* a thread seen again after it was forgotten is a new entry, not a lost one */
	assert_non_null(target_thread(t, TID2, 2, 1));
	assert_int_equal(t->nthreads, 2);
	target_table_free(&tt);
}

/*
 * One session for the whole run: ended threads are forgotten along the way, except one that
 * threading named late, whose root is renamed when the session ends.
 */
static void test_target_forget_keeps_late_names(void **state)
{
	struct target_table tt;
	struct target_thread *th;
	struct target *t;
	struct session *s;
	int me = getpid();

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, me);
	session_add_sample(t->session, target_thread(t, me, 1, 1)->stack, 0.1);
	session_add_sample(t->session, target_thread(t, TID2, 2, 1)->stack, 0.2);
	th = target_thread(t, TID2 + 1, 3, 1);
	session_add_sample(t->session, th->stack, 0.3);
	snprintf(th->name, sizeof(th->name), "worker");
	th->renamed = true;
	target_forget_ended(t, true);
	assert_int_equal(t->nthreads, 2);
	assert_null(target_thread_find(t, TID2, 1));
	assert_non_null(target_thread_find(t, TID2 + 1, 1));
	s = target_table_session(&tt, 0, 1, 0.001, "t");
	assert_non_null(s);
	expect_root(s, 0, "MainThread:<thread>:1");
	expect_root(s, 1, "Thread-5000003:<thread>:2");
	expect_root(s, 2, "worker:<thread>:3");
	session__free(s);
	target_table_free(&tt);
}

/* An ended thread named by threading: its sample under its root, then a call. */
static void ended_thread(struct target *t, int tid, uint64_t ident, const char *name,
			 double weight)
{
	struct thread_name *v = realloc(t->names.v, (t->names.n + 1) * sizeof(*v));

	assert_non_null(v);
	t->names.v = v;
	v[t->names.n].ident = ident;
	snprintf(v[t->names.n].name, sizeof(v[t->names.n].name), "%s", name);
	t->names.n++;
	t->names.cap = t->names.n;
	session_add_sample(t->session, push(t->session, target_thread(t, tid, ident, 1)->stack,
					    "handle"), weight);
}

/* The roots in a session's samples, "root=weight" in order of first sight, ';'-separated. */
static void roots_text(const struct session *s, char *out, size_t len)
{
	const struct session_sample *v;
	char roots[16][128];
	double w[16];
	size_t n, i, j, nroots = 0, o = 0;

	v = session_samples(s, &n);
	for (i = 0; i < n; i++) {
		char r[128];

		root_text(s, v[i].stack, r, sizeof(r));
		for (j = 0; j < nroots && strcmp(roots[j], r); j++)
			;
		if (j == nroots) {
			assert_true(nroots < 16);
			snprintf(roots[nroots], sizeof(roots[nroots]), "%s", r);
			w[nroots++] = 0;
		}
		w[j] += v[i].weight;
	}
	out[0] = '\0';
	for (j = 0; j < nroots; j++)
		o += (size_t)snprintf(out + o, len - o, "%s%s=%.1f", j ? ";" : "", roots[j], w[j]);
}

/*
 * A target that starts a thread per request: once enough ended threads have roots of their own,
 * those roots become one per name, digits aside, counting the threads and summing their times
 * (one that threading named late under that name); live threads keep theirs, and a live one's
 * late name is still applied at the end. A later fold adds to a group. The stacks of the folded
 * threads are gone from the session, and so are their entries. Run on this test's own process:
 * its one thread is live, the TID2 ones never were.
 */
static void test_target_fold_ended_threads(void **state)
{
	struct target_table tt;
	struct target_thread *late;
	struct session *s;
	struct target *t;
	char got[1024];
	uint32_t stacks;
	int me = getpid();

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, me);
	session_add_sample(t->session, push(t->session, target_thread(t, me, 1, 1)->stack, "main"),
			   1.0);
	snprintf(t->threads[0].name, sizeof(t->threads[0].name), "main-renamed");
	t->threads[0].renamed = true;
	ended_thread(t, TID2, 0x10, "Thread-12 (handle)", 0.1);
	ended_thread(t, TID2 + 1, 0x11, "Thread-13 (handle)", 0.2);
	ended_thread(t, TID2 + 2, 0x12, "pool-7", 0.4);
	ended_thread(t, TID2 + 3, 0x13, "Thread-9 (handle)", 0.8);
	late = target_thread(t, TID2 + 4, 0x14, 1);
	session_add_sample(t->session, late->stack, 1.6);
	snprintf(late->name, sizeof(late->name), "late\x1b[2J");
	late->renamed = true;
	target_forget_ended(t, true);
	assert_int_equal(t->nthreads, 2);
	/* too few to fold */
	assert_int_equal(target_fold_ended(t, 6), 0);
	stacks = session_stack_count(t->session);
	assert_int_equal(target_fold_ended(t, 5), 1);
	assert_true(session_stack_count(t->session) < stacks);
	assert_int_equal(t->nthreads, 1);
	roots_text(t->session, got, sizeof(got));
	assert_string_equal(got, "MainThread:<thread>:1=1.0;Thread-* (handle) [3 ended]:<thread>:0=1.1;"
			    "pool-* [1 ended]:<thread>:0=0.4;late?[*J [1 ended]:<thread>:0=1.6");
	assert_int_equal(session_sample_count(t->session), 6);
	/* the threads still known sample on, under their roots in the new session */
	session_add_sample(t->session, push(t->session, t->threads[0].stack, "main"), 1.0);
	roots_text(t->session, got, sizeof(got));
	assert_string_equal(got, "MainThread:<thread>:1=2.0;Thread-* (handle) [3 ended]:<thread>:0=1.1;"
			    "pool-* [1 ended]:<thread>:0=0.4;late?[*J [1 ended]:<thread>:0=1.6");
	/* a later fold adds to the groups */
	ended_thread(t, TID2 + 5, 0x15, "Thread-40 (handle)", 3.2);
	target_forget_ended(t, true);
	assert_int_equal(target_fold_ended(t, 3), 1);
	roots_text(t->session, got, sizeof(got));
	assert_string_equal(got, "MainThread:<thread>:1=2.0;Thread-* (handle) [4 ended]:<thread>:0=4.3;"
			    "pool-* [1 ended]:<thread>:0=0.4;late?[*J [1 ended]:<thread>:0=1.6");
	/* the live thread's late name, at the end */
	s = target_table_session(&tt, 0, 1, 0.001, "t");
	assert_non_null(s);
	roots_text(s, got, sizeof(got));
	assert_string_equal(got, "main-renamed:<thread>:1=2.0;Thread-* (handle) [4 ended]:<thread>:0=4.3;"
			    "pool-* [1 ended]:<thread>:0=0.4;late?[*J [1 ended]:<thread>:0=1.6");
	session__free(s);
	target_table_free(&tt);
}

/* Names past the 64th distinct one go to one group, "*": the groups stay bounded. */
static void test_target_fold_many_names(void **state)
{
	const struct session_sample *v;
	struct target_table tt;
	struct target *t;
	char name[16], root[128];
	size_t n, i, star = 0;
	int me = getpid();

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, me);
	session_add_sample(t->session, target_thread(t, me, 1, 1)->stack, 1.0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "w%c%c", 'a' + (int)(i / 26), 'a' + (int)(i % 26));
		ended_thread(t, TID2 + (int)i, 0x10 + i, name, 0.5);
	}
	target_forget_ended(t, true);
	assert_int_equal(target_fold_ended(t, 100), 1);
	v = session_samples(t->session, &n);
	for (i = 0; i < n; i++) {
		root_text(t->session, v[i].stack, root, sizeof(root));
		star += !strcmp(root, "* [37 ended]:<thread>:0");
	}
	/* 63 names of their own, the 37 others in "*" */
	assert_int_equal(star, 37);
	assert_int_equal(session_stack_count(t->session), 1 + 2 * 64);	/* roots and "handle" */
	target_table_free(&tt);
}

/* A truncated stack says how many frames it lost at its leaf end. */
static void test_target_truncated_frame(void **state)
{
	struct target_table tt;
	struct target *t;
	const char *info;
	size_t len;

	(void)state;
	target_table_init(&tt);
	t = add_active(&tt, PID);
	info = session_frame_info(t->session, target_truncated_frame(t, 4096), &len);
	assert_int_equal(len, sizeof("[truncated: 4096 frames deeper than --max-depth]\0"
				     "<truncated>\0" "0") - 1);
	assert_memory_equal(info, "[truncated: 4096 frames deeper than --max-depth]\0<truncated>\0"
			    "0", len);
	target_table_free(&tt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_thread_roots),
		cmocka_unit_test(test_target_late_names),
		cmocka_unit_test(test_target_windows_drop_exited),
		cmocka_unit_test(test_target_windows_forget_ended_threads),
		cmocka_unit_test(test_target_forget_keeps_late_names),
		cmocka_unit_test(test_target_fold_ended_threads),
		cmocka_unit_test(test_target_fold_many_names),
		cmocka_unit_test(test_target_truncated_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
