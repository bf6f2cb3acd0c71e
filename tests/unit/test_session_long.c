// SPDX-License-Identifier: MIT
/*
 * Long sessions (docs/long-sessions.md): a replayed stream of many threads for many minutes
 * keeps memory flat once the timeline is coarsened, totals stay exact, the bucketed records
 * keep their shape, and the .pyisession written from them is what pyinstrument's
 * Session.from_json reads. Weights are 2^-10 s, so every sum is exact whatever its order.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <cJSON.h>

#include "frame_tree.h"
#include "processors.h"
#include "render.h"
#include "session.h"

#define TICK (1.0 / 1024)
#define MAXDEPTH 24

struct stream {
	struct session *s;
	unsigned nthreads, pool;
	uint32_t *stacks;	/* nthreads * pool leaf stacks */
	uint32_t *threads;	/* the thread root stacks */
	unsigned *cur;
	uint64_t *count;	/* samples per session stack id */
	uint64_t rng;
};

static uint32_t rnd(struct stream *st, uint32_t n)
{
	st->rng ^= st->rng << 13;
	st->rng ^= st->rng >> 7;
	st->rng ^= st->rng << 17;
	return (uint32_t)(st->rng % n);
}

static uint32_t frame(struct session *s, const char *name, const char *file, unsigned line)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%u", name, 0, file, 0, line);

	return session_intern_frame(s, buf, (size_t)n);
}

/* Thread t's pool: stacks of 4-24 frames that branch off each other. */
static void stream_init(struct stream *st, unsigned nthreads, unsigned pool)
{
	uint32_t path[MAXDEPTH + 1];
	char name[64];

	*st = (struct stream){ .s = session__new(), .nthreads = nthreads, .pool = pool,
			       .rng = 0x2545f4914f6cdd1dull };
	assert_non_null(st->s);
	st->stacks = malloc((size_t)nthreads * pool * sizeof(*st->stacks));
	st->threads = malloc(nthreads * sizeof(*st->threads));
	st->cur = calloc(nthreads, sizeof(*st->cur));
	assert_true(st->stacks && st->threads && st->cur);
	for (unsigned t = 0; t < nthreads; t++) {
		snprintf(name, sizeof(name), t ? "Thread-%u" : "MainThread", t);
		st->threads[t] = session_stack_push(st->s, SESSION_NO_STACK,
						    frame(st->s, name, "<thread>", 1000 + t));
		for (unsigned i = 0; i < pool; i++) {
			unsigned depth = 4 + rnd(st, MAXDEPTH - 3);

			path[0] = st->threads[t];
			for (unsigned d = 1; d <= depth; d++) {
				unsigned f = d < 3 ? d : (i * 7 + d * 13 + rnd(st, 3)) % 300;

				snprintf(name, sizeof(name), "fn_%u", f);
				path[d] = session_stack_push(st->s, path[d - 1],
							     frame(st->s, name, "/app/mod.py", f));
			}
			st->stacks[t * pool + i] = path[depth];
		}
	}
	st->count = calloc(session_stack_count(st->s), sizeof(*st->count));
	assert_non_null(st->count);
}

static void stream_free(struct stream *st)
{
	session__free(st->s);
	free(st->stacks);
	free(st->threads);
	free(st->cur);
	free(st->count);
}

/* One sample per thread per tick, as the collector adds them in wall mode. */
static void stream_run(struct stream *st, uint64_t ticks)
{
	for (uint64_t i = 0; i < ticks; i++) {
		for (unsigned t = 0; t < st->nthreads; t++) {
			uint32_t r = rnd(st, 100), stack;

			if (r >= 97)
				st->cur[t] = rnd(st, st->pool);
			else if (r >= 85)
				st->cur[t] = (st->cur[t] + 1) % st->pool;
			stack = st->stacks[t * st->pool + st->cur[t]];
			st->count[stack]++;
			assert_int_equal(session_add_sample(st->s, stack, TICK), 0);
		}
	}
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Summed weight per stack from the records, against what the stream sent: exact. */
static void check_totals(const struct stream *st)
{
	uint32_t nstacks = session_stack_count(st->s);
	double *sum = calloc(nstacks, sizeof(*sum));
	size_t n;
	const struct session_sample *v = session_samples(st->s, &n);

	assert_non_null(sum);
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].stack < nstacks);
		sum[v[i].stack] += v[i].weight;
	}
	for (uint32_t i = 0; i < nstacks; i++)
		assert_true(sum[i] == (double)st->count[i] * TICK);
	free(sum);
}

