/* SPDX-License-Identifier: MIT */
/*
 * The HTML report's output (html_sink.c): the payload's JSON text is streamed, never held
 * whole. Payloads under HTML_JSON_LIMIT go out as JSON in a <script> element; larger ones
 * through deflate and base64. Errors latch in err: writers check it once, at the end.
 */
#ifndef PYINST_HTML_SINK_H
#define PYINST_HTML_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <zlib.h>

#define HTML_JSON_LIMIT (16 * 1024)	/* payloads under this stay greppable JSON */
#define HTML_CHUNK (64 * 1024)		/* JSON text handed to deflate at a time (buf's size) */

struct sink {
	FILE *out;
	char *buf;		/* JSON text not yet written */
	size_t len;
	bool deflating;
	bool zinit;
	int level;		/* deflate level */
	z_stream z;
	unsigned char rest[3];	/* deflate output waiting for a full base64 group */
	size_t nrest;
	int err;
};

void sink_write(struct sink *k, const char *p, size_t n);
/* The rest of the text, then the closing tag. */
void sink_finish(struct sink *k);

/* JSON values. Strings are kept inert inside <script> (\u003c for <, U+2028 escaped) and bytes
 * that are not UTF-8 become U+FFFD: the viewer reads them with JSON.parse. */
void sink_put(struct sink *k, const char *s);	/* raw text */
void sink_put_str(struct sink *k, const char *s, size_t n);
void sink_put_cstr(struct sink *k, const char *s);	/* NULL: "" */
void sink_put_int(struct sink *k, long long v);
/* Seconds with at most 6 decimals, trailing zeros trimmed: the bulk of a big payload. */
void sink_put_usec(struct sink *k, double v);
/* Header floats at full precision (Python's repr); JSON has no NaN or Infinity: 0. */
void sink_put_float(struct sink *k, double v);

#endif
