/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the renderer tests: the pyinstrument samples (env PYI_SAMPLES, tests/data), rendering
 * into memory, a session with hostile names, and a minimal reader for the pprof protobuf.
 * Include after <cmocka.h>.
 */
#ifndef PYINST_TEST_RENDER_UTIL_H
#define PYINST_TEST_RENDER_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "render.h"
#include "session.h"
#include "utf8.h"

typedef int (*render_fn)(struct session *s, const struct render_opts *o, FILE *out);

static inline char *samples_path(const char *name)
{
	const char *dir = getenv("PYI_SAMPLES");
	char *path;

	if (!dir)
		dir = "tests/data/pyinstrument-samples";
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

static inline char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;
	FILE *mem;

	*len = 0;
	if (!f)
		return NULL;
	mem = open_memstream(&buf, &cap);
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, mem);
	fclose(f);
	fclose(mem);
	*len = cap;
	return buf;
}

static inline struct session *load_sample(const char *name)
{
	char *path = samples_path(name), err[512] = "";
	struct session *s = NULL;
	int ret = session_load(path, &s, err, sizeof(err));

	if (ret)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(ret, 0);
	free(path);
	return s;
}

/*
 * Renders with default options into a buffer (NUL-terminated; *len excludes the NUL). Not
 * inlined: inlined, gcc mistakes the result for the local that open_memstream filled
 * (-Wdangling-pointer).
 */
static __attribute__((noinline, unused)) char *render_to_buf(render_fn fn, struct session *s,
							     size_t *len, int *ret)
{
	struct render_opts o;
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);

	render_opts_init(&o);
	*ret = fn(s, &o, mem);
	fclose(mem);
	render_opts_release(&o);
	return buf;
}

/* Writes buf to a fresh temporary file; returns its path (to unlink and free). */
static inline char *write_temp(const char *buf, size_t len, const char *suffix)
{
	char *path;
	int fd;
	FILE *f;

	assert_true(asprintf(&path, "/tmp/pyi-test-XXXXXX%s", suffix) > 0);
	fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/*
 * One frame holding every kind of hostile byte: NUL (the identifier separator), newline, ';',
 * quotes, backslash, an ANSI escape, a C1 control and bytes that are not UTF-8, in the function,
 * the file and the class name. Under a thread root; plus an [await] leaf.
 */
static const char hostile_frame[] =
	"ev\"il;\\\n\033[31m\xc2\x9b\xff\xc3\0/app/x;\"\n\033\xfe.py\00012\001cK;\"\033\xff\001l14";

static inline struct session *hostile_session(void)
{
	static const char thread[] = "MainThread\0<thread>\0001";
	static const char await_leaf[] = "[await]";
	struct session *s = session__new();
	uint32_t root, st;

	assert_non_null(s);
	root = session_stack_push(s, SESSION_NO_STACK,
				  session_intern_frame(s, thread, sizeof(thread) - 1));
	st = session_stack_push(s, root, session_intern_frame(s, hostile_frame,
							      sizeof(hostile_frame) - 1));
	assert_int_equal(session_add_sample(s, st, 0.25), 0);
	st = session_stack_push(s, st, session_intern_frame(s, await_leaf,
							      sizeof(await_leaf) - 1));
	assert_int_equal(session_add_sample(s, st, 0.25), 0);
	assert_int_equal(session_set_target_description(s, "Program: \033]0;pwned\007\"\n\xff"), 0);
	session_set_times(s, 0, 0.5);
	assert_int_equal(session_error(s), 0);
	return s;
}

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

static inline uint64_t pb_read_varint(const uint8_t **p, const uint8_t *end)
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

static inline int pb_next(const uint8_t **p, const uint8_t *end, struct pb_field *f)
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

static inline void pb_value_type(const struct pb_field *f, int64_t out[2])
{
	const uint8_t *p = f->data, *end = p + f->len;
	struct pb_field g;

	while (pb_next(&p, end, &g))
		if (g.field == 1 || g.field == 2)
			out[g.field - 1] = (int64_t)g.v;
}

static inline void pb_sample(struct pb_profile *pr, const struct pb_field *f)
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

static inline void pb_function(struct pb_profile *pr, const struct pb_field *f)
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
static inline void pb_profile_read(const char *gz, size_t gzlen, struct pb_profile *pr)
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

static inline const char *pb_string(const struct pb_profile *pr, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < pr->nstrings);
	return pr->strings[i];
}

static inline void pb_profile_free(struct pb_profile *pr)
{
	for (size_t i = 0; i < pr->nstrings; i++)
		free(pr->strings[i]);
	free(pr->strings);
}

#endif /* PYINST_TEST_RENDER_UTIL_H */
