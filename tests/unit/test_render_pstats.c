// SPDX-License-Identifier: MIT
/*
 * The pstats renderer: what Python's own pstats.Stats reads from our marshal output must equal
 * what it reads from pyinstrument's demo.pstats (same keys in the same order, same numbers).
 * The bytes differ: Python's marshal adds back-references that we never write. Skipped without
 * /usr/bin/python3.11 (any python3 with marshal version 4 would do; that one is in the image).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

static const char *python(void)
{
	const char *p = getenv("PYI_PYTHON");

	if (p)
		return p;
	return access("/usr/bin/python3.11", X_OK) ? NULL : "/usr/bin/python3.11";
}

/* Runs a python snippet with argv[1] = ours, argv[2] = theirs; returns its exit status. */
static int run_python(const char *script, const char *ours, const char *theirs)
{
	char *cmd;
	int rc;

	assert_true(asprintf(&cmd, "%s -c '%s' '%s' '%s'", python(), script, ours, theirs) > 0);
	rc = system(cmd);
	free(cmd);
	return rc;
}

static void test_render_pstats_loads_like_pyinstrument(void **state)
{
	static const char script[] =
		"import sys, pstats\n"
		"a = pstats.Stats(sys.argv[1]); b = pstats.Stats(sys.argv[2])\n"
		"assert list(a.stats) == list(b.stats), (list(a.stats), list(b.stats))\n"
		"assert a.stats == b.stats\n"
		"assert a.total_tt == b.total_tt == 0.45002127200001496, a.total_tt\n"
		"assert a.total_calls == -14\n"
		"assert a.stats[(\"demo.py\", 13, \"fib\")][3] == 0.6646557570002187\n"
		"assert (\"demo.py\", 24, \"compute\") in a.stats[(\"demo.py\", 5, \"busy\")][4]\n";
	struct session *s;
	char *ours, *theirs;

	if (!python()) {
		fprintf(stderr, "SKIP: no /usr/bin/python3.11 to load the pstats file with\n");
		skip();
	}
	s = load_sample("demo.pyisession");
	ours = render_to_temp(render_pstats, s, ".pstats");
	theirs = samples_path("demo.pstats");
	assert_int_equal(run_python(script, ours, theirs), 0);
	unlink(ours);
	free(ours);
	free(theirs);
	session__free(s);
}

static void test_render_pstats_hostile_names_load(void **state)
{
	/* invalid UTF-8 becomes U+FFFD; the rest of each name survives as is */
	static const char script[] =
		"import sys, pstats\n"
		"s = pstats.Stats(sys.argv[1]).stats\n"
		"k = [k for k in s if k[2].startswith(\"ev\")][0]\n"
		"assert k == (\"/app/x;\\\"\\n\\x1b\\ufffd.py\", 12,"
		" \"ev\\\"il;\\\\\\n\\x1b[31m\\x9b\\ufffd\\ufffd\"), k\n"
		"assert s[k][2] == 0.5 and s[k][3] == 0.5, s[k]\n"
		"assert (\"<thread>\", 1, \"MainThread\") in s[k][4]\n";
	struct session *s;
	char *ours;

	if (!python()) {
		fprintf(stderr, "SKIP: no /usr/bin/python3.11 to load the pstats file with\n");
		skip();
	}
	s = hostile_session();
	ours = render_to_temp(render_pstats, s, ".pstats");
	assert_int_equal(run_python(script, ours, ""), 0);
	unlink(ours);
	free(ours);
	session__free(s);
}

static void test_render_pstats_empty_is_an_empty_dict(void **state)
{
	struct session *s = load_sample("empty.pyisession");
	size_t len;
	int ret;
	char *got = render_to_buf(render_pstats, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_int_equal(len, 2);
	assert_memory_equal(got, "{0", 2);
	free(got);
	session__free(s);
}

static void test_render_pstats_big_line_numbers(void **state)
{
	/* a thread ident as the "line" does not fit marshal's 32-bit int: it needs TYPE_LONG */
	static const char frame[] = "MainThread\0<thread>\000139766573841280";
	struct session *s = session__new();
	size_t len;
	int ret;
	char *got;

	assert_int_equal(session_add_sample(s, session_stack_push(s, SESSION_NO_STACK,
		session_intern_frame(s, frame, sizeof(frame) - 1)), 1.0), 0);
	got = render_to_buf(render_pstats, s, &len, &ret);
	assert_int_equal(ret, 0);
	/* 139766573841280: four 15-bit digits, least significant first (marshal.dumps agrees) */
	assert_non_null(memmem(got, len, "l\x04\0\0\0\x80\x3b\xf8\x61\x77\x7c\x03\0", 13));
	free(got);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_pstats_loads_like_pyinstrument),
		cmocka_unit_test(test_render_pstats_hostile_names_load),
		cmocka_unit_test(test_render_pstats_empty_is_an_empty_dict),
		cmocka_unit_test(test_render_pstats_big_line_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
