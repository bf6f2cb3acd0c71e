// SPDX-License-Identifier: MIT
/*
 * The session model, .pyisession load/save/combine, the frame tree and processors.
 * Sample sessions are real pyinstrument 5.1.2 files (tests/data/pyinstrument-samples).
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
#include <unistd.h>

#include <cmocka.h>

#include "frame_tree.h"
#include "processors.h"
#include "session.h"
#include "render_util.h"

static char *save_to_string(const struct session *s, size_t *len)
{
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);

	assert_int_equal(session_save(s, mem), 0);
	fclose(mem);
	return buf;
}

/* Writes text to a temporary file and loads it; returns session_load's result. */
static int load_text(const char *text, size_t len, char *err, size_t errlen,
		     struct session **out)
{
	char path[] = "/tmp/test_session_XXXXXX";
	int fd = mkstemp(path), ret;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	ret = session_load(path, out, err, errlen);
	unlink(path);
	return ret;
}

static void test_session_round_trip_byte_identical(void **state)
{
	/* Every sample was written by Python's json.dumps; our save must give the same bytes. */
	static const char *const names[] = {
		"demo.pyisession", "demo2.pyisession", "combined.pyisession",
		"async_enabled.pyisession", "async_strict.pyisession", "empty.pyisession",
		"out_of_context_strict.pyisession",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = samples_path(names[i]), *want, *got;
		size_t want_len, got_len;
		struct session *s = load_sample(names[i]);

		want = read_whole(path, &want_len);
		got = save_to_string(s, &got_len);
		if (got_len != want_len || memcmp(got, want, want_len))
			fail_msg("%s: saved bytes differ from the original", names[i]);
		free(path);
		free(want);
		free(got);
		session__free(s);
	}
}

static void test_session_float_repr_matches_python(void **state)
{
	static const struct {
		double v;
		const char *repr;
	} cases[] = {
		{ 1795559549.6920204, "1795559549.6920204" }, { 0.001, "0.001" },
		{ 0.45021963119506836, "0.45021963119506836" }, { 1e16, "1e+16" },
		{ 1e-05, "1e-05" }, { 0.0001, "0.0001" }, { 1.5e-07, "1.5e-07" },
		{ 123456789012345678.0, "1.2345678901234568e+17" }, { -0.0, "-0.0" },
		{ 0.0, "0.0" }, { 100.0, "100.0" },
		{ 9.855100000000228e-05, "9.855100000000228e-05" },
		{ 1e15, "1000000000000000.0" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 1e-310, "1e-310" }, { 2.2250738585072014e-308, "2.2250738585072014e-308" },
		{ 2.0 / 3, "0.6666666666666666" }, { 0.3, "0.3" },
		{ INFINITY, "Infinity" }, { NAN, "NaN" },
	};
	char buf[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		session_format_float(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].repr);
	}
}

static const char *records_of(const char *json)
{
	const char *p = strstr(json, "\"frame_records\": ");

	assert_non_null(p);
	return p;
}

static bool has_prefix(const struct session *s, const char *prefix)
{
	size_t n;
	const char *const *v = session_sys_prefixes(s, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], prefix))
			return true;
	return false;
}

/* combined.pyisession was made by Session.combine(demo, demo2). */
static void check_combined(struct session *got, struct session *want)
{
	const struct session_header *g = session_get_header(got), *w = session_get_header(want);
	size_t gn, wn, glen, wlen;
	const char *const *gp = session_sys_path(got, &gn);
	const char *const *wp = session_sys_path(want, &wn);
	char *gs = save_to_string(got, &glen), *ws = save_to_string(want, &wlen);

	assert_true(g->start_time == w->start_time && g->duration == w->duration);
	assert_true(g->min_interval == w->min_interval && g->max_interval == w->max_interval);
	assert_true(g->cpu_time == w->cpu_time);
	assert_int_equal(g->sample_count, w->sample_count);
	assert_string_equal(g->target_description, w->target_description);
	assert_int_equal(gn, wn);
	for (size_t i = 0; i < gn; i++)
		assert_string_equal(gp[i], wp[i]);
	/* list(set(...)) in pyinstrument: compare as sets */
	session_sys_prefixes(got, &gn);
	session_sys_prefixes(want, &wn);
	assert_int_equal(gn, wn);
	assert_true(has_prefix(got, "/usr/local") && has_prefix(got, "/opt/venv"));
	assert_string_equal(records_of(gs), records_of(ws));
	assert_non_null(strstr(gs, "\"start_call_stack\": [\"MainThread\\u0000<thread>\\u0000"
				   "139766573841280\""));
	free(gs);
	free(ws);
}

