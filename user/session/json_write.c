// SPDX-License-Identifier: MIT
/*
 * JSON as Python's json.dumps writes it: repr() of floats and ensure_ascii strings. The
 * .pyisession writer and the renderers that write JSON like Python (json, speedscope) use it.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "utf8.h"

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
		n = utf8_decode(p, (size_t)(end - p), &cp);
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
