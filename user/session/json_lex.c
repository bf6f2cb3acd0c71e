// SPDX-License-Identifier: MIT
/*
 * A JSON tokenizer over text in memory (json_lex.h): values are read where they stand, strings
 * are decoded only when they hold escapes. It accepts what Python's json module accepts, NaN and
 * Infinity included, and says where the text stops being JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "json_lex.h"
#include "utf8.h"

#define MAX_NESTING 1000		/* cJSON's limit, which the old loader had */

int json_fail(struct json_lex *l, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	return ret;
}

int json_syntax_error(struct json_lex *l)
{
	return json_fail(l, -EINVAL, "not valid JSON (error near byte %zu)",
			 (size_t)(l->p - l->base));
}

static int buf_append(struct json_lex *l, const char *src, size_t n)
{
	if (array_reserve(&l->buf, &l->cap, l->len + n + 1, 1))
		return json_fail(l, -ENOMEM, "out of memory");
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
int json_lex_string(struct json_lex *l, const char **str, size_t *len)
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
			return json_syntax_error(l);
		}
		if (buf_append(l, out, n))
			return -ENOMEM;
		q += used;
		run = q;
	}
	if (q >= l->end) {
		l->p = q;
		return json_syntax_error(l);
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

bool json_lex_word(struct json_lex *l, const char *word)
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
static int slow_number(struct json_lex *l, const char *start, size_t n, double *v)
{
	char local[64], *copy = n < sizeof(local) ? local : malloc(n + 1);

	if (!copy)
		return json_fail(l, -ENOMEM, "out of memory");
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
int json_lex_number(struct json_lex *l, double *v)
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
	if (json_lex_word(l, "Infinity") || (!neg && json_lex_word(l, "NaN"))) {
		*v = start[neg] == 'N' ? NAN : neg ? -INFINITY : INFINITY;
		return 0;
	}
	if (!is_digit(q, end))
		return json_syntax_error(l);
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
	return json_syntax_error(l);
}

/* Any JSON value, checked and skipped. */
int json_skip_value(struct json_lex *l, int depth)
{
	const char *str;
	size_t len;
	double v;
	int c = json_peek(l);
	char close = c == '{' ? '}' : ']';

	if (c == '"')
		return json_lex_string(l, &str, &len);
	if (json_starts_number(c))
		return json_lex_number(l, &v);
	if (c != '{' && c != '[')
		return json_lex_word(l, "true") || json_lex_word(l, "false") ||
			       json_lex_word(l, "null") ?
			       0 : json_syntax_error(l);
	if (depth >= MAX_NESTING)
		return json_fail(l, -EINVAL, "not valid JSON (nested deeper than %d at byte %zu)",
			    MAX_NESTING, (size_t)(l->p - l->base));
	l->p++;
	if (json_eat(l, close))
		return 0;
	do {
		if (c == '{') {
			if (json_peek(l) != '"')
				return json_syntax_error(l);
			if (json_lex_string(l, &str, &len))
				return -EINVAL;
			if (!json_eat(l, ':'))
				return json_syntax_error(l);
		}
		if (json_skip_value(l, depth + 1))
			return -EINVAL;
	} while (json_eat(l, ','));
	return json_eat(l, close) ? 0 : json_syntax_error(l);
}

/* A value of the wrong type: the error is about the type once the value is known to be JSON. */
int json_type_error(struct json_lex *l, const char *fmt, ...)
{
	va_list ap;

	if (json_skip_value(l, 0))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}


void json_lex_release(struct json_lex *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}