static void test_session_combine_matches_pyinstrument(void **state)
{
	struct session *want = load_sample("combined.pyisession");
	struct session *a = load_sample("demo.pyisession"), *b = load_sample("demo2.pyisession");

	assert_int_equal(session_combine(a, b), 0);
	check_combined(a, want);
	session__free(a);
	session__free(b);
	/* the other way round: the earlier session still comes first */
	a = load_sample("demo.pyisession");
	b = load_sample("demo2.pyisession");
	assert_int_equal(session_combine(b, a), 0);
	check_combined(b, want);
	session__free(a);
	session__free(b);
	session__free(want);
}

struct bad_case {
	const char *text;
	const char *reason;	/* expected in the error string */
};

#define HDR "\"start_time\": 1.0, \"duration\": 1.0, \"sample_count\": 1, " \
	"\"start_call_stack\": [], \"target_description\": \"t\", \"cpu_time\": 0.5"

static void test_session_load_rejects_hostile_input(void **state)
{
	static const struct bad_case cases[] = {
		{ "", "not valid JSON" },
		{ "not json at all", "not valid JSON" },
		{ "{\"start_time\": 1.0, \"dur", "not valid JSON" },
		{ "[1, 2, 3]", "not a JSON object" },
		{ "{" HDR "}", "missing key \"frame_records\"" },
		{ "{\"frame_records\": []}", "missing key \"start_time\"" },
		{ "{" HDR ", \"frame_records\": 5}", "\"frame_records\" is not a list" },
		{ "{" HDR ", \"frame_records\": [5]}", "frame_records[0]: expected [stack, time]" },
		{ "{" HDR ", \"frame_records\": [[[1], 0.1]]}", "frame 0 is not a string" },
		{ "{" HDR ", \"frame_records\": [[[\"a\"], \"x\"]]}", "time is not a finite" },
		{ "{" HDR ", \"frame_records\": [[[\"a\"], 1e999]]}", "time is not a finite" },
		{ "{\"start_time\": \"now\", \"duration\": 1.0, \"frame_records\": []}",
		  "\"start_time\" is not a number" },
		{ "{\"start_time\": 1e400, \"duration\": 1.0, \"frame_records\": []}",
		  "\"start_time\" is not a finite number" },
		{ "{\"start_time\": 1.0, \"duration\": 1.0, \"sample_count\": 1e300, "
		  "\"cpu_time\": 0, \"frame_records\": []}", "\"sample_count\" is not a count" },
		{ "{\"start_time\": 1.0, \"duration\": 1.0, \"sample_count\": -1, "
		  "\"cpu_time\": 0, \"frame_records\": []}", "\"sample_count\" is not a count" },
		{ "{\"start_time\": 1.0, \"duration\": 1.0, \"sample_count\": 1, \"cpu_time\": 0, "
		  "\"target_description\": [], \"frame_records\": []}",
		  "\"target_description\" is not a string" },
		{ "{" HDR ", \"sys_path\": [1], \"frame_records\": []}", "holds a non-string" },
		{ "{" HDR ", \"frame_records\": [[[\"\\ud800\"], 0.1]]}", "not valid JSON" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct session *s = (struct session *)1;

		err[0] = '\0';
		assert_int_equal(load_text(cases[i].text, strlen(cases[i].text), err, sizeof(err),
					   &s), -EINVAL);
		assert_null(s);
		if (!strstr(err, cases[i].reason))
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].reason);
	}
}

static void test_session_load_survives_deep_nesting(void **state)
{
	size_t depth = 100000;
	char *text = malloc(2 * depth + 1), err[256] = "";
	struct session *s = NULL;

	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = '\0';
	assert_int_equal(load_text(text, 2 * depth, err, sizeof(err), &s), -EINVAL);
	assert_non_null(strstr(err, "not valid JSON"));
	free(text);
}

