// SPDX-License-Identifier: MIT
/*
 * The speedscope renderer against real pyinstrument 5.1.2 output. Byte for byte, with one field
 * swapped first: we write "exporter": "pyinst-bpf" where pyinstrument writes "pyinstrument".
 * The name holds the local start time, and the sample was recorded in UTC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static const char ours[] = "\"exporter\": \"pyinst-bpf\"";
static const char theirs[] = "\"exporter\": \"pyinstrument\"";

static void test_render_speedscope_golden_demo(void **state)
{
	struct session *s = load_sample("demo.pyisession");
	size_t want_len = 0, got_len = 0;
	char *want = read_sample("demo.speedscope.json", &want_len), *got, *at, *fixed;
	int ret;

	got = render_to_buf(render_speedscope, s, &got_len, &ret);
	assert_int_equal(ret, 0);
	at = strstr(got, ours);
	assert_non_null(at);
	assert_true(asprintf(&fixed, "%.*s%s%s", (int)(at - got), got, theirs,
			     at + sizeof(ours) - 1) > 0);
	assert_golden("demo.speedscope.json", want, want_len, fixed, strlen(fixed));
	free(fixed);
	free(want);
	free(got);
	session__free(s);
}

static void test_render_speedscope_empty(void **state)
{
	struct session *s = load_sample("empty.pyisession");
	size_t len;
	int ret;
	char *got = render_to_buf(render_speedscope, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_non_null(strstr(got, "\"events\": []}], \"shared\": {\"frames\": []}}\n"));
	free(got);
	session__free(s);
}

static void test_render_speedscope_escapes_hostile_names(void **state)
{
	struct session *s = hostile_session();
	size_t len;
	int ret;
	char *got = render_to_buf(render_speedscope, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_int_equal(strlen(got), len);
	for (size_t i = 0; i + 1 < len; i++)
		assert_true(got[i] >= 0x20 && got[i] < 0x7f);
	assert_non_null(strstr(got, "{\"name\": \"ev\\\"il;\\\\\\n\\u001b[31m\\u009b\\udcff"
				    "\\udcc3\", \"file\": \"/app/x;\\\"\\n\\u001b\\udcfe.py\", "
				    "\"line\": 12}"));
	assert_non_null(strstr(got, "{\"name\": \"[await]\", \"file\": null, \"line\": null}"));
	/* the clock reaches the end: 0.5 s of samples, the [await] half as a synthetic leaf */
	assert_non_null(strstr(got, "{\"type\": \"C\", \"at\": 0.5, \"frame\": 0}]"));
	free(got);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_speedscope_golden_demo),
		cmocka_unit_test(test_render_speedscope_empty),
		cmocka_unit_test(test_render_speedscope_escapes_hostile_names),
	};

	return cmocka_run_group_tests(tests, setup_utc, NULL);
}
