// SPDX-License-Identifier: MIT
/*
 * The pprof renderer, decoded by the minimal protobuf reader in render_util.h: the gzip
 * wrapper, the field numbers, totals, one location per (function, line), valid UTF-8 strings.
 * test_render_pprof_go.c has `go tool pprof` read the same output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "render_util.h"

static void render_profile(struct session *s, struct pb_profile *pr)
{
	size_t len;
	int ret;
	char *got = render_to_buf(render_pprof, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_true(len > 18);
	assert_memory_equal(got, "\x1f\x8b", 2);	/* gzip magic */
	pb_profile_read(got, len, pr);
	free(got);
}

static bool has_string(const struct pb_profile *pr, const char *s)
{
	for (size_t i = 0; i < pr->nstrings; i++)
		if (!strcmp(pr->strings[i], s))
			return true;
	return false;
}

static void test_render_pprof_demo(void **state)
{
	struct session *s = load_sample("demo.pyisession");
	struct pb_profile pr;

	render_profile(s, &pr);
	assert_string_equal(pb_string(&pr, 0), "");
	assert_int_equal(pr.nsample_types, 2);
	assert_string_equal(pb_string(&pr, pr.sample_type[0][0]), "samples");
	assert_string_equal(pb_string(&pr, pr.sample_type[0][1]), "count");
	assert_string_equal(pb_string(&pr, pr.sample_type[1][0]), "wall");
	assert_string_equal(pb_string(&pr, pr.sample_type[1][1]), "nanoseconds");
	assert_string_equal(pb_string(&pr, pr.period_type[0]), "wall");
	/* pyinstrument's session: one record per sample, 50 of them, 0.450021272 s in all */
	assert_int_equal(pr.value_sum[0], 50);
	assert_true(pr.value_sum[1] >= 450021270 && pr.value_sum[1] <= 450021274);
	assert_int_equal(pr.period, 1000000);
	assert_int_equal(pr.time_nanos / 1000000000, 1795559549);
	assert_int_equal(pr.duration_nanos / 1000, 450219);
	/* ids are 1..n */
	assert_int_equal(pr.max_function_id, pr.nfunctions);
	assert_true(pr.nlocations >= pr.nfunctions);
	assert_true(has_string(&pr, "Worker.compute"));
	assert_true(has_string(&pr, "compute"));
	assert_true(has_string(&pr, "demo.py"));
	assert_true(has_string(&pr, "<built-in>"));
	pb_profile_free(&pr);
	session__free(s);
}

/* go tool pprof drops "<...>" from names as C++ template arguments: "<module>" showed as
 * "<unknown>". The display name avoids ASCII angle brackets; system_name keeps the real one. */
static void test_render_pprof_module_frames_named(void **state)
{
	struct session *s = load_sample("demo.pyisession");
	struct pb_profile pr;

	render_profile(s, &pr);
	assert_true(has_string(&pr, "\u2039module\u203a"));
	assert_true(has_string(&pr, "\u2039listcomp\u203a"));
	assert_true(has_string(&pr, "<module>"));	/* system_name */
	for (size_t i = 0; i < pr.nstrings; i++)
		assert_false(pr.strings[i][0] == '<' && strstr(pr.strings[i], "module") &&
			     strcmp(pr.strings[i], "<module>"));
	pb_profile_free(&pr);
	session__free(s);
}

static void test_render_pprof_merged_records_count_samples(void **state)
{
	/* our sessions merge consecutive identical samples: 3 samples of 10 ms make one record */
	struct session *s = session__new();
	uint32_t st = session_stack_push(s, SESSION_NO_STACK, session_intern_frame(s,
		"f\0a.py\0" "1\001l3", 11));
	struct pb_profile pr;

	session_set_interval(s, 0.01, 0.01);
	for (int i = 0; i < 3; i++)
		assert_int_equal(session_add_sample(s, st, 0.01), 0);
	assert_int_equal(session_add_sample(s, SESSION_NO_STACK, 0.01), 0);
	render_profile(s, &pr);
	assert_int_equal(pr.nsamples, 2);
	assert_int_equal(pr.value_sum[0], 4);
	assert_int_equal(pr.value_sum[1], 40000000);
	assert_int_equal(pr.nfunctions, 1);
	assert_int_equal(pr.nlocations, 1);
	pb_profile_free(&pr);
	session__free(s);
}

static void test_render_pprof_one_location_per_line(void **state)
{
	/* the same function seen at lines 3, 4 and 3 again: one function, two locations */
	static const char *const infos[] = { "f\0a.py\0" "1\001l3", "f\0a.py\0" "1\001l4",
					     "f\0a.py\0" "1\001l3\001cX" };
	struct session *s = session__new();
	struct pb_profile pr;

	for (int i = 0; i < 3; i++) {
		uint32_t f = session_intern_frame(s, infos[i], i == 2 ? 14 : 11);

		assert_int_equal(session_add_sample(s, session_stack_push(s, SESSION_NO_STACK, f),
						    0.001), 0);
	}
	render_profile(s, &pr);
	/* the class name makes "X.f" a function of its own */
	assert_int_equal(pr.nfunctions, 2);
	assert_int_equal(pr.nlocations, 3);
	assert_string_equal(pb_string(&pr, pr.function_names[0]), "f");
	assert_string_equal(pb_string(&pr, pr.function_names[1]), "X.f");
	pb_profile_free(&pr);
	session__free(s);
}

static void test_render_pprof_hostile_names_are_utf8(void **state)
{
	struct session *s = hostile_session();
	struct pb_profile pr;

	render_profile(s, &pr);	/* pb_profile_read checks every string decodes */
	assert_true(has_string(&pr, "K;\"\033\xef\xbf\xbd.ev\"il;\\\n\033[31m\xc2\x9b"
				    "\xef\xbf\xbd\xef\xbf\xbd"));
	assert_true(has_string(&pr, "/app/x;\"\n\033\xef\xbf\xbd.py"));
	assert_true(has_string(&pr, "[await]"));
	assert_int_equal(pr.value_sum[1], 500000000);
	pb_profile_free(&pr);
	session__free(s);
}

static void test_render_pprof_empty(void **state)
{
	struct session *s = load_sample("empty.pyisession");
	struct pb_profile pr;

	render_profile(s, &pr);
	assert_int_equal(pr.nsamples, 0);
	assert_int_equal(pr.nsample_types, 2);
	pb_profile_free(&pr);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_pprof_demo),
		cmocka_unit_test(test_render_pprof_module_frames_named),
		cmocka_unit_test(test_render_pprof_merged_records_count_samples),
		cmocka_unit_test(test_render_pprof_one_location_per_line),
		cmocka_unit_test(test_render_pprof_hostile_names_are_utf8),
		cmocka_unit_test(test_render_pprof_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
