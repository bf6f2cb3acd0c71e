// SPDX-License-Identifier: MIT
/*
 * .pyisession import/export. Saving reproduces Python's json.dumps(session.to_json()) byte for
 * byte: keys in pyinstrument's order, ensure_ascii escapes, ", " and ": " separators, repr() of
 * floats, no trailing newline. Loading goes through cJSON, which keeps strings NUL-terminated and
 * rejects lone surrogates, so the text is first rewritten (see json_mangle).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "session.h"

/* 2^53: larger sample counts cannot be held exactly in a double, as cJSON stores them. */
#define MAX_EXACT_INT 9007199254740992.0

/*
 * Python's repr(float): the shortest digit string that round-trips, in fixed notation for
 * decimal exponents -4..15 and scientific ("1e-05", "1.5e+16") otherwise; integral values get
 * ".0". json.dumps spells the non-finite values Infinity, -Infinity and NaN.
 */
size_t session_format_float(double v, char *buf, size_t len)
{
	char sci[40], digits[20], out[48];
	int prec, exp, nd = 0, n = 0;
	const char *q;

	if (isnan(v))
		return (size_t)snprintf(buf, len, "NaN");
	if (isinf(v))
		return (size_t)snprintf(buf, len, v < 0 ? "-Infinity" : "Infinity");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	/* sci is "[-]d[.ddd]e[+-]XX" */
	for (q = sci + (sci[0] == '-'); *q && *q != 'e'; q++)
		if (*q != '.')
			digits[nd++] = *q;
	exp = atoi(q + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (signbit(v))
		out[n++] = '-';
	if (exp < -4 || exp >= 16) {
		out[n++] = digits[0];
		if (nd > 1)
			out[n++] = '.';
		for (int i = 1; i < nd; i++)
			out[n++] = digits[i];
		n += snprintf(out + n, sizeof(out) - (size_t)n, "e%c%02d", exp < 0 ? '-' : '+',
			      abs(exp));
	} else if (exp < 0) {
		out[n++] = '0';
		out[n++] = '.';
		for (int i = 0; i < -exp - 1; i++)
			out[n++] = '0';
		for (int i = 0; i < nd; i++)
			out[n++] = digits[i];
	} else {
		for (int i = 0; i <= exp || i < nd; i++) {
			if (i == exp + 1)
				out[n++] = '.';
			out[n++] = i < nd ? digits[i] : '0';
		}
		if (nd <= exp + 1) {
			out[n++] = '.';
			out[n++] = '0';
		}
	}
	out[n] = '\0';
	return (size_t)snprintf(buf, len, "%s", out);
}

/* Decodes one UTF-8 code point; returns its length, or 0 if the sequence is invalid. */
size_t session_utf8_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * A JSON string as Python's json.dumps writes it (ensure_ascii). Bytes that are not valid UTF-8
 * are written as lone surrogates \udcXX, which is how Python holds undecodable bytes
 * (surrogateescape); json_mangle turns them back into the same bytes on load.
 */
void session_json_write_string(FILE *out, const char *str, size_t len)
{
	const unsigned char *p = (const unsigned char *)str, *end = p + len;
	uint32_t cp;
	size_t n;

	fputc('"', out);
	for (; p < end; p += n) {
		n = session_utf8_decode(p, (size_t)(end - p), &cp);
		if (!n) {
			fprintf(out, "\\udc%02x", *p);
			n = 1;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", out); continue;
		case '\\': fputs("\\\\", out); continue;
		case '\n': fputs("\\n", out); continue;
		case '\r': fputs("\\r", out); continue;
		case '\t': fputs("\\t", out); continue;
		case '\b': fputs("\\b", out); continue;
		case '\f': fputs("\\f", out); continue;
		}
		if (cp >= 0x20 && cp < 0x7f)
			fputc((int)cp, out);
		else if (cp < 0x10000)
			fprintf(out, "\\u%04x", cp);
		else
			fprintf(out, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
				0xdc00 + ((cp - 0x10000) & 0x3ff));
	}
	fputc('"', out);
}

static void write_float(FILE *out, const char *key, double v)
{
	char buf[48];

	session_format_float(v, buf, sizeof(buf));
	fprintf(out, "\"%s\": %s, ", key, buf);
}

/* Writes the frames of stack, root first, as a JSON list. */
static int write_stack(FILE *out, const struct session *s, uint32_t stack, uint32_t **buf,
		       size_t *cap)
{
	uint32_t depth = session_stack_depth(s, stack), i = depth;
	size_t len;
	const char *info;

	if (depth > *cap) {
		uint32_t *nb = realloc(*buf, depth * sizeof(**buf));

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = depth;
	}
	for (uint32_t st = stack; st != SESSION_NO_STACK; st = session_stack_parent(s, st))
		(*buf)[--i] = session_stack_frame(s, st);
	fputc('[', out);
	for (i = 0; i < depth; i++) {
		info = session_frame_info(s, (*buf)[i], &len);
		if (i)
			fputs(", ", out);
		session_json_write_string(out, info, len);
	}
	fputc(']', out);
	return 0;
}

static void write_strlist(FILE *out, const char *key, const char *const *v, size_t n)
{
	fprintf(out, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		session_json_write_string(out, v[i], strlen(v[i]));
	}
	fputs("], ", out);
}

static void write_header(FILE *out, const struct session *s, uint32_t **buf, size_t *cap,
			 int *err)
{
	const struct session_header *h = session_get_header(s);
	const char *const *v;
	size_t n;

	fputc('{', out);
	write_float(out, "start_time", h->start_time);
	write_float(out, "duration", h->duration);
	write_float(out, "min_interval", h->min_interval);
	write_float(out, "max_interval", h->max_interval);
	fprintf(out, "\"sample_count\": %llu, ", (unsigned long long)h->sample_count);
	fputs("\"start_call_stack\": ", out);
	*err = write_stack(out, s, h->start_call_stack, buf, cap);
	fputs(", \"target_description\": ", out);
	session_json_write_string(out, h->target_description, strlen(h->target_description));
	fputs(", ", out);
	write_float(out, "cpu_time", h->cpu_time);
	v = session_sys_path(s, &n);
	write_strlist(out, "sys_path", v, n);
	v = session_sys_prefixes(s, &n);
	write_strlist(out, "sys_prefixes", v, n);
}

int session_save(const struct session *s, FILE *out)
{
	const struct session_sample *smp;
	uint32_t *buf = NULL;
	size_t cap = 0, n;
	char num[48];
	int err = session_error(s);

	if (err)
		return err;
	write_header(out, s, &buf, &cap, &err);
	fputs("\"frame_records\": [", out);
	smp = session_samples(s, &n);
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			fputs(", ", out);
		fputc('[', out);
		err = write_stack(out, s, smp[i].stack, &buf, &cap);
		session_format_float(smp[i].weight, num, sizeof(num));
		fprintf(out, ", %s]", num);
	}
	fputs("]}", out);
	free(buf);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}

