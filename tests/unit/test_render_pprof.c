// SPDX-License-Identifier: MIT
/*
 * The pprof renderer, decoded by the minimal protobuf reader below: the gzip wrapper, the field
 * numbers, totals, one location per (function, line), valid UTF-8 strings.
 * test_render_pprof_go.c has `go tool pprof` read the same output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "support.h"
#include "utf8.h"

/* The pprof Profile, as far as the tests need it (profile.proto field numbers). */
struct pb_profile {
	char **strings;
	size_t nstrings;
	int64_t sample_type[2][2];	/* (type, unit) string indices */
	size_t nsample_types;
	uint64_t nsamples;
	int64_t value_sum[2];
	uint64_t nlocations, nfunctions;
	uint64_t max_location_id, max_function_id;
	int64_t function_names[64];	/* the first functions' name indices */
	int64_t time_nanos, duration_nanos, period;
	int64_t period_type[2];
};

static uint64_t pb_read_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	fail_msg("truncated varint");
	return 0;
}

/* Calls back each (field, varint value) or (field, bytes) of one message. */
struct pb_field {
	uint32_t field;
	uint32_t wire;
	uint64_t v;
	const uint8_t *data;
	size_t len;
};

static int pb_next(const uint8_t **p, const uint8_t *end, struct pb_field *f)
{
	uint64_t key;

	if (*p >= end)
		return 0;
	key = pb_read_varint(p, end);
	f->field = (uint32_t)(key >> 3);
	f->wire = key & 7;
	if (f->wire == 0) {
		f->v = pb_read_varint(p, end);
	} else if (f->wire == 2) {
		f->len = pb_read_varint(p, end);
		assert_true(f->len <= (size_t)(end - *p));
		f->data = *p;
		*p += f->len;
	} else {
		fail_msg("unexpected wire type %u", f->wire);
	}
	return 1;
}

static void pb_value_type(const struct pb_field *f, int64_t out[2])
{
	const uint8_t *p = f->data, *end = p + f->len;
	struct pb_field g;

	while (pb_next(&p, end, &g))
		if (g.field == 1 || g.field == 2)
			out[g.field - 1] = (int64_t)g.v;
}

static void pb_sample(struct pb_profile *pr, const struct pb_field *f)
{
	const uint8_t *p = f->data, *end = p + f->len, *q;
	struct pb_field g;
	int i = 0;

	pr->nsamples++;
	while (pb_next(&p, end, &g)) {
		if (g.field != 2)
			continue;
		assert_int_equal(g.wire, 2);	/* packed */
		for (q = g.data; q < g.data + g.len && i < 2; i++)
			pr->value_sum[i] += (int64_t)pb_read_varint(&q, g.data + g.len);
	}
}

static void pb_function(struct pb_profile *pr, const struct pb_field *f)
{
	const uint8_t *p = f->data, *end = p + f->len;
	struct pb_field g;
	uint64_t id = 0;
	int64_t name = -1;

	while (pb_next(&p, end, &g)) {
		if (g.field == 1)
			id = g.v;
		else if (g.field == 2)
			name = (int64_t)g.v;
	}
	assert_true(id > 0);
	if (id > pr->max_function_id)
		pr->max_function_id = id;
	if (id <= 64)
		pr->function_names[id - 1] = name;
	pr->nfunctions++;
}

/* Gunzips and decodes; every string must be valid UTF-8. */
static void pb_profile_read(const char *gz, size_t gzlen, struct pb_profile *pr)
{
	z_stream z = { 0 };
	uint8_t *raw = NULL;
	size_t cap = 1 << 16, len = 0;
	const uint8_t *p, *end;
	struct pb_field f;
	int zr;

	memset(pr, 0, sizeof(*pr));
	assert_int_equal(inflateInit2(&z, 31), Z_OK);	/* gzip wrapper required */
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gzlen;
	do {
		raw = realloc(raw, cap *= 2);
		assert_non_null(raw);
		z.next_out = raw + len;
		z.avail_out = (uInt)(cap - len);
		zr = inflate(&z, Z_NO_FLUSH);
		len = cap - z.avail_out;
	} while (zr == Z_OK);
	assert_int_equal(zr, Z_STREAM_END);
	inflateEnd(&z);
	for (p = raw, end = raw + len; pb_next(&p, end, &f);) {
		switch (f.field) {
		case 1:
			assert_true(pr->nsample_types < 2);
			pb_value_type(&f, pr->sample_type[pr->nsample_types++]);
			break;
		case 2: pb_sample(pr, &f); break;
		case 4: pr->nlocations++; break;
		case 5: pb_function(pr, &f); break;
		case 6: {
			uint32_t cp;

			for (size_t i = 0, n; i < f.len; i += n) {
				n = utf8_decode(f.data + i, f.len - i, &cp);
				assert_true(n > 0);
			}
			pr->strings = realloc(pr->strings, (pr->nstrings + 1) * sizeof(char *));
			pr->strings[pr->nstrings++] = strndup((const char *)f.data, f.len);
			break;
		}
		case 9: pr->time_nanos = (int64_t)f.v; break;
		case 10: pr->duration_nanos = (int64_t)f.v; break;
		case 11: pb_value_type(&f, pr->period_type); break;
		case 12: pr->period = (int64_t)f.v; break;
		default: fail_msg("unexpected Profile field %u", f.field);
		}
	}
	free(raw);
}

static const char *pb_string(const struct pb_profile *pr, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < pr->nstrings);
	return pr->strings[i];
}

static void pb_profile_free(struct pb_profile *pr)
{
	for (size_t i = 0; i < pr->nstrings; i++)
		free(pr->strings[i]);
	free(pr->strings);
}

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
