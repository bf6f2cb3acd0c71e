// SPDX-License-Identifier: MIT
/*
 * The text renderer against real pyinstrument 5.1.2 output (tests/data/
 * pyinstrument-samples, options from its README), plus our deliberate escaping of controls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render.h"
#include "session.h"
#include "support.h"

/* Renders a sample session with `-p` style options (NULL-terminated) into a string. */
static char *render_with(struct session *s, const char *const *opts, size_t *len, int *ret)
{
	struct render_opts o;
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);

	render_opts_init(&o);
	o.version = "5.1.2";
	o.unicode = true;	/* the goldens were written to utf-8 files */
	for (; opts && *opts; opts++)
		assert_int_equal(render_opts_set(&o, *opts), 0);
	*ret = render_text(s, &o, mem);
	fclose(mem);
	render_opts_release(&o);
	return buf;
}

static void check_golden(const char *session_name, const char *golden, const char *const *opts)
{
	struct session *s = load_sample(session_name);
	size_t want_len = 0, got_len = 0;
	char *want = read_sample(golden, &want_len), *got;
	int ret;

	got = render_with(s, opts, &got_len, &ret);
	assert_int_equal(ret, 0);
	assert_golden(golden, want, want_len, got, got_len);
	free(want);
	free(got);
	session__free(s);
}

static void test_render_text_golden_demo(void **state)
{
	check_golden("demo.pyisession", "demo.txt", NULL);
}

static void test_render_text_golden_ascii(void **state)
{
	const char *const opts[] = { "unicode=false", NULL };

	check_golden("demo.pyisession", "demo.ascii.txt", opts);
}

static void test_render_text_golden_show_all(void **state)
{
	/* --show-all is show_all=True plus processor_options.show_regex ".*" */
	const char *const opts[] = { "show_all", "processor_options.show_regex=.*", NULL };

	check_golden("demo.pyisession", "demo.show-all.txt", opts);
}

static void test_render_text_golden_color(void **state)
{
	const char *const opts[] = { "color", NULL };

	check_golden("demo.pyisession", "demo.color.txt", opts);
}

static void test_render_text_golden_timeline(void **state)
{
	const char *const opts[] = { "timeline", NULL };

	check_golden("demo.pyisession", "demo.timeline.txt", opts);
}

static void test_render_text_golden_flat(void **state)
{
	const char *const opts[] = { "flat", NULL };

	check_golden("demo.pyisession", "demo.flat.txt", opts);
}

static void test_render_text_golden_percent(void **state)
{
	const char *const opts[] = { "time=percent_of_total", NULL };

	check_golden("demo.pyisession", "demo.percent.txt", opts);
}

static void test_render_text_golden_short(void **state)
{
	const char *const opts[] = { "short_mode", NULL };

	check_golden("demo.pyisession", "demo.short.txt", opts);
}

static void test_render_text_golden_filter0(void **state)
{
	const char *const opts[] = { "processor_options.filter_threshold=0", NULL };

	check_golden("demo.pyisession", "demo.filter0.txt", opts);
}

static void test_render_text_golden_hide_regex(void **state)
{
	const char *const opts[] = { "processor_options.hide_regex=.*demo.py", NULL };

	check_golden("demo.pyisession", "demo.hide-regex.txt", opts);
}

static void test_render_text_golden_demo2(void **state)
{
	check_golden("demo2.pyisession", "demo2.txt", NULL);
}

static void test_render_text_golden_combined(void **state)
{
	check_golden("combined.pyisession", "combined.txt", NULL);
}

static void test_render_text_golden_async(void **state)
{
	check_golden("async_enabled.pyisession", "async_enabled.txt", NULL);
}

static void test_render_text_golden_empty(void **state)
{
	check_golden("empty.pyisession", "empty.txt", NULL);
}

static void test_render_text_flat_total_keeps_last_time(void **state)
{
	/* pyinstrument's flat_time=total quirk: busy shows its last node's 0.066, not 0.168 */
	const char *const opts[] = { "flat", "flat_time=total", NULL };
	struct session *s = load_sample("demo.pyisession");
	size_t len;
	int ret;
	char *got = render_with(s, opts, &len, &ret);

	assert_int_equal(ret, 0);
	assert_non_null(strstr(got, "\n0.066 busy  demo.py:5\n"));
	assert_null(strstr(got, "0.168 busy"));
	free(got);
	session__free(s);
}