static void test_session_load_truncated_file(void **state)
{
	char *path = samples_path("demo.pyisession"), err[256] = "", *text;
	struct session *s = NULL;
	size_t len;

	text = read_whole(path, &len);
	for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
		assert_int_equal(load_text(text, cut, err, sizeof(err), &s), -EINVAL);
		assert_null(s);
	}
	assert_int_equal(session_load("/nonexistent/x.pyisession", &s, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.pyisession: "));
	free(text);
	free(path);
}

/* Loads text with and without the loader's fast paths: the same result, error or session. */
static void check_fast_matches_plain(const char *text, size_t len)
{
	char path[] = "/tmp/test_session_XXXXXX", err[256] = "", perr[256] = "", *a = NULL, *b;
	struct session *s = NULL, *p = NULL;
	size_t alen = 0, blen;
	int fd = mkstemp(path), ret, pret;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	ret = session_load(path, &s, err, sizeof(err));
	pret = session_load_flags(path, &p, perr, sizeof(perr), SESSION_LOAD_PLAIN);
	unlink(path);
	assert_int_equal(ret, pret);
	assert_string_equal(err, perr);
	if (!ret) {
		a = save_to_string(s, &alen);
		b = save_to_string(p, &blen);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
		free(b);
	}
	free(a);
	session__free(s);
	session__free(p);
}

static void test_session_load_fast_paths_match_plain(void **state)
{
	/* Two threads interleaving; one frame spelled two ways (h, \u0068); escaped quotes and
	 * backslashes right before a closing quote; frames under several parents; a stack
	 * repeated byte for byte after another thread's. */
#define T1 "\"Thread-1\\u0000<thread>\\u00001\""
#define T2 "\"MainThread\\u0000<thread>\\u00002\""
#define FA "\"f\\u0000/a.py\\u00001\\u0001l3\""
#define FB "\"g\\\\\\u0000/b \\\"q\\\".py\\u00002\\\\\""
#define FC "\"h\\u0000/c\\\\.py\\u00003\""
#define FC2 "\"\\u0068\\u0000\\/c\\\\.py\\u00003\""
	static const char text[] = "{" HDR ", \"start_call_stack\": [" T1 ", " FA "], "
		"\"frame_records\": ["
		"[[" T1 ", " FA ", " FB "], 0.001], [[" T1 ", " FA ", " FB "], 0.002], "
		"[[" T2 ", " FA ", " FB "], 0.003], [[" T1 "," FA "," FB "," FC2 "], 0.004], "
		"[[" T2 ", " FB ", " FA "], 0.005], [[" T1 ", " FA ", " FB "], 0.006], "
		"[[" T2 ", " FB ", " FA ", " FC "], 0.007], [[" T1 ", " FC "], 0.008], "
		"[[" T2 ", " FA "], 0.009], [[" T1 ", " FA ", " FB ", " FC "], 0.01], "
		"[[" T2 ", " FB ", " FA ", " FC "], 0.011], [[], 0.012], "
		"[[" T2 ", " FB ", " FA ", " FC "], 0.013]]}";
	static const char *const names[] = {
		"demo.pyisession", "demo2.pyisession", "combined.pyisession",
		"async_enabled.pyisession", "out_of_context_strict.pyisession",
	};
	struct session *s = NULL;
	char err[256] = "";

	/* it loads, and holds one frame h (two spellings), two threads */
	assert_int_equal(load_text(text, sizeof(text) - 1, err, sizeof(err), &s), 0);
	session__free(s);
	check_fast_matches_plain(text, sizeof(text) - 1);
	/* cut anywhere, and a byte changed anywhere: the same error or the same session */
	for (size_t cut = 0; cut < sizeof(text) - 1; cut++) {
		char *t = malloc(sizeof(text));

		check_fast_matches_plain(text, cut);
		memcpy(t, text, sizeof(text));
		t[cut] = t[cut] == '"' ? '\\' : t[cut] == '\\' ? '"' : 'x';
		check_fast_matches_plain(t, sizeof(text) - 1);
		free(t);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = samples_path(names[i]), *t;
		size_t len;

		t = read_whole(path, &len);
		check_fast_matches_plain(t, len);
		free(t);
		free(path);
	}
#undef T1
#undef T2
#undef FA
#undef FB
#undef FC
#undef FC2
}

static void test_session_odd_names_round_trip(void **state)
{
	/* NUL, newline, ESC, non-ASCII (BMP and astral), DEL, a raw C0 byte and a lone
	 * surrogate-escaped byte: loaded, then saved back exactly as Python would. */
	static const char text[] =
		"{\"start_time\": 1.0, \"duration\": 2.5, \"min_interval\": 0.001, "
		"\"max_interval\": 0.001, \"sample_count\": 2, \"start_call_stack\": [], "
		"\"target_description\": \"caf\\u00e9 \\ud83d\\ude00\", \"cpu_time\": 0.5, "
		"\"sys_path\": [\"\"], \"sys_prefixes\": [], \"frame_records\": "
		"[[[\"a\\u0000b\\nc\\u001b[31m\\u007f\\u0000\\udcff\\u00c0\\udcc0"
		"\\u0001cK\"], 0.25], "
		"[[\"a\\u0000b\\nc\\u001b[31m\\u007f\\u0000\\udcff\\u00c0\\udcc0\\u0001cK\", "
		"\"x\\u0000\\u0000\\u0000\"], 1e-05]]}";
	char err[256] = "", *got;
	struct session *s = NULL;
	size_t len, ilen;
	const char *info;

	assert_int_equal(load_text(text, sizeof(text) - 1, err, sizeof(err), &s), 0);
	info = session_frame_info(s, 0, &ilen);
	assert_int_equal(ilen, 19);
	assert_memory_equal(info, "a\0b\nc\033[31m\177\0\377\303\200\300\001cK", 19);
	got = save_to_string(s, &len);
	assert_int_equal(len, sizeof(text) - 1);
	assert_memory_equal(got, text, len);
	free(got);
	session__free(s);
}

/* A session with one sample and the given origin. */
static struct session *session_with_origin(enum session_mode mode, int pid, int64_t lost)
{
	static const char frame[] = "f\0/a.py\0" "1";
	struct session_origin o = { .mode = mode, .pid = pid, .lost_samples = lost };
	struct session *s = session__new();

	assert_non_null(s);
	session_add_sample(s, session_stack_push(s, SESSION_NO_STACK,
			   session_intern_frame(s, frame, sizeof(frame) - 1)), 0.001);
	session_set_origin(s, &o);
	return s;
}

static struct session *saved_and_loaded(const struct session *s, char **text)
{
	struct session *back = NULL;
	char err[256] = "";
	size_t len;

	*text = save_to_string(s, &len);
	if (load_text(*text, len, err, sizeof(err), &back))
		fail_msg("saved session does not load: %s", err);
	return back;
}

static void test_session_origin_round_trip(void **state)
{
	/* a cpu-mode recording stays cpu once loaded; the pid and lost count come back too */
	static const struct session_origin cases[] = {
		{ SESSION_MODE_CPU, 4242, 0 }, { SESSION_MODE_WALL, 7, 123456789012 },
		{ SESSION_MODE_MIXED, 0, -1 }, { SESSION_MODE_UNKNOWN, 99, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct session *s = session_with_origin(cases[i].mode, cases[i].pid,
							cases[i].lost_samples), *back;
		const struct session_origin *o;
		char *text;

		back = saved_and_loaded(s, &text);
		o = session_get_origin(back);
		assert_int_equal(o->mode, cases[i].mode);
		assert_int_equal(o->pid, cases[i].pid);
		assert_int_equal(o->lost_samples, cases[i].lost_samples);
		/* an extra key before frame_records: pyinstrument's from_json reads keys by name */
		assert_non_null(strstr(text, "\"pyinst_bpf\": {"));
		assert_true(strstr(text, "\"pyinst_bpf\"") < strstr(text, "\"frame_records\""));
		free(text);
		session__free(back);
		session__free(s);
	}
}

static void test_session_origin_absent_or_odd(void **state)
{
	/* nothing known: nothing written (pyinstrument's files round-trip byte for byte, above);
	 * values pyinstrument would ignore anyway are skipped, never an error */
	static const char *const odd[] = {
		"{\"mode\": 3, \"pid\": \"12\", \"lost_samples\": -1, \"x\": [{}]}",
		"{\"mode\": \"turbo\", \"pid\": 0.5, \"lost_samples\": 1e300}",
		"[\"not\", \"an\", \"object\"]",
		"null",
	};
	struct session *s = session_with_origin(SESSION_MODE_UNKNOWN, 0, -1), *back;
	const struct session_origin *o;
	char err[256] = "", text[512], *saved;
	size_t len;

	saved = save_to_string(s, &len);
	assert_null(strstr(saved, "pyinst_bpf"));
	free(saved);
	session__free(s);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(text, sizeof(text), "{\"start_time\": 1.0, \"duration\": 1.0, "
			 "\"sample_count\": 0, \"start_call_stack\": [], "
			 "\"target_description\": \"\", \"cpu_time\": 0, \"pyinst_bpf\": %s, "
			 "\"frame_records\": []}", odd[i]);
		if (load_text(text, strlen(text), err, sizeof(err), &back))
			fail_msg("%s: %s", odd[i], err);
		o = session_get_origin(back);
		assert_int_equal(o->mode, SESSION_MODE_UNKNOWN);
		assert_int_equal(o->pid, 0);
		assert_int_equal(o->lost_samples, -1);
		session__free(back);
	}
}

static void test_session_origin_combine(void **state)
{
	struct session *a = session_with_origin(SESSION_MODE_CPU, 10, 3);
	struct session *b = session_with_origin(SESSION_MODE_CPU, 10, 4);
	struct session *c = session_with_origin(SESSION_MODE_WALL, 11, -1);
	struct session *d = session_with_origin(SESSION_MODE_UNKNOWN, 0, -1);
	const struct session_origin *o = session_get_origin(a);

	assert_int_equal(session_combine(a, b), 0);
	assert_int_equal(o->mode, SESSION_MODE_CPU);
	assert_int_equal(o->pid, 10);
	assert_int_equal(o->lost_samples, 7);
	assert_int_equal(session_combine(a, c), 0);
	assert_int_equal(o->mode, SESSION_MODE_MIXED);
	assert_int_equal(o->pid, 0);
	assert_int_equal(o->lost_samples, -1);
	assert_int_equal(session_combine(a, d), 0);	/* with pyinstrument's: unknown */
	assert_int_equal(o->mode, SESSION_MODE_UNKNOWN);
	session__free(a);
	session__free(b);
	session__free(c);
	session__free(d);
}

static void test_session_merges_consecutive_samples(void **state)
{
	/* The model grows with distinct stacks and runs of samples, not with samples. */
	struct session *s = session__new();
	uint32_t fa = session_intern_frame(s, "a\0f.py\0" "1", 8);
	uint32_t fb = session_intern_frame(s, "b\0f.py\0" "2", 8);
	uint32_t sa = session_stack_push(s, SESSION_NO_STACK, fa);
	uint32_t sb = session_stack_push(s, sa, fb);
	size_t n;
	const struct session_sample *v;

	assert_int_equal(session_intern_frame(s, "a\0f.py\0" "1", 8), fa);
	assert_int_equal(session_stack_push(s, SESSION_NO_STACK, fa), sa);
	for (int run = 0; run < 100; run++)
		for (int i = 0; i < 10000; i++)
			assert_int_equal(session_add_sample(s, run % 2 ? sb : sa, 0.001), 0);
	v = session_samples(s, &n);
	assert_int_equal(n, 100);
	assert_int_equal(session_sample_count(s), 1000000);
	assert_int_equal(session_stack_count(s), 2);
	assert_int_equal(session_frame_count(s), 2);
	assert_true(fabs(v[0].weight - 10.0) < 1e-6);
	assert_int_equal(session_error(s), 0);
	session__free(s);
}

static void test_session_stack_depth_is_capped(void **state)
{
	struct session *s = session__new();
	uint32_t f = session_intern_frame(s, "f\0x.py\0" "1", 8), st = SESSION_NO_STACK, prev;

	for (int i = 0; i < SESSION_MAX_DEPTH + 50; i++) {
		prev = st;
		st = session_stack_push(s, st, f);
	}
	assert_int_equal(st, prev);
	assert_int_equal(session_stack_depth(s, st), SESSION_MAX_DEPTH);
	assert_int_equal(session_stack_push(s, 12345678, f), 12345678);
	assert_int_equal(session_error(s), -EINVAL);
	session__free(s);
}

/* A session from (stack as "a/b/c", seconds) pairs; frames are "<name>\0/app/m.py\0<n>". */
static struct session *session_from(const char *const *stacks, const double *weights, size_t n)
{
	struct session *s = session__new();

	session_add_sys_path(s, "/app");
	for (size_t i = 0; i < n; i++) {
		char *copy = strdup(stacks[i]), *save = NULL, info[64];
		uint32_t st = SESSION_NO_STACK;

		for (char *tok = strtok_r(copy, "/", &save); tok;
		     tok = strtok_r(NULL, "/", &save)) {
			int len = snprintf(info, sizeof(info), "%s%c/app/m.py%c%d", tok, 0, 0,
					   (int)strlen(tok));

			st = session_stack_push(s, st, session_intern_frame(s, info, (size_t)len));
		}
		assert_int_equal(session_add_record(s, st, weights[i]), 0);
		free(copy);
	}
	return s;
}

/* Frame.self_check: a non-leaf's time is its children's plus what it absorbed. */
static void check_invariant(const struct frame_node *n)
{
	double sum = n->absorbed_time;

	if (frame_is_synthetic_leaf(n))
		return;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		sum += n->children[i]->time;
		check_invariant(n->children[i]);
		assert_ptr_equal(n->children[i]->parent, n);
	}
	assert_true(fabs(sum - n->time) < 1e-9);
}

