// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pystr.h"
#include "support.h"

static struct test_python pythons[] = TEST_PYTHONS_INIT;

static struct pyi_str make(unsigned int kind, uint32_t length, const void *data, size_t nbytes)
{
	struct pyi_str s = { .length = length, .nbytes = (uint16_t)nbytes, .kind = (uint8_t)kind,
			     .ok = 1 };

	memcpy(s.data, data, nbytes);
	return s;
}

static void test_pystr_kinds(void **state)
{
	const uint16_t ucs2[] = { 0x3a9, 0x20ac };
	const uint32_t ucs4[] = { 0x1f600, 'x' };
	struct pyi_str s;
	char out[64];

	s = make(1, 4, "caf\xe9", 4);
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 5);
	assert_string_equal(out, "caf\xc3\xa9");
	s = make(2, 2, ucs2, sizeof(ucs2));
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 5);
	assert_string_equal(out, "\xce\xa9\xe2\x82\xac");
	s = make(4, 2, ucs4, sizeof(ucs4));
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 5);
	assert_string_equal(out, "\xf0\x9f\x98\x80x");
}

/* NUL separates fields in frame strings; surrogates and out-of-range values are not UTF-8. */
static void test_pystr_replacements(void **state)
{
	const uint16_t ucs2[] = { 'a', 0, 0xd800, 0xdfff };
	const uint32_t ucs4[] = { 0x110000, 0 };
	struct pyi_str s;
	char out[64];

	s = make(2, 4, ucs2, sizeof(ucs2));
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 10);
	assert_string_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	s = make(4, 2, ucs4, sizeof(ucs4));
	assert_string_equal((pystr_decode(&s, out, sizeof(out)), out), "\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_pystr_truncation(void **state)
{
	struct pyi_str s = make(1, 1000, "abcdef", 6);
	char out[64], small[6];

	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 9);
	assert_string_equal(out, "abcdef\xe2\x80\xa6");
	s.length = 6;
	assert_int_equal(pystr_decode(&s, small, sizeof(small)), 5);
	assert_string_equal(small, "ab\xe2\x80\xa6");
	s.length = 3;
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	s.nbytes = 5;	/* a UCS-2 copy cut inside a code point */
	s.kind = 2;
	s.length = 3;
	/* two 3-byte code points and the 3-byte ellipsis */
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), 9);
}

static void test_pystr_errors(void **state)
{
	struct pyi_str s = make(3, 1, "a", 1);
	char out[8];

	assert_int_equal(pystr_decode(&s, out, sizeof(out)), -EINVAL);
	s.kind = 1;
	assert_int_equal(pystr_decode(&s, out, 3), -EINVAL);
	s.ok = 0;
	assert_int_equal(pystr_decode(&s, out, sizeof(out)), -ENODATA);
}

/* Real str objects copied out of each interpreter's memory (ctypes.string_at). */
static void test_pystr_from_interpreter_objects(void **state)
{
	struct test_python *py = *state;
	static char line[1 << 16], obj_hex[1 << 15], want_hex[1 << 14];
	static uint8_t obj[1 << 14], want[1 << 13];
	char out[2048];
	const struct pyi_layout *lay = NULL;
	unsigned long ver;
	int n = 0;
	FILE *p = run_truth_script(py, "pystr_truth.py");

	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "V %lu", &ver) == 1) {
			lay = layouts_find((uint32_t)ver);
			assert_non_null(lay);
			continue;
		}
		assert_int_equal(sscanf(line, "S %32767s %16383s", obj_hex, want_hex), 2);
		size_t olen = unhex(obj_hex, obj, sizeof(obj));
		size_t wlen = strcmp(want_hex, "-") ? unhex(want_hex, want, sizeof(want)) : 0;

		assert_int_equal(pystr_from_object(lay, obj, olen, out, sizeof(out)), (int)wlen);
		assert_memory_equal(out, want, wlen);
		n++;
	}
	assert_int_equal(pclose(p), 0);
	print_message("covered %s: %d str objects\n", py->label, n);
	assert_true(n >= 9);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(pythons) / sizeof(pythons[0]) + 4] = {
		cmocka_unit_test(test_pystr_kinds),
		cmocka_unit_test(test_pystr_replacements),
		cmocka_unit_test(test_pystr_truncation),
		cmocka_unit_test(test_pystr_errors),
	};
	size_t n = 4;

	for (size_t i = 0; i < sizeof(pythons) / sizeof(pythons[0]); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(
			test_pystr_from_interpreter_objects, &pythons[i]);

		t.name = pythons[i].label;
		tests[n++] = t;
	}
	return _cmocka_run_group_tests("pystr", tests, n, NULL, NULL);
}