static void test_render_text_flat_with_timeline_fails(void **state)
{
	const char *const opts[] = { "flat", "timeline", NULL };
	struct session *s = load_sample("demo.pyisession");
	size_t len;
	int ret;
	char *got = render_with(s, opts, &len, &ret);

	assert_int_equal(ret, -EINVAL);
	free(got);
	session__free(s);
}

static void test_render_text_opts_parser(void **state)
{
	struct render_opts o;

	render_opts_init(&o);
	assert_int_equal(render_opts_set(&o, "flat"), 0);
	assert_true(o.flat);
	assert_int_equal(render_opts_set(&o, "flat=false"), 0);
	assert_false(o.flat);
	assert_int_equal(render_opts_set(&o, "flat_time=total"), 0);
	assert_int_equal(o.flat_time, RENDER_FLAT_TIME_TOTAL);
	assert_int_equal(render_opts_set(&o, "time=\"percent_of_total\""), 0);
	assert_int_equal(o.time, RENDER_TIME_PERCENT_OF_TOTAL);
	assert_int_equal(render_opts_set(&o, "processor_options.filter_threshold=0"), 0);
	assert_true(o.processor_options.filter_threshold == 0);
	assert_int_equal(render_opts_set(&o, "processor_options={\"hide_regex\": \"a.*\"}"), 0);
	assert_string_equal(o.processor_options.hide_regex, "a.*");
	assert_int_equal(render_opts_set(&o, "processor_options.show_regex=x[0-9]+"), 0);
	assert_string_equal(o.processor_options.show_regex, "x[0-9]+");
	assert_int_equal(render_opts_set(&o, "no_such_option=1"), -EINVAL);
	assert_int_equal(render_opts_set(&o, "time=minutes"), -EINVAL);
	assert_int_equal(render_opts_set(&o, "processor_options.bogus=1"), -EINVAL);
	assert_int_equal(render_opts_set(&o, "processor_options.filter_threshold=abc"), -EINVAL);
	render_opts_release(&o);
}

static void test_render_text_bad_regex_fails(void **state)
{
	const char *const opts[] = { "processor_options.hide_regex=(unclosed", NULL };
	struct session *s = load_sample("demo.pyisession");
	size_t len;
	int ret;
	char *got = render_with(s, opts, &len, &ret);

	assert_int_equal(ret, -EINVAL);
	free(got);
	session__free(s);
}

/* A session made through the producer API with hostile names. */
static struct session *text_hostile_session(void)
{
	static const char thread[] = "MainThread\0<thread>\0001";
	static const char evil[] = "ev\033[31mil\n\xc2\x9b\xff\0/app/\x07x.py\00012\001cK\033";
	struct session *s = session__new();
	uint32_t st;

	assert_non_null(s);
	st = session_stack_push(s, SESSION_NO_STACK,
				session_intern_frame(s, thread, sizeof(thread) - 1));
	st = session_stack_push(s, st, session_intern_frame(s, evil, sizeof(evil) - 1));
	assert_int_equal(session_add_sample(s, st, 0.5), 0);
	assert_int_equal(session_set_target_description(s, "Program: \033]0;pwned\007"), 0);
	session_set_times(s, 0, 0.5);
	return s;
}

static void test_render_text_escapes_control_chars(void **state)
{
	struct session *s = text_hostile_session();
	size_t len;
	int ret;
	char *got = render_with(s, NULL, &len, &ret);

	assert_int_equal(ret, 0);
	assert_int_equal(strlen(got), len);
	/* no raw ESC, BEL, C1 CSI or invalid byte reaches the terminal */
	assert_null(memchr(got, '\033', len));
	assert_null(memchr(got, '\007', len));
	assert_null(strstr(got, "\xc2\x9b"));
	assert_null(memchr(got, '\xff', len));
	assert_non_null(strstr(got, "Program: \\x1b]0;pwned\\x07\n"));
	assert_non_null(strstr(got, "K\\x1b.ev\\x1b[31mil\\x0a\\xc2\\x9b\\xff  "));
	free(got);
	session__free(s);
}