static const char *name_of(const struct frame_tree *t, const struct frame_node *n)
{
	return frame_function(t, n);
}

static void test_session_tree_is_time_ordered(void **state)
{
	/* A->B, A->C, A->B gives A{B, C, B}, each with its [self] */
	const char *const stacks[] = { "A/B", "A/C", "A/B" };
	const double w[] = { 1, 2, 4 };
	struct session *s = session_from(stacks, w, 3);
	struct frame_tree *t = frame_tree__new(s, true);
	const struct frame_node *a = t->root;

	assert_string_equal(name_of(t, a), "A");
	assert_int_equal(a->nchildren, 3);
	assert_string_equal(name_of(t, a->children[0]), "B");
	assert_string_equal(name_of(t, a->children[1]), "C");
	assert_string_equal(name_of(t, a->children[2]), "B");
	assert_true(a->time == 7);
	assert_int_equal(a->children[2]->nchildren, 1);
	assert_string_equal(name_of(t, a->children[2]->children[0]), "[self]");
	assert_string_equal(frame_file_path_short(t, a->children[2]->children[0]), "m.py");
	check_invariant(t->root);
	frame_tree__free(t);
	session__free(s);
}

static void test_session_processors_aggregate_and_filter(void **state)
{
	const char *const stacks[] = { "A/B", "A/C", "A/B", "A", "A", "A/D" };
	const double w[] = { 1, 2, 4, 0.5, 0.25, 0.001 };
	struct session *s = session_from(stacks, w, 6);
	struct frame_tree *t = frame_tree__new(s, true);
	struct processor_list l;
	const struct frame_node *a;

	processors_default(PROC_FOR_CONSOLE, false, false, &l);
	assert_int_equal(l.n, 8);
	assert_int_equal(processors_run(t, &l, NULL), 0);
	a = t->root;
	/* B (5) then C (2) then the merged [self] (0.75); D (0.001 < 1 %) absorbed */
	assert_int_equal(a->nchildren, 3);
	assert_string_equal(name_of(t, a->children[0]), "B");
	assert_true(a->children[0]->time == 5);
	assert_string_equal(name_of(t, a->children[1]), "C");
	assert_string_equal(name_of(t, a->children[2]), "[self]");
	assert_true(a->children[2]->time == 0.75);
	assert_true(a->absorbed_time == 0.001);
	/* B's lone [self] went to its absorbed time */
	assert_int_equal(a->children[0]->nchildren, 0);
	check_invariant(t->root);
	frame_tree__free(t);
	session__free(s);
}

