// SPDX-License-Identifier: MIT
/*
 * .pyisession import/export. Saving reproduces Python's json.dumps(session.to_json()) byte for
 * byte: keys in pyinstrument's order, ensure_ascii escapes, ", " and ": " separators, repr() of
 * floats, no trailing newline. Loading streams the mapped file (see below): memory grows with
 * distinct frames and stacks and 16 bytes per record, not with the size of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.h"

/* 2^53: larger sample counts cannot be held exactly in the double they are parsed into. */
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
	/*
	 * When some k <= 15 digits round-trip, v rounded to 15 digits is those digits and zeros:
	 * v is within half an ulp of them, less than half a unit of the 15th digit. So 15 digits
	 * first, then 16 and 17 (saves a dozen printf/strtod pairs per float: long sessions write
	 * millions). Subnormals have fewer significant bits: they take every precision in turn.
	 */
	for (prec = fabs(v) >= DBL_MIN ? 15 : 1; prec <= 17; prec++) {
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
 * (surrogateescape); decode_escape turns them back into the same bytes on load.
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

#define ORIGIN_KEY "pyinst_bpf"	/* struct session_origin */

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

/* Ours only (session.h): nothing when nothing is known, so pyinstrument's files round-trip. */
static void write_origin(FILE *out, const struct session_origin *o)
{
	const char *mode = session_mode_name(o->mode);

	if (!mode && !o->pid && o->lost_samples < 0)
		return;
	fprintf(out, "\"%s\": {", ORIGIN_KEY);
	if (mode)
		fprintf(out, "\"mode\": \"%s\"%s", mode, o->pid || o->lost_samples >= 0 ? ", " : "");
	if (o->pid)
		fprintf(out, "\"pid\": %d%s", o->pid, o->lost_samples >= 0 ? ", " : "");
	if (o->lost_samples >= 0)
		fprintf(out, "\"lost_samples\": %lld", (long long)o->lost_samples);
	fputs("}, ", out);
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
	write_origin(out, session_get_origin(s));
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

/*
 * Loading. The file is mapped and tokenized in one pass for this schema: no tree is built, header
 * keys may come in any order, unknown keys are skipped (validated, nested at most
 * MAX_NESTING deep), and each record's frames are interned as they are read. Consecutive records
 * usually share a stack prefix, so the previous record's frames are kept as their bytes in the
 * file: a frame written the same way as the previous record's at that depth reuses its stack
 * without decoding or hashing. One such cache per recent root frame (thread), as threads
 * interleave.
 */

#define MAX_NESTING 1000		/* cJSON's limit, which the old loader had */
#define DROP_BEHIND (4u << 20)		/* mapped bytes kept resident behind the cursor */
#define NPREFIX 16			/* prefix caches: one per thread root, recently used */

struct strvec {
	char **v;
	size_t n, cap;
};

/* A frame of the previous record: its JSON text (between the quotes) and the stack it ends. */
struct prefix_ent {
	const char *raw;
	size_t len;
	uint32_t stack;
};

/* The last stack read under one root frame (a thread, or a process after combine): samples of
 * several threads interleave, and each thread's next stack mostly shares a prefix with its last. */
struct prefix {
	struct prefix_ent *v;
	uint32_t n, cap;
	uint64_t used;			/* when it was last used, for replacement */
};

enum hdr_key {
	K_START_TIME, K_DURATION, K_MIN_INTERVAL, K_MAX_INTERVAL, K_SAMPLE_COUNT,
	K_START_CALL_STACK, K_TARGET_DESCRIPTION, K_CPU_TIME, K_SYS_PATH, K_SYS_PREFIXES,
	K_FRAME_RECORDS, K_ORIGIN, K_UNKNOWN,
};

static const char *const key_names[] = {
	"start_time", "duration", "min_interval", "max_interval", "sample_count",
	"start_call_stack", "target_description", "cpu_time", "sys_path", "sys_prefixes",
	"frame_records", ORIGIN_KEY,
};

struct loader {
	struct session *s;
	char *err;
	size_t errlen;
	const char *base, *p, *end;	/* the text and the cursor */
	size_t mapped;			/* mapping length, 0 when the text was read */
	size_t dropped;			/* bytes of the mapping released behind the cursor */
	char *buf;			/* a decoded string with escapes */
	size_t len, cap;
	struct prefix prefixes[NPREFIX];
	uint64_t nstacks;		/* stacks read so far: the clock of prefix.used */
	uint32_t seen;			/* 1 << enum hdr_key */
	double num[K_CPU_TIME + 1];	/* the numeric header fields */
	uint32_t start_stack;
	char *target;
	struct strvec lists[2];		/* sys_path, sys_prefixes */
	struct session_origin origin;
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

static int syntax_error(struct loader *l)
{
	return fail(l, -EINVAL, "not valid JSON (error near byte %zu)", (size_t)(l->p - l->base));
}

static void skip_ws(struct loader *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\n' || *l->p == '\r' || *l->p == '\t'))
		l->p++;
}

/* The next significant byte, or -1 at the end of the text. */
static int peek(struct loader *l)
{
	skip_ws(l);
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

static bool eat(struct loader *l, char c)
{
	if (peek(l) != (unsigned char)c)
		return false;
	l->p++;
	return true;
}

static int buf_append(struct loader *l, const char *src, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		char *nb;

		while (cap < l->len + n + 1)
			cap *= 2;
		nb = realloc(l->buf, cap);
		if (!nb)
			return fail(l, -ENOMEM, "out of memory");
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, src, n);
	l->len += n;
	return 0;
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

static size_t utf8_encode(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * One escape at p (a backslash) into out; returns the input length, 0 if malformed. Python's
 * json decodes lone surrogates and pyinstrument's strings can hold \udc80..\udcff, its
 * surrogateescape of an undecodable byte: that byte is restored. Other lone surrogates are
 * rejected, as before.
 */
static size_t decode_escape(const char *p, const char *end, char *out, size_t *n)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	long u, lo;

	if (end - p < 2)
		return 0;
	for (size_t i = 0; i < sizeof(simple) - 1; i += 2) {
		if (p[1] == simple[i]) {
			out[0] = simple[i + 1];
			*n = 1;
			return 2;
		}
	}
	u = escape_u4(p, end);
	if (u < 0)
		return 0;
	if (u >= 0xd800 && u <= 0xdbff) {
		lo = escape_u4(p + 6, end);
		if (lo < 0xdc00 || lo > 0xdfff)
			return 0;
		*n = utf8_encode(0x10000 + (uint32_t)((u - 0xd800) << 10) + (uint32_t)(lo - 0xdc00),
				 out);
		return 12;
	}
	if (u >= 0xdc80 && u <= 0xdcff) {
		out[0] = (char)(u & 0xff);
		*n = 1;
		return 6;
	}
	if (u >= 0xdc00 && u <= 0xdfff)
		return 0;
	*n = utf8_encode((uint32_t)u, out);
	return 6;
}

/* The string whose opening quote is at l->p: decoded into *str (the text itself when it has no
 * escape, else l->buf), its length in *len; the cursor moves past the closing quote. */
static int lex_string(struct loader *l, const char **str, size_t *len)
{
	const char *q = ++l->p, *run;
	char out[4];
	size_t used, n;

	while (q < l->end && *q != '"' && *q != '\\')
		q++;
	if (q < l->end && *q == '"') {
		*str = l->p;
		*len = (size_t)(q - l->p);
		l->p = q + 1;
		return 0;
	}
	l->len = 0;
	run = l->p;
	while (q < l->end && *q != '"') {
		if (*q != '\\') {
			q++;
			continue;
		}
		if (buf_append(l, run, (size_t)(q - run)))
			return -ENOMEM;
		used = decode_escape(q, l->end, out, &n);
		if (!used) {
			l->p = q;
			return syntax_error(l);
		}
		if (buf_append(l, out, n))
			return -ENOMEM;
		q += used;
		run = q;
	}
	if (q >= l->end) {
		l->p = q;
		return syntax_error(l);
	}
	if (buf_append(l, run, (size_t)(q - run)))
		return -ENOMEM;
	l->buf[l->len] = '\0';
	*str = l->buf;
	*len = l->len;
	l->p = q + 1;
	return 0;
}

static bool is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static bool starts_number(int c)
{
	return c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I';
}

static bool lex_word(struct loader *l, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(l->end - l->p) < n || memcmp(l->p, word, n))
		return false;
	l->p += n;
	return true;
}

/* Digits at *q into *mant while it stays exact; returns how many were dropped. */
static int lex_digits(const char **q, const char *end, uint64_t *mant, int *ndig)
{
	int dropped = 0;

	for (; is_digit(*q, end); (*q)++) {
		if (*ndig < 19) {
			*mant = *mant * 10 + (uint64_t)(**q - '0');
			*ndig += *mant != 0;
		} else {
			dropped++;
		}
	}
	return dropped;
}

/* strtod on a copy: the mapped text is not NUL-terminated. */
static int slow_number(struct loader *l, const char *start, size_t n, double *v)
{
	char local[64], *copy = n < sizeof(local) ? local : malloc(n + 1);

	if (!copy)
		return fail(l, -ENOMEM, "out of memory");
	memcpy(copy, start, n);
	copy[n] = '\0';
	*v = strtod(copy, NULL);
	if (copy != local)
		free(copy);
	return 0;
}

/*
 * A JSON number, or Python's NaN, Infinity and -Infinity. Up to 19 significant digits and a
 * small exponent are converted exactly (one correctly rounded operation on exact operands, as in
 * Clinger's fast path); anything else goes through strtod.
 */
static int lex_number(struct loader *l, double *v)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	const char *start = l->p, *q = l->p, *end = l->end;
	bool neg = q < end && *q == '-', eneg = false;
	uint64_t mant = 0;
	int ndig = 0, exp10 = 0, e = 0;

	q += neg;
	l->p = q;
	if (lex_word(l, "Infinity") || (!neg && lex_word(l, "NaN"))) {
		*v = start[neg] == 'N' ? NAN : neg ? -INFINITY : INFINITY;
		return 0;
	}
	if (!is_digit(q, end))
		return syntax_error(l);
	if (*q == '0')
		q++;
	else
		exp10 += lex_digits(&q, end, &mant, &ndig);
	if (q < end && *q == '.') {
		if (!is_digit(++q, end))
			goto bad;
		for (; is_digit(q, end); q++)
			if (ndig < 19) {
				mant = mant * 10 + (uint64_t)(*q - '0');
				ndig += mant != 0;
				exp10--;
			}
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			eneg = *q++ == '-';
		if (!is_digit(q, end))
			goto bad;
		for (; is_digit(q, end); q++)
			if (e < 100000)
				e = e * 10 + (*q - '0');
		exp10 += eneg ? -e : e;
	}
	l->p = q;
	if (mant <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
		*v = exp10 < 0 ? (double)mant / pow10[-exp10] : (double)mant * pow10[exp10];
		*v = neg ? -*v : *v;
		return 0;
	}
	return slow_number(l, start, (size_t)(q - start), v);
bad:
	l->p = q;
	return syntax_error(l);
}

/* Any JSON value, checked and skipped. */
static int skip_value(struct loader *l, int depth)
{
	const char *str;
	size_t len;
	double v;
	int c = peek(l);
	char close = c == '{' ? '}' : ']';

	if (c == '"')
		return lex_string(l, &str, &len);
	if (starts_number(c))
		return lex_number(l, &v);
	if (c != '{' && c != '[')
		return lex_word(l, "true") || lex_word(l, "false") || lex_word(l, "null") ?
			       0 : syntax_error(l);
	if (depth >= MAX_NESTING)
		return fail(l, -EINVAL, "not valid JSON (nested deeper than %d at byte %zu)",
			    MAX_NESTING, (size_t)(l->p - l->base));
	l->p++;
	if (eat(l, close))
		return 0;
	do {
		if (c == '{') {
			if (peek(l) != '"')
				return syntax_error(l);
			if (lex_string(l, &str, &len))
				return -EINVAL;
			if (!eat(l, ':'))
				return syntax_error(l);
		}
		if (skip_value(l, depth + 1))
			return -EINVAL;
	} while (eat(l, ','));
	return eat(l, close) ? 0 : syntax_error(l);
}

/* A value of the wrong type: the error is about the type once the value is known to be JSON. */
static int type_error(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int type_error(struct loader *l, const char *fmt, ...)
{
	va_list ap;

	if (skip_value(l, 0))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The frame at the cursor when it is written as the previous stack's frame e was. */
static bool prefix_match(struct loader *l, const struct prefix_ent *e)
{
	const char *q = l->p + 1;

	if ((size_t)(l->end - q) <= e->len || q[e->len] != '"' || memcmp(q, e->raw, e->len))
		return false;
	l->p = q + e->len + 1;
	return true;
}

static int prefix_store(struct loader *l, struct prefix *c, uint32_t d, const char *raw,
			uint32_t stack)
{
	if (d >= c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 64;
		struct prefix_ent *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return fail(l, -ENOMEM, "out of memory");
		c->v = v;
		c->cap = cap;
	}
	/* raw is the opening quote; the closing one is just before the cursor */
	c->v[d] = (struct prefix_ent){ raw + 1, (size_t)(l->p - raw - 2), stack };
	return 0;
}

/* The cache whose root frame is the one at the cursor, else the least recently used (emptied). */
static struct prefix *prefix_pick(struct loader *l)
{
	struct prefix *c, *lru = &l->prefixes[0];

	l->nstacks++;
	for (c = l->prefixes; c < l->prefixes + NPREFIX; c++) {
		if (c->n && prefix_match(l, &c->v[0])) {
			l->p -= c->v[0].len + 2;	/* matched again below, as depth 0 */
			break;
		}
		if (c->used < lru->used)
			lru = c;
	}
	if (c == l->prefixes + NPREFIX) {
		c = lru;
		c->n = 0;
	}
	c->used = l->nstacks;
	return c;
}

/* A list of frame_info strings, root first, interned as one stack. */
static int load_stack(struct loader *l, const char *what, size_t idx, uint32_t *stack)
{
	uint32_t st = SESSION_NO_STACK, depth = 0, frame;
	struct prefix *c = NULL;
	bool same = true;
	const char *raw, *str;
	size_t len;

	if (peek(l) != '[')
		return type_error(l, "%s[%zu]: expected a list of frames", what, idx);
	l->p++;
	if (eat(l, ']'))
		goto out;
	do {
		if (peek(l) != '"')
			return type_error(l, "%s[%zu]: frame %u is not a string", what, idx, depth);
		if (depth == SESSION_MAX_DEPTH)
			return fail(l, -EINVAL, "%s[%zu]: stack deeper than %d frames", what, idx,
				    SESSION_MAX_DEPTH);
		if (!c)
			c = prefix_pick(l);
		if (same && depth < c->n && prefix_match(l, &c->v[depth])) {
			st = c->v[depth++].stack;
			continue;
		}
		same = false;
		raw = l->p;
		if (lex_string(l, &str, &len))
			return -EINVAL;
		frame = session_intern_frame(l->s, str, len);
		if (frame == SESSION_NO_FRAME)
			return fail(l, -ENOMEM, "out of memory");
		st = session_stack_push(l->s, st, frame);
		if (prefix_store(l, c, depth++, raw, st))
			return -ENOMEM;
	} while (eat(l, ','));
	if (!eat(l, ']'))
		return syntax_error(l);
out:
	if (c)
		c->n = depth;
	if (session_error(l->s))
		return fail(l, session_error(l->s), "out of memory");
	*stack = st;
	return 0;
}

/* Gives back the mapped pages the cursor has left behind: RSS stays flat on big files. A frame
 * of the prefix cache that lies there is only read again from the page cache. */
static void drop_behind(struct loader *l)
{
	size_t pos = (size_t)(l->p - l->base), page = 4096;

	if (!l->mapped || pos - l->dropped < 2 * DROP_BEHIND)
		return;
	pos = (pos - DROP_BEHIND) & ~(page - 1);
	madvise((char *)l->base + l->dropped, pos - l->dropped, MADV_DONTNEED);
	l->dropped = pos;
}

/* [[frame, ...], time] */
static int load_record(struct loader *l, size_t i)
{
	uint32_t stack;
	double w;
	int err;

	if (peek(l) != '[')
		return type_error(l, "frame_records[%zu]: expected [stack, time]", i);
	l->p++;
	if (peek(l) == ']')
		return fail(l, -EINVAL, "frame_records[%zu]: expected [stack, time]", i);
	if ((err = load_stack(l, "frame_records", i, &stack)))
		return err;
	if (!eat(l, ','))
		return peek(l) == ']' ?
			fail(l, -EINVAL, "frame_records[%zu]: expected [stack, time]", i) :
			syntax_error(l);
	if (!starts_number(peek(l)))
		return type_error(l, "frame_records[%zu]: time is not a finite number", i);
	if (lex_number(l, &w))
		return -EINVAL;
	if (!isfinite(w))
		return fail(l, -EINVAL, "frame_records[%zu]: time is not a finite number", i);
	if (!eat(l, ']'))
		return peek(l) == ',' ?
			fail(l, -EINVAL, "frame_records[%zu]: expected [stack, time]", i) :
			syntax_error(l);
	if (session_add_record(l->s, stack, w))
		return fail(l, -ENOMEM, "out of memory");
	return 0;
}

static int load_records(struct loader *l)
{
	size_t i = 0;
	int err;

	/* Python keeps the last of duplicate keys; records already added cannot be taken back */
	if (l->seen & (1u << K_FRAME_RECORDS))
		return fail(l, -EINVAL, "duplicate key \"frame_records\"");
	if (peek(l) != '[')
		return type_error(l, "\"frame_records\" is not a list");
	l->p++;
	if (eat(l, ']'))
		return 0;
	do {
		if ((err = load_record(l, i++)))
			return err;
		if (!(i & 4095))
			drop_behind(l);
	} while (eat(l, ','));
	return eat(l, ']') ? 0 : syntax_error(l);
}

static void strvec_clear(struct strvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	v->n = 0;
}

/* A string as a C string: like the old loader, an embedded NUL ends it. */
static char *dup_string(const char *str, size_t len)
{
	return strndup(str, len);
}

static int load_strlist(struct loader *l, const char *key, struct strvec *v)
{
	const char *str;
	size_t len;

	if (peek(l) != '[')
		return type_error(l, "\"%s\" is not a list", key);
	l->p++;
	strvec_clear(v);	/* the last of duplicate keys wins */
	if (eat(l, ']'))
		return 0;
	do {
		if (peek(l) != '"')
			return type_error(l, "\"%s\" holds a non-string", key);
		if (lex_string(l, &str, &len))
			return -EINVAL;
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 8;
			char **nv = realloc(v->v, cap * sizeof(*nv));

			if (!nv)
				return fail(l, -ENOMEM, "out of memory");
			v->v = nv;
			v->cap = cap;
		}
		v->v[v->n] = dup_string(str, len);
		if (!v->v[v->n++])
			return fail(l, -ENOMEM, "out of memory");
	} while (eat(l, ','));
	return eat(l, ']') ? 0 : syntax_error(l);
}

/* start_time, duration, min_interval, max_interval, sample_count and cpu_time. Round-trip limit:
 * numbers are held as doubles, so a header number written as an int ("cpu_time": 0, which
 * pyinstrument itself writes after loading a null) is saved back as a float ("0.0"). */
static int load_number(struct loader *l, enum hdr_key k)
{
	const char *key = key_names[k];
	double v;

	if (k == K_CPU_TIME && peek(l) == 'n' && lex_word(l, "null")) {
		l->num[k] = 0;	/* null means 0, as in Session.from_json */
		return 0;
	}
	if (!starts_number(peek(l)))
		return k == K_SAMPLE_COUNT ? type_error(l, "\"%s\" is not a count", key) :
					     type_error(l, "\"%s\" is not a number", key);
	if (lex_number(l, &v))
		return -EINVAL;
	if (k == K_SAMPLE_COUNT && (!(v >= 0) || v > MAX_EXACT_INT || v != floor(v)))
		return fail(l, -EINVAL, "\"%s\" is not a count", key);
	if (!isfinite(v))
		return fail(l, -EINVAL, "\"%s\" is not a finite number", key);
	l->num[k] = v;
	return 0;
}

/*
 * One member of "pyinst_bpf": a mode name, a pid, a count. pyinstrument ignores the key: what
 * is not one of these (another type, out of range, another name) is valid JSON skipped.
 */
static int load_origin_member(struct loader *l, const char *key, size_t keylen)
{
	struct session_origin *o = &l->origin;
	bool pid = keylen == 3 && !memcmp(key, "pid", 3);
	const char *str;
	size_t len;
	double v;
	int err;

	if (keylen == 4 && !memcmp(key, "mode", 4) && peek(l) == '"') {
		if ((err = lex_string(l, &str, &len)))
			return err;
		o->mode = session_mode_of(str, len);
		return 0;
	}
	if ((pid || (keylen == 12 && !memcmp(key, "lost_samples", 12))) &&
	    starts_number(peek(l))) {
		if (lex_number(l, &v))
			return -EINVAL;
		if (v != floor(v) || v < (pid ? 1 : 0) || v > (pid ? INT_MAX : MAX_EXACT_INT))
			return 0;
		if (pid)
			o->pid = (int)v;
		else
			o->lost_samples = (int64_t)v;
		return 0;
	}
	return skip_value(l, 2);
}

static int load_origin(struct loader *l)
{
	const char *str;
	char key[16];
	size_t len;
	int err;

	l->origin = (struct session_origin){ .lost_samples = -1 };	/* the last one wins */
	if (peek(l) != '{')
		return skip_value(l, 1);
	l->p++;
	if (eat(l, '}'))
		return 0;
	do {
		if (peek(l) != '"')
			return syntax_error(l);
		if ((err = lex_string(l, &str, &len)))
			return err;
		/* the key is copied: lex_string's buffer is reused by the value */
		if (len >= sizeof(key))
			len = sizeof(key) - 1;
		memcpy(key, str, len);
		if (!eat(l, ':'))
			return syntax_error(l);
		if ((err = load_origin_member(l, key, len)))
			return err;
	} while (eat(l, ','));
	return eat(l, '}') ? 0 : syntax_error(l);
}

static int load_member(struct loader *l, enum hdr_key k)
{
	const char *str;
	size_t len;
	int err;

	switch (k) {
	case K_START_CALL_STACK:
		return load_stack(l, "start_call_stack", 0, &l->start_stack);
	case K_TARGET_DESCRIPTION:
		if (peek(l) != '"')
			return type_error(l, "\"target_description\" is not a string");
		if ((err = lex_string(l, &str, &len)))
			return err;
		free(l->target);
		l->target = dup_string(str, len);
		return l->target ? 0 : fail(l, -ENOMEM, "out of memory");
	case K_SYS_PATH:
	case K_SYS_PREFIXES:
		return load_strlist(l, key_names[k], &l->lists[k - K_SYS_PATH]);
	case K_FRAME_RECORDS:
		return load_records(l);
	case K_ORIGIN:
		return load_origin(l);
	case K_UNKNOWN:
		return skip_value(l, 1);
	default:
		return load_number(l, k);
	}
}

static enum hdr_key key_of(const char *str, size_t len)
{
	for (int k = 0; k < K_UNKNOWN; k++)
		if (strlen(key_names[k]) == len && !memcmp(key_names[k], str, len))
			return (enum hdr_key)k;
	return K_UNKNOWN;
}

/* Session.from_json's required keys, then the header into the session. */
static int finish(struct loader *l)
{
	static const enum hdr_key required[] = {
		K_START_TIME, K_DURATION, K_CPU_TIME, K_SAMPLE_COUNT, K_TARGET_DESCRIPTION,
		K_START_CALL_STACK, K_FRAME_RECORDS,
	};
	struct session *s = l->s;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(l->seen & (1u << required[i])))
			return fail(l, -EINVAL, "missing key \"%s\"", key_names[required[i]]);
	if (session_set_target_description(s, l->target))
		return fail(l, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->lists[0].n; i++)
		if (session_add_sys_path(s, l->lists[0].v[i]))
			return fail(l, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->lists[1].n; i++)
		if (session_add_sys_prefix(s, l->lists[1].v[i]))
			return fail(l, -ENOMEM, "out of memory");
	session_set_start_call_stack(s, l->start_stack);
	session_set_times(s, l->num[K_START_TIME], l->num[K_DURATION]);
	session_set_interval(s, l->num[K_MIN_INTERVAL], l->num[K_MAX_INTERVAL]);
	session_set_cpu_time(s, l->num[K_CPU_TIME]);
	session_set_sample_count(s, (uint64_t)l->num[K_SAMPLE_COUNT]);
	if (l->seen & (1u << K_ORIGIN))
		session_set_origin(s, &l->origin);
	return 0;
}

/* The top-level object, one member at a time. */
static int parse_text(struct loader *l)
{
	const char *str;
	size_t len;
	enum hdr_key k;
	int err;

	if (peek(l) != '{') {
		if (skip_value(l, 0))
			return -EINVAL;
		return peek(l) < 0 ? fail(l, -EINVAL, "not a JSON object") : syntax_error(l);
	}
	l->p++;
	if (!eat(l, '}')) {
		do {
			if (peek(l) != '"')
				return syntax_error(l);
			if ((err = lex_string(l, &str, &len)))
				return err;
			k = key_of(str, len);
			if (!eat(l, ':'))
				return syntax_error(l);
			if ((err = load_member(l, k)))
				return err;
			if (k != K_UNKNOWN)
				l->seen |= 1u << k;
		} while (eat(l, ','));
		if (!eat(l, '}'))
			return syntax_error(l);
	}
	/* Python's json rejects anything but whitespace after the value */
	if (peek(l) >= 0)
		return syntax_error(l);
	return finish(l);
}

/* Files the kernel sizes as 0 (procfs and the like): the whole text in memory, bounded. */
static int read_fd(struct loader *l, int fd, char **out, size_t *outlen)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = NULL, *nb;
	ssize_t n;

	for (;;) {
		if (buf && len == cap && cap >= SESSION_LOAD_MAX)
			return free(buf), fail(l, -EFBIG, "larger than %llu bytes",
					       (unsigned long long)SESSION_LOAD_MAX);
		if (!buf || len == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return fail(l, -ENOMEM, "out of memory");
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return fail(l, -EIO, "read error: %s", strerror(errno));
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Maps a regular file (read when the kernel says it is empty). *owned is the buffer to free
 * when it was read. Anything but a regular file of at most SESSION_LOAD_MAX bytes is refused
 * before a byte is read: --load needs no privileges and may be given an upload.
 */
static int open_text(struct loader *l, const char *path, char **owned)
{
	struct stat st;
	size_t len = 0;
	void *map;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return fail(l, -errno, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(l, -EINVAL, "not a regular file");
	}
	if ((uint64_t)st.st_size > SESSION_LOAD_MAX) {
		close(fd);
		return fail(l, -EFBIG, "larger than %llu bytes",
			    (unsigned long long)SESSION_LOAD_MAX);
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
			l->base = map;
			l->mapped = (size_t)st.st_size;
			l->end = l->base + l->mapped;
			goto out;
		}
	}
	err = read_fd(l, fd, owned, &len);
	l->base = *owned ? *owned : "";
	l->end = l->base + len;
out:
	l->p = l->base;
	close(fd);
	return err;
}

static void loader_release(struct loader *l, char *owned)
{
	if (l->mapped)
		munmap((void *)l->base, l->mapped);
	free(owned);
	free(l->buf);
	for (int i = 0; i < NPREFIX; i++)
		free(l->prefixes[i].v);
	free(l->target);
	for (int i = 0; i < 2; i++) {
		strvec_clear(&l->lists[i]);
		free(l->lists[i].v);
	}
}

int session_load(const char *path, struct session **out, char *err, size_t errlen)
{
	char reason[256] = "", *owned = NULL;
	struct loader l = {
		.err = reason, .errlen = sizeof(reason), .start_stack = SESSION_NO_STACK,
		.num = { [K_MIN_INTERVAL] = 0.001, [K_MAX_INTERVAL] = 0.001 },
	};
	int ret;

	*out = NULL;
	l.s = session__new();
	if (!l.s) {
		ret = fail(&l, -ENOMEM, "out of memory");
		goto out;
	}
	ret = open_text(&l, path, &owned);
	if (!ret)
		ret = parse_text(&l);
out:
	loader_release(&l, owned);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, reason);
		session__free(l.s);
		return ret;
	}
	*out = l.s;
	return 0;
}