/* U+202E shows a name reversed ("exe.doc" as "cod.exe"); U+2067 opens an isolate. */
static void test_render_text_escapes_bidi_overrides(void **state)
{
	static const char frame[] = "\xe2\x80\xae" "cod.exe\0/app/\xe2\x81\xa7x.py\0003";
	struct session *s = session__new();
	size_t len;
	int ret;
	uint32_t st;
	char *got;

	st = session_stack_push(s, SESSION_NO_STACK,
				session_intern_frame(s, frame, sizeof(frame) - 1));
	assert_int_equal(session_add_sample(s, st, 0.5), 0);
	session_set_times(s, 0, 0.5);
	got = render_with(s, NULL, &len, &ret);
	assert_int_equal(ret, 0);
	assert_null(strstr(got, "\xe2\x80\xae"));
	assert_null(strstr(got, "\xe2\x81\xa7"));
	assert_non_null(strstr(got, "\\xe2\\x80\\xaecod.exe"));
	free(got);
	session__free(s);
}

/* 400 busy threads: each is 0.25% of the sum, but its own profile is still the report. */
static void test_render_text_many_threads_not_empty(void **state)
{
	struct session *s = session__new();
	size_t len;
	int ret;
	char *got, *p;
	int works = 0;

	for (int i = 0; i < 400; i++) {
		char thread[64], leaf[64];
		int n = snprintf(thread, sizeof(thread), "Thread-%d%c<thread>%c%d", i, 0, 0, i + 1);
		uint32_t st = session_stack_push(s, SESSION_NO_STACK,
						 session_intern_frame(s, thread, (size_t)n));

		st = session_stack_push(s, st, session_intern_frame(s, "work\0/app/x.py\0003", 17));
		n = snprintf(leaf, sizeof(leaf), "step%d%c/app/x.py%c9", i % 2, 0, 0);
		st = session_stack_push(s, st, session_intern_frame(s, leaf, (size_t)n));
		assert_int_equal(session_add_sample(s, st, 0.01), 0);
	}
	session_set_times(s, 0, 0.01);
	got = render_with(s, NULL, &len, &ret);
	assert_int_equal(ret, 0);
	for (p = got; (p = strstr(p, " work  /app/x.py:3")); p++)
		works++;
	assert_int_equal(works, 400);
	assert_non_null(strstr(got, "step1  /app/x.py:9"));
	free(got);
	session__free(s);
}

static void test_render_text_deepest_stack(void **state)
{
	/* SESSION_MAX_DEPTH frames: the recursive processors and renderer must cope */
	struct session *s = session__new();
	uint32_t st = SESSION_NO_STACK;
	size_t len;
	int ret;
	char *got;

	for (int i = 0; i < SESSION_MAX_DEPTH; i++) {
		char info[64];
		int n = snprintf(info, sizeof(info), "f%d%c/usr/lib/x.py%c%d", i % 7, 0, 0, i % 7);

		st = session_stack_push(s, st, session_intern_frame(s, info, (size_t)n));
	}
	assert_int_equal(session_add_sample(s, st, 1.0), 0);
	session_add_sys_prefix(s, "/usr");
	got = render_with(s, NULL, &len, &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(got, "[9997 frames hidden]"));
	free(got);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_text_golden_demo),
		cmocka_unit_test(test_render_text_golden_ascii),
		cmocka_unit_test(test_render_text_golden_show_all),
		cmocka_unit_test(test_render_text_golden_color),
		cmocka_unit_test(test_render_text_golden_timeline),
		cmocka_unit_test(test_render_text_golden_flat),
		cmocka_unit_test(test_render_text_golden_percent),
		cmocka_unit_test(test_render_text_golden_short),
		cmocka_unit_test(test_render_text_golden_filter0),
		cmocka_unit_test(test_render_text_golden_hide_regex),
		cmocka_unit_test(test_render_text_golden_demo2),
		cmocka_unit_test(test_render_text_golden_combined),
		cmocka_unit_test(test_render_text_golden_async),
		cmocka_unit_test(test_render_text_golden_empty),
		cmocka_unit_test(test_render_text_flat_total_keeps_last_time),
		cmocka_unit_test(test_render_text_flat_with_timeline_fails),
		cmocka_unit_test(test_render_text_opts_parser),
		cmocka_unit_test(test_render_text_bad_regex_fails),
		cmocka_unit_test(test_render_text_escapes_control_chars),
		cmocka_unit_test(test_render_text_escapes_bidi_overrides),
		cmocka_unit_test(test_render_text_many_threads_not_empty),
		cmocka_unit_test(test_render_text_deepest_stack),
	};

	return cmocka_run_group_tests(tests, setup_utc, NULL);
}