static void test_long_session_memory_flat(void **state)
{
	struct stream st;
	long after_first, at_end;
	size_t n;

	/* 50 threads at 1 kHz: the first simulated minute, then nine more */
	stream_init(&st, 50, 200);
	stream_run(&st, 60 * 1024);
	after_first = peak_rss_kib();
	stream_run(&st, 540 * 1024);
	at_end = peak_rss_kib();
	session_samples(st.s, &n);
	fprintf(stderr, "# %llu samples, %zu records, resolution %g s, peak RSS %ld -> %ld KiB\n",
		(unsigned long long)session_sample_count(st.s), n, session_resolution(st.s),
		after_first, at_end);
	assert_int_equal(session_sample_count(st.s), 600ull * 1024 * 50);
	assert_true(n <= SESSION_MAX_RECORDS);
	assert_true(session_resolution(st.s) > 0);
	/* 16 bytes per sample would be 450 MiB more; the bound allows none after minute one */
	assert_true(at_end - after_first < 16 * 1024);
	assert_int_equal(session_error(st.s), 0);
	check_totals(&st);
	stream_free(&st);
}

/* Per thread, records run in bucket order, one per (bucket, stack), and each starts (on its
 * thread's clock) no earlier than its bucket. */
static void test_long_session_bucket_shape(void **state)
{
	struct stream st;
	size_t n;
	const struct session_sample *v;
	double w, *clock;
	uint32_t *last;

	stream_init(&st, 8, 300);
	stream_run(&st, 120 * 1024);
	v = session_samples(st.s, &n);
	w = session_resolution(st.s);
	assert_true(w > 0);
	assert_true(n <= SESSION_MAX_RECORDS);
	clock = calloc(session_stack_count(st.s), sizeof(*clock));
	last = calloc(session_stack_count(st.s), sizeof(*last));
	for (size_t i = 0; i < n; i++) {
		uint32_t root = v[i].stack, b = v[i].bucket;

		while (session_stack_parent(st.s, root) != SESSION_NO_STACK)
			root = session_stack_parent(st.s, root);
		assert_true(b >= last[root]);
		assert_true(clock[root] >= b * w - 1e-9);
		last[root] = b;
		clock[root] += v[i].weight;
		for (size_t j = i + 1; j < n && j < i + 64; j++)
			assert_false(v[j].stack == v[i].stack && v[j].bucket == b);
	}
	for (unsigned t = 0; t < st.nthreads; t++)
		assert_true(clock[st.threads[t]] == 120.0);
	check_totals(&st);
	free(clock);
	free(last);
	stream_free(&st);
}

/* The aggregated tree of a coarsened session: every thread's time, the whole time. */
static void test_long_session_aggregated_tree_exact(void **state)
{
	struct stream st;
	struct frame_tree *t;
	double self = 0;

	stream_init(&st, 12, 300);
	stream_run(&st, 50 * 1024);
	assert_true(session_resolution(st.s) > 0);
	t = frame_tree__new_aggregated(st.s, false);
	assert_non_null(t);
	assert_int_equal(processor_run(t, PROC_AGGREGATE_REPEATED_CALLS, NULL), 0);
	assert_int_equal(t->root->ident, SESSION_IDENT_ROOT);
	assert_true(t->root->time == 12 * 50.0);
	assert_int_equal(t->root->nchildren, 12);
	for (uint32_t i = 0; i < t->root->nchildren; i++) {
		const struct frame_node *th = t->root->children[i];

		assert_true(th->time == 50.0);
		for (uint32_t j = 0; j < th->nchildren; j++)
			if (th->children[j]->ident == SESSION_IDENT_SELF)
				self += th->children[j]->time;
	}
	assert_true(self == 0);	/* thread roots are never leaves here */
	frame_tree__free(t);
	stream_free(&st);
}

/* More distinct (thread, stack) pairs than the bound holds: it grows with them, and totals
 * stay exact while samples keep coming (the slot table is rebuilt when it grows). */