int session_save_path(const struct session *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	ret = session_save(s, f);
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-ret));
	return ret;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of "\uXXXX" at p, or -1. */
static long escape_u4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++) {
		int h = hexval((unsigned char)p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* One escape inside a string: returns the input length consumed, appends to *o. */
static size_t mangle_escape(const char *p, const char *end, char **o)
{
	long u = escape_u4(p, end), next;

	if (u == 0) {
		*(*o)++ = (char)0xc0;
		*(*o)++ = (char)0x80;
		return 6;
	}
	if (u >= 0xd800 && u <= 0xdbff && (next = escape_u4(p + 6, end)) >= 0xdc00 &&
	    next <= 0xdfff) {
		memcpy(*o, p, 12);	/* a proper pair: cJSON decodes it */
		*o += 12;
		return 12;
	}
	if (u >= 0xdc80 && u <= 0xdcff) {
		*(*o)++ = (char)(u & 0xff);
		if ((u & 0xff) == 0xc0)
			*(*o)++ = (char)0xc0;
		return 6;
	}
	if (end - p < 2) {
		*(*o)++ = *p;
		return 1;
	}
	memcpy(*o, p, 2);
	*o += 2;
	return 2;
}

/*
 * cJSON ends its strings at the first NUL and refuses lone surrogates, yet frame_info strings
 * hold \u0000 separators and we save undecodable bytes as \udcXX. Inside strings, rewrite
 * \u0000 as C0 80, a raw C0 byte as C0 C0 and a lone \udc80..\udcff as its byte. C0 never occurs
 * in valid UTF-8 nor in cJSON's decoding of other escapes, so json_unmangle is exact.
 */
static char *json_mangle(const char *in, size_t len, size_t *outlen)
{
	const char *p = in, *end = in + len;
	char *out = malloc(2 * len + 1), *o = out;
	bool in_string = false;

	if (!out)
		return NULL;
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (!in_string) {
			in_string = c == '"';
			*o++ = *p++;
		} else if (c == '\\') {
			p += mangle_escape(p, end, &o);
		} else {
			in_string = c != '"';
			*o++ = *p++;
			if (c == 0xc0)
				*o++ = (char)0xc0;
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/* Restores the bytes json_mangle encoded, in place; returns the length. */
static size_t json_unmangle(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if ((unsigned char)*p == 0xc0 && (p[1] == (char)0x80 || p[1] == (char)0xc0)) {
			*o++ = p[1] == (char)0x80 ? '\0' : (char)0xc0;
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

struct loader {
	struct session *s;
	char *err;
	size_t errlen;
};

static int fail(struct loader *l, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* Python's json keeps the last of duplicate keys. */
static const cJSON *obj_get(const cJSON *obj, const char *key)
{
	const cJSON *found = NULL, *it;

	cJSON_ArrayForEach(it, obj)
		if (it->string && !strcmp(it->string, key))
			found = it;
	return found;
}

static int get_number(struct loader *l, const cJSON *root, const char *key, bool required,
		      double *out)
{
	const cJSON *it = obj_get(root, key);

	if (!it)
		return required ? fail(l, -EINVAL, "missing key \"%s\"", key) : 0;
	if (!cJSON_IsNumber(it))
		return fail(l, -EINVAL, "\"%s\" is not a number", key);
	if (!isfinite(it->valuedouble))
		return fail(l, -EINVAL, "\"%s\" is not a finite number", key);
	*out = it->valuedouble;
	return 0;
}

/* A list of frame_info strings, root first, interned as one stack. */
static int load_stack(struct loader *l, const cJSON *list, const char *what, size_t idx,
		      uint32_t *stack)
{
	const cJSON *it;
	uint32_t st = SESSION_NO_STACK, frame, depth = 0;
	size_t len;

	if (!cJSON_IsArray(list))
		return fail(l, -EINVAL, "%s[%zu]: expected a list of frames", what, idx);
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it))
			return fail(l, -EINVAL, "%s[%zu]: frame %u is not a string", what, idx,
				    depth);
		if (++depth > SESSION_MAX_DEPTH)
			return fail(l, -EINVAL, "%s[%zu]: stack deeper than %d frames", what, idx,
				    SESSION_MAX_DEPTH);
		len = json_unmangle(it->valuestring);
		frame = session_intern_frame(l->s, it->valuestring, len);
		if (frame == SESSION_NO_FRAME)
			return fail(l, -ENOMEM, "out of memory");
		st = session_stack_push(l->s, st, frame);
	}
	if (session_error(l->s))
		return fail(l, session_error(l->s), "out of memory");
	*stack = st;
	return 0;
}

static int load_records(struct loader *l, const cJSON *root)
{
	const cJSON *recs = obj_get(root, "frame_records"), *rec;
	uint32_t stack;
	size_t i = 0;
	int err;

	if (!recs)
		return fail(l, -EINVAL, "missing key \"frame_records\"");
	if (!cJSON_IsArray(recs))
		return fail(l, -EINVAL, "\"frame_records\" is not a list");
	cJSON_ArrayForEach(rec, recs) {
		const cJSON *w = cJSON_GetArrayItem(rec, 1);

		if (!cJSON_IsArray(rec) || cJSON_GetArraySize(rec) != 2)
			return fail(l, -EINVAL, "frame_records[%zu]: expected [stack, time]", i);
		err = load_stack(l, cJSON_GetArrayItem(rec, 0), "frame_records", i, &stack);
		if (err)
			return err;
		if (!cJSON_IsNumber(w) || !isfinite(w->valuedouble))
			return fail(l, -EINVAL, "frame_records[%zu]: time is not a finite number",
				    i);
		if (session_add_record(l->s, stack, w->valuedouble))
			return fail(l, -ENOMEM, "out of memory");
		i++;
	}
	return 0;
}

static int load_strlist(struct loader *l, const cJSON *root, const char *key,
			int (*add)(struct session *, const char *))
{
	const cJSON *list = obj_get(root, key), *it;

	/* pyinstrument falls back to the loading interpreter's values; we have none. */
	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return fail(l, -EINVAL, "\"%s\" is not a list", key);
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it))
			return fail(l, -EINVAL, "\"%s\" holds a non-string", key);
		json_unmangle(it->valuestring);
		if (add(l->s, it->valuestring))
			return fail(l, -ENOMEM, "out of memory");
	}
	return 0;
}

static int load_header(struct loader *l, const cJSON *root)
{
	struct session_header h = *session_get_header(l->s);
	const cJSON *it;
	uint32_t stack;
	int err;

	if ((err = get_number(l, root, "start_time", true, &h.start_time)) ||
	    (err = get_number(l, root, "duration", true, &h.duration)) ||
	    (err = get_number(l, root, "min_interval", false, &h.min_interval)) ||
	    (err = get_number(l, root, "max_interval", false, &h.max_interval)))
		return err;
	it = obj_get(root, "cpu_time");
	if (!it)
		return fail(l, -EINVAL, "missing key \"cpu_time\"");
	/* null is allowed and means 0, as in Session.from_json. Round-trip limit: cJSON keeps no
	 * int/float distinction, so a header number written as an int ("cpu_time": 0, which
	 * pyinstrument itself writes after loading a null) is saved back as a float ("0.0"). */
	if (!cJSON_IsNull(it) && (err = get_number(l, root, "cpu_time", true, &h.cpu_time)))
		return err;
	it = obj_get(root, "sample_count");
	if (!it)
		return fail(l, -EINVAL, "missing key \"sample_count\"");
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > MAX_EXACT_INT ||
	    it->valuedouble != floor(it->valuedouble))
		return fail(l, -EINVAL, "\"sample_count\" is not a count");
	it = obj_get(root, "target_description");
	if (!it)
		return fail(l, -EINVAL, "missing key \"target_description\"");
	if (!cJSON_IsString(it))
		return fail(l, -EINVAL, "\"target_description\" is not a string");
	json_unmangle(it->valuestring);
	if (session_set_target_description(l->s, it->valuestring))
		return fail(l, -ENOMEM, "out of memory");
	it = obj_get(root, "start_call_stack");
	if (!it)
		return fail(l, -EINVAL, "missing key \"start_call_stack\"");
	if ((err = load_stack(l, it, "start_call_stack", 0, &stack)))
		return err;
	session_set_start_call_stack(l->s, stack);
	session_set_times(l->s, h.start_time, h.duration);
	session_set_interval(l->s, h.min_interval, h.max_interval);
	session_set_cpu_time(l->s, h.cpu_time);
	session_set_sample_count(l->s, (uint64_t)obj_get(root, "sample_count")->valuedouble);
	return 0;
}