static void test_session_default_processor_lists(void **state)
{
	struct processor_list l;

	processors_default(PROC_FOR_CONSOLE, true, false, &l);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[0], PROC_MERGE_CONSECUTIVE_SELF_TIME);
	assert_int_equal(l.v[3], PROC_REMOVE_FIRST_PYINSTRUMENT_FRAMES);
	processors_default(PROC_FOR_SPEEDSCOPE, false, false, &l);
	assert_int_equal(l.n, 6);
	processors_default(PROC_FOR_PSTATS, false, true, &l);
	assert_int_equal(l.n, 6);
	processors_default(PROC_FOR_HTML, false, false, &l);
	assert_int_equal(l.n, 0);
	assert_string_equal(processor_name(PROC_GROUP_LIBRARY_FRAMES),
			    "group_library_frames_processor");
}

static void test_session_hide_regex_is_anchored_at_start(void **state)
{
	/* re.match semantics: "m.py" does not match "/app/m.py"; ".*m\.py" and "/app" do */
	static const char *const yes[] = { ".*m\\.py", "/app", "/\\w+/m", "/ap{1,2}\\D", NULL };
	static const char *const no[] = { "m\\.py", "app", "\\d", NULL };
	const char *const stacks[] = { "A/B/C" };
	const double w[] = { 1 };
	struct processor_options o = PROCESSOR_OPTIONS_INIT;

	for (int pass = 0; pass < 2; pass++) {
		for (const char *const *re = pass ? no : yes; *re; re++) {
			struct session *s = session_from(stacks, w, 1);
			struct frame_tree *t = frame_tree__new(s, true);

			o.hide_regex = *re;
			assert_int_equal(processor_run(t, PROC_GROUP_LIBRARY_FRAMES, &o), 0);
			/* the root is never grouped; B and C are, if the regex hides them */
			if ((t->ngroups == 1) != !pass)
				fail_msg("hide_regex '%s': %u groups", *re, t->ngroups);
			frame_tree__free(t);
			session__free(s);
		}
	}
}

