// SPDX-License-Identifier: MIT
/*
 * Where the HTML report's payload goes (html_sink.h): JSON text, then either as is or through
 * deflate (zlib wrapper) and base64 as it is produced; and the JSON values it is made of.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "html_sink.h"
#include "session.h"
#include "utf8.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_group(const unsigned char *in, size_t n, char *out)
{
	uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0) |
		     (n > 2 ? in[2] : 0);

	out[0] = b64[v >> 18];
	out[1] = b64[(v >> 12) & 63];
	out[2] = n > 1 ? b64[(v >> 6) & 63] : '=';
	out[3] = n > 2 ? b64[v & 63] : '=';
}

/* Base64 of deflate's output; a partial group waits in k->rest for the next call. */
static void sink_b64(struct sink *k, const unsigned char *p, size_t n)
{
	char out[4096];
	size_t o = 0;

	while (k->nrest && k->nrest < 3 && n) {
		k->rest[k->nrest++] = *p++;
		n--;
	}
	if (k->nrest == 3) {
		b64_group(k->rest, 3, out);
		o = 4;
		k->nrest = 0;
	}
	for (; n >= 3; p += 3, n -= 3) {
		b64_group(p, 3, out + o);
		o += 4;
		if (o == sizeof(out)) {
			fwrite(out, 1, o, k->out);
			o = 0;
		}
	}
	fwrite(out, 1, o, k->out);
	memcpy(k->rest + k->nrest, p, n);
	k->nrest += n;
}

static void sink_deflate(struct sink *k, const char *p, size_t n, int flush)
{
	unsigned char out[HTML_CHUNK];
	int ret;

	k->z.next_in = (unsigned char *)p;
	k->z.avail_in = (uInt)n;
	do {
		k->z.next_out = out;
		k->z.avail_out = sizeof(out);
		ret = deflate(&k->z, flush);
		if (ret == Z_STREAM_ERROR) {
			k->err = -EIO;
			return;
		}
		sink_b64(k, out, sizeof(out) - k->z.avail_out);
	} while (k->z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
}

static void sink_open_element(struct sink *k, const char *encoding)
{
	fprintf(k->out, "<script type=\"application/octet-stream\" id=\"pyi-data\" "
		"data-encoding=\"%s\">", encoding);
}

static void sink_start_deflate(struct sink *k)
{
	if (deflateInit(&k->z, k->level) != Z_OK) {
		k->err = -ENOMEM;
		return;
	}
	k->zinit = true;
	k->deflating = true;
	sink_open_element(k, "deflate-base64");
}

void sink_write(struct sink *k, const char *p, size_t n)
{
	if (k->err)
		return;
	if (k->len + n > HTML_CHUNK) {
		if (!k->deflating)
			sink_start_deflate(k);
		if (k->err)
			return;
		sink_deflate(k, k->buf, k->len, Z_NO_FLUSH);
		k->len = 0;
		if (n > HTML_CHUNK) {
			sink_deflate(k, p, n, Z_NO_FLUSH);
			return;
		}
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

void sink_finish(struct sink *k)
{
	char out[4];

	if (k->err)
		return;
	if (!k->deflating && k->len >= HTML_JSON_LIMIT)
		sink_start_deflate(k);
	if (k->err)
		return;
	if (k->deflating) {
		sink_deflate(k, k->buf, k->len, Z_FINISH);
		if (k->nrest) {
			b64_group(k->rest, k->nrest, out);
			fwrite(out, 1, 4, k->out);
		}
	} else {
		sink_open_element(k, "json");
		fwrite(k->buf, 1, k->len, k->out);
	}
	fputs("</script>", k->out);
}

void sink_put(struct sink *k, const char *s)
{
	sink_write(k, s, strlen(s));
}

/*
 * One character of a JSON string into out (room for 6 bytes): escapes that keep the text inert
 * inside <script>, U+FFFD for bytes that are not UTF-8. Returns bytes written; *used: consumed.
 */
static size_t put_char(const unsigned char *p, size_t n, char *out, size_t *used)
{
	uint32_t cp;
	size_t len;

	*used = 1;
	if (*p == '"' || *p == '\\') {
		out[0] = '\\';
		out[1] = (char)*p;
		return 2;
	}
	if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
		return (size_t)sprintf(out, "\\u%04x", *p);
	if (*p < 0x80) {
		out[0] = (char)*p;
		return 1;
	}
	len = utf8_decode(p, n, &cp);
	if (!len) {
		memcpy(out, "\xef\xbf\xbd", 3);
		return 3;
	}
	*used = len;
	if (cp == 0x2028 || cp == 0x2029)
		return (size_t)sprintf(out, "\\u%04x", cp);
	memcpy(out, p, len);
	return len;
}

void sink_put_str(struct sink *k, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char buf[256];
	size_t o = 0, used;

	buf[o++] = '"';
	while (p < end) {
		if (o > sizeof(buf) - 8) {
			sink_write(k, buf, o);
			o = 0;
		}
		o += put_char(p, (size_t)(end - p), buf + o, &used);
		p += used;
	}
	buf[o++] = '"';
	sink_write(k, buf, o);
}

void sink_put_cstr(struct sink *k, const char *s)
{
	sink_put_str(k, s ? s : "", s ? strlen(s) : 0);
}

void sink_put_int(struct sink *k, long long v)
{
	char buf[24];

	sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", v));
}

/* Seconds with at most 6 decimals, trailing zeros trimmed: the bulk of a big payload. */
void sink_put_usec(struct sink *k, double v)
{
	char buf[40];
	long long us, whole;
	int n, frac;

	if (!isfinite(v) || fabs(v) > 9e12) {
		sink_put(k, isfinite(v) ? (v > 0 ? "9e12" : "-9e12") : "0");
		return;
	}
	us = llround(v * 1e6);
	if (us < 0) {
		sink_put(k, "-");
		us = -us;
	}
	whole = us / 1000000;
	frac = (int)(us % 1000000);
	if (!frac) {
		sink_put_int(k, whole);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%lld.%06d", whole, frac);
	while (buf[n - 1] == '0')
		n--;
	sink_write(k, buf, (size_t)n);
}

/* Header floats at full precision (Python's repr); JSON has no NaN or Infinity. */
void sink_put_float(struct sink *k, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		sink_put(k, "0");
		return;
	}
	sink_write(k, buf, session_format_float(v, buf, sizeof(buf)));
}
