// SPDX-License-Identifier: MIT
/* The one UTF-8 decoder and encoder (utf8.h), and the one grow-array helper (array.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"
#include "utf8.h"

/* Every scalar value encodes to the shortest form and decodes back to itself. */
static void test_utf8_round_trip(void **state)
{
	char buf[4];
	uint32_t back;
	size_t n;

	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8_encode(cp, buf);
		assert_int_equal(n, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
		assert_int_equal(utf8_decode((const unsigned char *)buf, n, &back), n);
		assert_int_equal(back, cp);
		/* cut short: not valid */
		if (n > 1)
			assert_int_equal(utf8_decode((const unsigned char *)buf, n - 1, &back), 0);
	}
}

static void test_utf8_rejects_invalid(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf",		/* overlong '/' */
		"\xe0\x80\xaf",		/* overlong */
		"\xed\xa0\x80",		/* a surrogate */
		"\xf4\x90\x80\x80",	/* past U+10FFFF */
		"\x80",			/* a lone continuation byte */
		"\xe2\x28\xa1",		/* a bad continuation */
		"\xff",
	};
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const unsigned char *p = (const unsigned char *)bad[i];

		assert_int_equal(utf8_decode(p, strlen(bad[i]), &cp), 0);
	}
}

static void test_array_reserve_grows_and_keeps(void **state)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	(void)state;
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(array_reserve(&v, &cap, i + 1, sizeof(*v)), 0);
		assert_true(cap >= i + 1);
		v[i] = i * 3;
	}
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(v[i], i * 3);
	/* enough room already: nothing moves */
	{
		uint32_t *before = v;
		size_t before_cap = cap;

		assert_int_equal(array_reserve(&v, &cap, 10, sizeof(*v)), 0);
		assert_ptr_equal(v, before);
		assert_int_equal(cap, before_cap);
	}
	/* a size past what memory can hold: refused, the array as it was */
	assert_int_equal(array_reserve(&v, &cap, SIZE_MAX / 2, sizeof(*v)), -ENOMEM);
	assert_int_equal(v[999], 999 * 3);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_round_trip),
		cmocka_unit_test(test_utf8_rejects_invalid),
		cmocka_unit_test(test_array_reserve_grows_and_keeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
