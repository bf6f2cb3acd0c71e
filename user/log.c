// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "utf8.h"

#define LOG_LINE_MAX 4096

static enum log_level current_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

bool log_unsafe_codepoint(uint32_t cp)
{
	/* C0 controls, DEL, C1 controls (ESC, CSI... drive a terminal) */
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return true;
	/* bidi embeddings, overrides and isolates reorder what is shown (CVE-2021-42574) */
	return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

size_t log_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + len;
	size_t n, o = 0;
	uint32_t cp;

	if (!dstlen)
		return 0;
	for (; p < end; p += n) {
		n = utf8_decode(p, (size_t)(end - p), &cp);
		if (n && !log_unsafe_codepoint(cp)) {
			if (o + n >= dstlen)
				break;
			for (size_t i = 0; i < n; i++)
				dst[o++] = (char)p[i];
			continue;
		}
		n = n ? n : 1;
		for (size_t i = 0; i < n; i++) {
			if (o + 4 >= dstlen)
				goto out;
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", p[i]);
		}
	}
out:
	dst[o] = '\0';
	return o;
}

void log_sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}

/*
 * Messages carry names a target chose (its comm, paths, a container's cgroup): escaped here,
 * once for every message, so none can drive the terminal.
 */
void log_msg(enum log_level level, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], safe[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_escape(safe, sizeof(safe), raw, (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1);
	fprintf(stderr, "pyinst-bpf: %s%s\n", level == LOG_WARN ? "warning: " : "", safe);
}