static void test_distinct_stacks_past_the_bound(void **state)
{
	struct session *s = session__new();
	uint32_t nstacks = 3 * SESSION_MAX_RECORDS / 4, threads[2], *leaf;
	char buf[64];
	size_t n;
	const struct session_sample *v;
	unsigned long long *next;
	double sum = 0;

	leaf = malloc(2 * nstacks * sizeof(*leaf));
	assert_true(s && leaf);
	threads[0] = session_stack_push(s, SESSION_NO_STACK, frame(s, "A", "<thread>", 1));
	threads[1] = session_stack_push(s, SESSION_NO_STACK, frame(s, "B", "<thread>", 2));
	for (uint32_t i = 0; i < 2 * nstacks; i++) {
		snprintf(buf, sizeof(buf), "f%u", i / 2);
		leaf[i] = session_stack_push(s, threads[i % 2], frame(s, buf, "/app/x.py", 1));
	}
	for (int pass = 0; pass < 3; pass++)
		for (uint32_t i = 0; i < 2 * nstacks; i++)
			assert_int_equal(session_add_sample(s, leaf[i], TICK), 0);
	v = session_samples(s, &n);
	assert_true(session_resolution(s) > 0);
	assert_true(n >= 2 * (size_t)nstacks && n <= 4 * (size_t)nstacks);
	/* one record per (stack, bucket): a stack's buckets strictly increase */
	next = calloc(session_stack_count(s), sizeof(*next));
	assert_non_null(next);
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].bucket + 1ull > next[v[i].stack]);
		next[v[i].stack] = v[i].bucket + 1ull;
		sum += v[i].weight;
	}
	free(next);
	assert_true(sum == 3.0 * 2 * nstacks * TICK);
	assert_int_equal(session_error(s), 0);
	free(leaf);
	session__free(s);
}

/* --load a --load b of two long sessions: the bound holds on the concatenation, totals add up. */
static void test_combine_long_sessions(void **state)
{
	struct stream a, b;
	size_t n;
	const struct session_sample *v;
	double sum = 0;

	stream_init(&a, 20, 200);
	stream_init(&b, 20, 200);
	stream_run(&a, 40 * 1024);
	stream_run(&b, 30 * 1024);
	session_set_times(a.s, 100, 40);
	session_set_times(b.s, 200, 30);
	assert_true(session_resolution(a.s) > 0 && session_resolution(b.s) > 0);
	assert_int_equal(session_combine(a.s, b.s), 0);
	v = session_samples(a.s, &n);
	assert_true(n <= SESSION_MAX_RECORDS);
	assert_true(session_resolution(a.s) >= session_resolution(b.s));
	for (size_t i = 0; i < n; i++)
		sum += v[i].weight;
	assert_true(sum == 20 * 70.0);
	assert_int_equal(session_sample_count(a.s), 20ull * 70 * 1024);
	/* and the combined session keeps taking samples within the bound */
	stream_run(&a, 60 * 1024);
	session_samples(a.s, &n);
	assert_true(n <= SESSION_MAX_RECORDS);
	assert_int_equal(session_error(a.s), 0);
	stream_free(&a);
	stream_free(&b);
}

static const cJSON *item(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_non_null(v);
	return v;
}

/*
 * pyinstrument's loader (Session.from_json, session.py:97-110) reads a bucketed file: the
 * required keys, frame_records as [[str, ...], float] pairs whose strings are frame_info
 * ("name\0file\0line" then \x01 attributes), numbers where it takes floats; and the records,
 * loaded back, are the same ones with the same totals.
 */
