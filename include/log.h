/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics go to stderr through here, and only here: ours, the collector's notices, libbpf's
 * messages (collect.c hands them over) and the status line. stdout carries reports only.
 * -q and -v are levels: -q shows errors only, -v everything down to LOG_DEBUG.
 */
#ifndef PYINST_LOG_H
#define PYINST_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* A message at level would be shown. */
bool log_enabled(enum log_level level);
/* A code point that must not reach a terminal raw: controls, and bidi overrides/isolates. */
bool log_unsafe_codepoint(uint32_t cp);
/* Copies len bytes of src into dst, unsafe code points and invalid UTF-8 as \xNN. */
size_t log_escape(char *dst, size_t dstlen, const char *src, size_t len);
/* Replaces the ASCII controls (C0 and DEL) in the len bytes at s with '?', in place: for names a
 * target chose (threads, tasks, types, command lines) kept in fields of their own. */
void log_sanitize(char *s, size_t len);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/*
 * Text of several lines from a library (libbpf's messages, the verifier's log): each line is
 * one message, after prefix ("libbpf: "), whatever its length.
 */
void log_vtext(enum log_level level, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/*
 * The status line, shown at LOG_WARN and above (not with -q): on a terminal redrawn in place
 * (final or not, and cleared before any other message), elsewhere only the final one.
 */
void log_status(bool final, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_status(final, ...) would show something (to skip gathering what it would say). */
bool log_status_enabled(bool final);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