static void test_session_shorten_path_and_library(void **state)
{
	struct session *s = load_sample("demo2.pyisession");
	struct frame_tree *t = frame_tree__new(s, false);
	const struct frame_node *n = t->root;

	/* MainThread -> <module> /opt/venv/bin/pyinstrument -> main .../pyinstrument/__main__.py */
	assert_string_equal(frame_file_path_short(t, n), "<thread>");
	assert_false(frame_is_application_code(t, n));
	n = n->children[0]->children[0];
	assert_string_equal(frame_file_path_short(t, n), "pyinstrument/__main__.py");
	assert_false(frame_is_application_code(t, n));
	/* <module> <string> follows its parent: library here */
	assert_string_equal(frame_file_path(t, n->children[0]), "<string>");
	assert_false(frame_is_application_code(t, n->children[0]));
	frame_tree__free(t);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_round_trip_byte_identical),
		cmocka_unit_test(test_session_float_repr_matches_python),
		cmocka_unit_test(test_session_combine_matches_pyinstrument),
		cmocka_unit_test(test_session_load_rejects_hostile_input),
		cmocka_unit_test(test_session_load_survives_deep_nesting),
		cmocka_unit_test(test_session_load_truncated_file),
		cmocka_unit_test(test_session_load_fast_paths_match_plain),
		cmocka_unit_test(test_session_odd_names_round_trip),
		cmocka_unit_test(test_session_origin_round_trip),
		cmocka_unit_test(test_session_origin_absent_or_odd),
		cmocka_unit_test(test_session_origin_combine),
		cmocka_unit_test(test_session_merges_consecutive_samples),
		cmocka_unit_test(test_session_stack_depth_is_capped),
		cmocka_unit_test(test_session_tree_is_time_ordered),
		cmocka_unit_test(test_session_processors_aggregate_and_filter),
		cmocka_unit_test(test_session_default_processor_lists),
		cmocka_unit_test(test_session_hide_regex_is_anchored_at_start),
		cmocka_unit_test(test_session_shorten_path_and_library),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