static void test_bucketed_pyisession_shape(void **state)
{
	static const char *const keys[] = {
		"start_time", "duration", "min_interval", "max_interval", "sample_count",
		"start_call_stack", "target_description", "cpu_time", "sys_path", "sys_prefixes",
		"frame_records",
	};
	char path[] = "/tmp/test_session_long_XXXXXX", err[256];
	struct stream st;
	struct session *back;
	const cJSON *rec, *r, *f;
	cJSON *doc;
	char *text = NULL;
	size_t len, n, nback, k = 0, nframes = 0, nsep = 0;
	const struct session_sample *v, *vb;
	double total = 0;
	FILE *mem;
	int fd;

	stream_init(&st, 6, 100);
	stream_run(&st, 30 * 1024);
	session_set_times(st.s, 1795559549.5, 30.0);
	session_set_interval(st.s, TICK, TICK);
	session_set_start_call_stack(st.s, st.threads[0]);
	assert_int_equal(session_limit_records(st.s, 5000), 0);
	v = session_samples(st.s, &n);
	assert_true(n <= 5000 && n > 100);
	mem = open_memstream(&text, &len);
	assert_int_equal(session_save(st.s, mem), 0);
	fclose(mem);
	doc = cJSON_ParseWithLength(text, len);
	assert_non_null(doc);
	for (const cJSON *c = doc->child; c; c = c->next)
		assert_string_equal(c->string, keys[k++]);
	assert_int_equal(k, sizeof(keys) / sizeof(keys[0]));
	for (k = 0; k < 4; k++)
		assert_true(cJSON_IsNumber(item(doc, keys[k])));
	assert_true(item(doc, "sample_count")->valuedouble == 30.0 * 1024 * 6);
	assert_true(cJSON_IsArray(item(doc, "start_call_stack")));
	assert_true(cJSON_IsString(item(doc, "target_description")));
	rec = item(doc, "frame_records");
	assert_int_equal(cJSON_GetArraySize(rec), (int)n);
	cJSON_ArrayForEach(r, rec) {
		assert_int_equal(cJSON_GetArraySize(r), 2);
		assert_true(cJSON_IsArray(r->child) && cJSON_IsNumber(r->child->next));
		total += r->child->next->valuedouble;
		cJSON_ArrayForEach(f, r->child) {
			assert_true(cJSON_IsString(f) && f->valuestring[0]);
			nframes++;
		}
	}
	/* cJSON ends strings at \u0000: count the separators in the text instead */
	for (const char *p = strstr(text, "\"frame_records\""); (p = strstr(p, "\\u0000")); p++)
		nsep++;
	assert_int_equal(nsep, 2 * nframes);
	assert_true(total == 30.0 * 6);
	cJSON_Delete(doc);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(session_load(path, &back, err, sizeof(err)), 0);
	unlink(path);
	vb = session_samples(back, &nback);
	assert_int_equal(nback, n);
	for (size_t i = 0; i < n; i++)
		assert_true(vb[i].weight == v[i].weight);
	session__free(back);
	free(text);
	stream_free(&st);
}

/* The HTML report of a session of nthreads for seconds, written as report_write writes it. */
static size_t html_size(unsigned nthreads, unsigned seconds, double *resolution)
{
	struct stream st;
	char *html = NULL;
	size_t len = 0;
	FILE *mem;

	stream_init(&st, nthreads, 200);
	stream_run(&st, (uint64_t)seconds * 1024);
	session_set_times(st.s, 1795559549.0, seconds);
	session_set_interval(st.s, TICK, TICK);
	assert_int_equal(session_limit_records(st.s, SESSION_REPORT_RECORDS), 0);
	mem = open_memstream(&html, &len);
	assert_non_null(mem);
	assert_int_equal(render_html(st.s, NULL, mem), 0);
	assert_int_equal(fclose(mem), 0);
	*resolution = session_resolution(st.s);
	check_totals(&st);	/* the timeline is coarser, the totals still exact */
	free(html);
	stream_free(&st);
	return len;
}

/*
 * Issue 15's target on a replayed 33-thread server: the HTML report of 45 s is at most 1.2x
 * the one of 15 s (without the timeline's byte budget: 1.6x), its timeline coarser instead.
 */
static void test_long_session_html_size_flat(void **state)
{
	double r15, r45;
	size_t s15 = html_size(33, 15, &r15), s45 = html_size(33, 45, &r45);

	fprintf(stderr, "# HTML: 15 s %zu bytes (resolution %g s), 45 s %zu bytes (%g s)\n",
		s15, r15, s45, r45);
	assert_true(r45 > r15);
	assert_true(s45 <= s15 * 1.2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_session_memory_flat),
		cmocka_unit_test(test_long_session_bucket_shape),
		cmocka_unit_test(test_long_session_aggregated_tree_exact),
		cmocka_unit_test(test_distinct_stacks_past_the_bound),
		cmocka_unit_test(test_combine_long_sessions),
		cmocka_unit_test(test_bucketed_pyisession_shape),
		cmocka_unit_test(test_long_session_html_size_flat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