static int read_all(struct loader *l, const char *path, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	size_t len = 0, cap = 1 << 16, n;
	char *buf = NULL, *nb;
	int err = 0;

	if (!f)
		return fail(l, -errno, "%s", strerror(errno));
	do {
		if (len == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				err = fail(l, -ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
		err = fail(l, -EIO, "read error");
out:
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int parse_text(struct loader *l, const char *text, size_t len)
{
	const char *parse_end = NULL;
	size_t mlen;
	char *mangled = json_mangle(text, len, &mlen);
	cJSON *root = NULL;
	int err;

	if (!mangled)
		return fail(l, -ENOMEM, "out of memory");
	root = cJSON_ParseWithLengthOpts(mangled, mlen, &parse_end, false);
	if (!root) {
		err = fail(l, -EINVAL, "not valid JSON (error near byte %zu)",
			   parse_end ? (size_t)(parse_end - mangled) : (size_t)0);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		err = fail(l, -EINVAL, "not a JSON object");
		goto out;
	}
	err = load_header(l, root);
	if (!err)
		err = load_strlist(l, root, "sys_path", session_add_sys_path);
	if (!err)
		err = load_strlist(l, root, "sys_prefixes", session_add_sys_prefix);
	if (!err)
		err = load_records(l, root);
out:
	cJSON_Delete(root);
	free(mangled);
	return err;
}

int session_load(const char *path, struct session **out, char *err, size_t errlen)
{
	char reason[256] = "";
	struct loader l = { .err = reason, .errlen = sizeof(reason) };
	char *text = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	l.s = session__new();
	if (!l.s) {
		ret = fail(&l, -ENOMEM, "out of memory");
		goto out;
	}
	ret = read_all(&l, path, &text, &len);
	if (!ret)
		ret = parse_text(&l, text, len);
out:
	free(text);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, reason);
		session__free(l.s);
		return ret;
	}
	*out = l.s;
	return 0;
}
