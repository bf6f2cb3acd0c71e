// SPDX-License-Identifier: MIT
/*
 * The JSON renderer against real pyinstrument 5.1.2 output, byte for byte once each group's
 * uuid4 is replaced by its order of first appearance (same group, same id; new group, new id).
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

#define UUID_LEN 36

static bool is_uuid4(const char *p)
{
	for (int i = 0; i < UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? p[i] != '-' : !isxdigit((unsigned char)p[i]) || isupper(p[i]))
			return false;
	}
	return p[14] == '4' && strchr("89ab", p[19]);
}

/* Replaces every group uuid in place by "G<n>" padded to the uuid's length. */
static void normalise_groups(char *json)
{
	static const char key[] = "\"group_id\": \"";
	char seen[64][UUID_LEN + 1];
	int nseen = 0, i;

	for (char *p = strstr(json, key); p; p = strstr(p, key)) {
		p += sizeof(key) - 1;
		assert_true(is_uuid4(p));
		for (i = 0; i < nseen && memcmp(seen[i], p, UUID_LEN); i++)
			;
		if (i == nseen) {
			assert_true(nseen < 64);
			memcpy(seen[nseen++], p, UUID_LEN);
		}
		snprintf(p, UUID_LEN + 1, "G%-35d", i);
		p[UUID_LEN] = '"';
	}
}

static void check_golden(const char *session_name, const char *golden)
{
	struct session *s = load_sample(session_name);
	size_t want_len = 0, got_len = 0;
	char *want = read_sample(golden, &want_len), *got;
	int ret;

	got = render_to_buf(render_json, s, &got_len, &ret);
	assert_int_equal(ret, 0);
	normalise_groups(want);
	normalise_groups(got);
	assert_golden(golden, want, want_len, got, got_len);
	free(want);
	free(got);
	session__free(s);
}

static void test_render_json_golden_demo(void **state)
{
	check_golden("demo.pyisession", "demo.json");
}

static void test_render_json_golden_library_groups(void **state)
{
	check_golden("demo2.pyisession", "demo2.json");
}

static void test_render_json_golden_empty(void **state)
{
	check_golden("empty.pyisession", "empty.json");
}

static void test_render_json_golden_await(void **state)
{
	check_golden("async_enabled.pyisession", "async_enabled.json");
}

static void test_render_json_fresh_uuid_per_render(void **state)
{
	struct session *s = load_sample("demo2.pyisession");
	size_t len;
	int ret;
	char *a = render_to_buf(render_json, s, &len, &ret), *b;

	assert_int_equal(ret, 0);
	b = render_to_buf(render_json, s, &len, &ret);
	assert_int_equal(ret, 0);
	assert_string_not_equal(strstr(a, "\"group_id\""), strstr(b, "\"group_id\""));
	free(a);
	free(b);
	session__free(s);
}

static void test_render_json_escapes_hostile_names(void **state)
{
	struct session *s = hostile_session();
	size_t len;
	int ret;
	char *got = render_to_buf(render_json, s, &len, &ret);

	assert_int_equal(ret, 0);
	assert_int_equal(strlen(got), len);
	/* ensure_ascii: nothing but printable ASCII, one line */
	for (size_t i = 0; i + 1 < len; i++)
		assert_true(got[i] >= 0x20 && got[i] < 0x7f);
	assert_string_equal(got + len - 1, "\n");
	assert_non_null(strstr(got, "\"function\": \"ev\\\"il;\\\\\\n\\u001b[31m\\u009b\\udcff"
				    "\\udcc3\""));
	assert_non_null(strstr(got, "\"class_name\": \"K;\\\"\\u001b\\udcff\"}"));
	assert_non_null(strstr(got, "\"target_description\": \"Program: \\u001b]0;pwned\\u0007"
				    "\\\"\\n\\udcff\""));
	free(got);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_json_golden_demo),
		cmocka_unit_test(test_render_json_golden_library_groups),
		cmocka_unit_test(test_render_json_golden_empty),
		cmocka_unit_test(test_render_json_golden_await),
		cmocka_unit_test(test_render_json_fresh_uuid_per_render),
		cmocka_unit_test(test_render_json_escapes_hostile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
