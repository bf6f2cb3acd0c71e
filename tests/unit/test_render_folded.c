// SPDX-License-Identifier: MIT
/*
 * Collapsed stacks: the counts (microseconds) add up to the profile's total, each stack appears
 * once, and no name can add a frame, a line or a count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

/* Checks the shape of every line; returns the sum of the counts. */
static long long check_lines(char *text, size_t *nlines)
{
	long long sum = 0;
	char *save = NULL, *line, *sp, *end;

	*nlines = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		sum += strtoll(sp + 1, &end, 10);
		assert_true(*end == '\0' && end > sp + 1 && sp[1] != '-' && sp[1] != '0');
		for (char *c = line; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
		(*nlines)++;
	}
	return sum;
}

static void test_render_folded_demo_sums_to_total(void **state)
{
	struct session *s = load_sample("demo.pyisession");
	size_t len, nlines;
	int ret;
	char *got = render_to_buf(render_folded, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_non_null(strstr(got, "<module> (demo.py:1);main (demo.py:53);outer (demo.py:46);"
				    "Worker.wait (demo.py:33);sleep (<built-in>) 100222\n"));
	/* main's own time first: a frame's line comes before its children's */
	assert_memory_equal(got, "<module> (demo.py:1);main (demo.py:53) 2015\n", 44);
	/* demo.json's root time is 0.450021 */
	assert_int_equal(check_lines(got, &nlines), 450021);
	assert_int_equal(nlines, 18);
	free(got);
	session__free(s);
}

static void test_render_folded_stacks_are_distinct(void **state)
{
	struct session *s = load_sample("combined.pyisession");
	size_t len, nlines, i, j;
	int ret;
	char *got = render_to_buf(render_folded, s, &len, &ret), **lines, *save = NULL, *l;

	assert_int_equal(ret, 0);
	lines = calloc(len + 1, sizeof(*lines));
	nlines = 0;
	for (l = strtok_r(got, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		*strrchr(l, ' ') = '\0';
		lines[nlines++] = l;
	}
	assert_true(nlines > 10);
	for (i = 0; i < nlines; i++)
		for (j = i + 1; j < nlines; j++)
			assert_string_not_equal(lines[i], lines[j]);
	/* two threads under [root]: the thread frames are the roots, [root] is not written */
	assert_null(strstr(lines[0], "[root]"));
	assert_memory_equal(lines[0], "MainThread (<thread>:", 21);
	free(lines);
	free(got);
	session__free(s);
}

static void test_render_folded_escapes_hostile_names(void **state)
{
	struct session *s = hostile_session();
	size_t len, nlines;
	int ret;
	char *got = render_to_buf(render_folded, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_string_equal(got,
		"MainThread (<thread>:1);K\\x3b\"\\x1b\\xff.ev\"il\\x3b\\\\x0a\\x1b[31m\\xc2\\x9b"
		"\\xff\\xc3 (/app/x\\x3b\"\\x0a\\x1b\\xfe.py:12) 250000\n"
		"MainThread (<thread>:1);K\\x3b\"\\x1b\\xff.ev\"il\\x3b\\\\x0a\\x1b[31m\\xc2\\x9b"
		"\\xff\\xc3 (/app/x\\x3b\"\\x0a\\x1b\\xfe.py:12);[await] 250000\n");
	assert_int_equal(check_lines(got, &nlines), 500000);
	free(got);
	session__free(s);
}

static void test_render_folded_rounding_does_not_drift(void **state)
{
	/* 1000 stacks of 0.4 us: rounded one by one they would all be 0 */
	struct session *s = session__new();
	size_t len, nlines;
	int ret;
	char *got;

	for (int i = 0; i < 1000; i++) {
		char info[32];
		int n = snprintf(info, sizeof(info), "f%d%cx.py%c1", i, 0, 0);

		session_add_sample(s, session_stack_push(s, SESSION_NO_STACK,
			session_intern_frame(s, info, (size_t)n)), 0.4e-6);
	}
	got = render_to_buf(render_folded, s, &len, &ret);
	assert_int_equal(ret, 0);
	assert_int_equal(check_lines(got, &nlines), 400);
	free(got);
	session__free(s);
}

/* Weights from a loaded session: negative, huge, not finite. No count overflows (UBSan saw
 * llround's result minus the running total overflow) and the sane stack is still written. */
static void test_render_folded_extreme_weights(void **state)
{
	static const double weights[] = { 1e300, -1e300, -3.0, 5e18, 0.5 };
	struct session *s = session__new();
	size_t len, nlines;
	int ret;
	char *got;

	for (int i = 0; i < 5; i++) {
		char info[32];
		int n = snprintf(info, sizeof(info), "w%d%cx.py%c1", i, 0, 0);

		session_add_sample(s, session_stack_push(s, SESSION_NO_STACK,
			session_intern_frame(s, info, (size_t)n)), weights[i]);
	}
	got = render_to_buf(render_folded, s, &len, &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(got, "w4 (x.py:1) "));
	check_lines(got, &nlines);
	free(got);
	session__free(s);
}

static void test_render_folded_empty(void **state)
{
	struct session *s = load_sample("empty.pyisession");
	size_t len;
	int ret;
	char *got = render_to_buf(render_folded, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_int_equal(len, 0);
	free(got);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_folded_demo_sums_to_total),
		cmocka_unit_test(test_render_folded_stacks_are_distinct),
		cmocka_unit_test(test_render_folded_escapes_hostile_names),
		cmocka_unit_test(test_render_folded_rounding_does_not_drift),
		cmocka_unit_test(test_render_folded_extreme_weights),
		cmocka_unit_test(test_render_folded_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
