// SPDX-License-Identifier: MIT
/*
 * linetable_line against the interpreters themselves: each installed CPython runs
 * tests/data/linetable_truth.py, which prints every code object's raw table and the line its own
 * PyCode_Addr2Line gives at every code unit; every one must match.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "linetable.h"
#include "support.h"

#define V(minor) ((3u << 24) | ((uint32_t)(minor) << 16) | 0xf0u)

static struct test_python pythons[] = TEST_PYTHONS_INIT;

/* Compares one "L ..." line against the decoder; returns the number of mismatches. */
static int check_lines(uint32_t ver, const uint8_t *t, size_t len, int first, const char *name,
		       char *lines, int *offsets)
{
	int bad = 0, off = 0;

	for (char *tok = strtok(lines + 2, " \n"); tok; tok = strtok(NULL, " \n"), off += 2) {
		int want = atoi(tok), got = linetable_line(ver, t, len, first, off);

		(*offsets)++;
		if (got != want && bad++ < 5)
			print_error("%s: offset %d: want %d got %d\n", name, off, want, got);
	}
	return bad;
}

static void test_linetable_matches_interpreter(void **state)
{
	struct test_python *py = *state;
	char *line = NULL, name[256] = "", version[64] = "";
	static uint8_t table[1 << 20];
	size_t cap = 0, len = 0;
	unsigned long ver = 0;
	int first = 0, codes = 0, offsets = 0, bad = 0;
	FILE *p = run_truth_script(py, "linetable_truth.py");

	while (getline(&line, &cap, p) > 0) {
		char hex[1 << 16];

		if (line[0] == 'V') {
			assert_int_equal(sscanf(line, "V %lu %63s", &ver, version), 2);
		} else if (line[0] == 'C') {
			assert_int_equal(sscanf(line, "C %d %65535s %255s", &first, hex, name), 3);
			len = unhex(hex, table, sizeof(table));
			codes++;
		} else if (line[0] == 'L') {
			bad += check_lines((uint32_t)ver, table, len, first, name, line, &offsets);
		}
	}
	free(line);
	assert_int_equal(pclose(p), 0);
	print_message("covered %s (%s): %d code objects, %d offsets\n", py->label, version, codes,
		      offsets);
	assert_true(codes > 10);
	assert_int_equal(bad, 0);
}

/* 3.8 made lnotab line deltas signed: 0xfe is -2 from 3.8, +254 before. */
static void test_linetable_lnotab_signedness(void **state)
{
	const uint8_t t[] = { 4, 3, 6, 0xfe };

	assert_int_equal(linetable_line(V(7), t, sizeof(t), 10, 0), 10);
	assert_int_equal(linetable_line(V(7), t, sizeof(t), 10, 4), 13);
	assert_int_equal(linetable_line(V(7), t, sizeof(t), 10, 10), 267);
	assert_int_equal(linetable_line(V(8), t, sizeof(t), 10, 10), 11);
	assert_int_equal(linetable_line(V(8), t, sizeof(t), 10, 200), 11);
}

/* 3.10: -128 marks a range with no line; the running line is kept for later ranges. */
static void test_linetable_310_no_line(void **state)
{
	const uint8_t t[] = { 4, 1, 2, 0x80, 4, 2 };

	assert_int_equal(linetable_line(V(10), t, sizeof(t), 5, 2), 6);
	assert_int_equal(linetable_line(V(10), t, sizeof(t), 5, 4), -1);
	assert_int_equal(linetable_line(V(10), t, sizeof(t), 5, 6), 8);
	assert_int_equal(linetable_line(V(10), t, sizeof(t), 5, 10), -1);	/* past the end */
}

/* 3.11+: every entry kind, a multi-byte svarint, and a truncated long entry. */
static void test_linetable_311_kinds(void **state)
{
	const uint8_t t[] = {
		0x80 | (0 << 3) | 0, 0x05,		/* short: +0, 1 unit */
		0x80 | (11 << 3) | 1, 1, 4,		/* one line +1, 2 units */
		0x80 | (13 << 3) | 0, 0x43, 0x01,	/* no columns: svarint 0x43 -> 67 = -33 */
		0x80 | (15 << 3) | 0,			/* no location */
		0x80 | (14 << 3) | 0, 0x20, 0, 1, 1,	/* long: +16 */
		0x80 | (14 << 3) | 0, 0x60,		/* truncated varint */
	};

	assert_int_equal(linetable_line(V(11), t, sizeof(t), 100, -2), 100);
	assert_int_equal(linetable_line(V(11), t, sizeof(t), 100, 0), 100);
	assert_int_equal(linetable_line(V(12), t, sizeof(t), 100, 2), 101);
	assert_int_equal(linetable_line(V(13), t, sizeof(t), 100, 5), 101);
	assert_int_equal(linetable_line(V(14), t, sizeof(t), 100, 6), 68);
	assert_int_equal(linetable_line(V(14), t, sizeof(t), 100, 8), -1);
	assert_int_equal(linetable_line(V(14), t, sizeof(t), 100, 10), 84);
	assert_int_equal(linetable_line(V(14), t, sizeof(t), 100, 12), -1);
	assert_int_equal(linetable_line(V(11), NULL, 0, 7, 0), -1);
	assert_int_equal(linetable_line(V(9), NULL, 0, 7, 40), 7);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(pythons) / sizeof(pythons[0]) + 3];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(pythons) / sizeof(pythons[0]); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_linetable_matches_interpreter,
								&pythons[i]);

		t.name = pythons[i].label;
		tests[n++] = t;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_linetable_lnotab_signedness);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_linetable_310_no_line);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_linetable_311_kinds);
	return _cmocka_run_group_tests("linetable", tests, n, NULL, NULL);
}
