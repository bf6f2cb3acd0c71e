// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

bool log_enabled(enum log_level level)
{
	return level <= current_level;
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

/* A status line drawn on a terminal and not ended: the next message clears it first. */
static bool status_shown;

static void clear_status(void)
{
	if (status_shown)
		fputs("\r\033[K", stderr);
	status_shown = false;
}

static void emit(enum log_level level, const char *prefix, const char *raw, size_t len)
{
	char safe[LOG_LINE_MAX];

	log_escape(safe, sizeof(safe), raw, len < LOG_LINE_MAX ? len : LOG_LINE_MAX - 1);
	clear_status();
	fprintf(stderr, "pyinst-bpf: %s%s%s\n", level == LOG_WARN ? "warning: " : "", prefix, safe);
}

/*
 * Messages carry names a target chose (its comm, paths, a container's cgroup): escaped here,
 * once for every message, so none can drive the terminal.
 */
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX];
	int n;

	if (!log_enabled(level))
		return;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	emit(level, "", raw, (size_t)n);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_vtext(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char *text, *line, *end;

	if (!log_enabled(level) || vasprintf(&text, fmt, ap) < 0)
		return;
	/* a verifier log is indented with tabs, which are harmless: a space each, not \x09 */
	for (line = text; *line; line++)
		if (*line == '\t')
			*line = ' ';
	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (end > line)
			emit(level, prefix, line, (size_t)(end - line));
	}
	free(text);
}

bool log_status_enabled(bool final)
{
	return log_enabled(LOG_WARN) && (final || isatty(STDERR_FILENO));
}

void log_status(bool final, const char *fmt, ...)
{
	bool tty = isatty(STDERR_FILENO);
	char line[LOG_LINE_MAX];
	va_list ap;

	if (!log_status_enabled(final))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%spyinst-bpf: %s%s", tty ? "\r\033[K" : "", line, final ? "\n" : "");
	status_shown = tty && !final;
}
