// SPDX-License-Identifier: MIT
/* Diagnostics carry names a target chose (its comm, paths): none may drive the terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* What log_msg writes to stderr for a message naming comm. */
static char *logged(const char *comm)
{
	char path[] = "/tmp/pyi-log-XXXXXX", *buf = calloc(1, 4096);
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);

	assert_true(fd >= 0 && buf);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	pr_err("process 42 (%s) is not a Python process", comm);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_true(pread(fd, buf, 4095, 0) > 0);
	close(fd);
	unlink(path);
	return buf;
}

static void test_log_escapes_terminal_controls(void **state)
{
	/* a comm set with prctl(PR_SET_NAME): ESC ] title BEL, a CSI, a newline */
	char *got = logged("\033]0;pwned\007\033[2J\nx\xc2\x9b");

	(void)state;
	assert_null(strchr(got, '\033'));
	assert_null(strchr(got, '\007'));
	assert_null(strstr(got, "\xc2\x9b"));
	assert_string_equal(got, "pyinst-bpf: process 42 (\\x1b]0;pwned\\x07\\x1b[2J\\x0ax\\xc2\\x9b)"
			    " is not a Python process\n");
	free(got);
}

static void test_log_escapes_bidi_overrides(void **state)
{
	/* U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LEFT-TO-RIGHT ISOLATE; é passes */
	char *got = logged("\xe2\x80\xae" "cod.exe\xe2\x81\xa6 caf\xc3\xa9");

	(void)state;
	assert_null(strstr(got, "\xe2\x80\xae"));
	assert_null(strstr(got, "\xe2\x81\xa6"));
	assert_non_null(strstr(got, "\\xe2\\x80\\xaecod.exe\\xe2\\x81\\xa6 caf\xc3\xa9)"));
	free(got);
}

/* What fn writes to stderr (a file here: not a terminal). */
static char *captured(void (*fn)(void))
{
	char path[] = "/tmp/pyi-log-XXXXXX", *buf = calloc(1, 8192);
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);

	assert_true(fd >= 0 && buf);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_true(pread(fd, buf, 8191, 0) >= 0);
	close(fd);
	unlink(path);
	return buf;
}

static void one_of_each(void)
{
	pr_err("e");
	pr_warn("w");
	pr_info("i");
	pr_debug("d");
	log_status(false, "live");	/* not a terminal: only the final status is written */
	log_status(true, "final");
}

static void expect_at(enum log_level level, const char *want)
{
	char *got;

	log_set_level(level);
	got = captured(one_of_each);
	log_set_level(LOG_WARN);
	assert_string_equal(got, want);
	free(got);
}

/* -q is LOG_ERROR, the default LOG_WARN, -v LOG_DEBUG: a level, checked here and only here. */
static void test_log_levels(void **state)
{
	(void)state;
	expect_at(LOG_ERROR, "pyinst-bpf: e\n");
	expect_at(LOG_WARN, "pyinst-bpf: e\npyinst-bpf: warning: w\npyinst-bpf: final\n");
	expect_at(LOG_DEBUG, "pyinst-bpf: e\npyinst-bpf: warning: w\npyinst-bpf: i\n"
		  "pyinst-bpf: d\npyinst-bpf: final\n");
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_WARN));
}

static void vtext(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vtext(level, "lib: ", fmt, ap);
	va_end(ap);
}

static void libbpf_like(void)
{
	/* a verifier log: several lines, tabs, an empty line, a control character */
	vtext(LOG_INFO, "%s", "-- BEGIN --\n0: (bf) r6 = r1\n\n; \tint x;\x1b[2J\n-- END --\n");
	vtext(LOG_DEBUG, "not shown at info level\n");
}

/* Library text (libbpf's messages) goes through the same path, a message per line. */
static void test_log_text_lines(void **state)
{
	char *got;

	(void)state;
	log_set_level(LOG_INFO);
	got = captured(libbpf_like);
	log_set_level(LOG_WARN);
	assert_string_equal(got, "pyinst-bpf: lib: -- BEGIN --\n"
			    "pyinst-bpf: lib: 0: (bf) r6 = r1\n"
			    "pyinst-bpf: lib: ;  int x;\\x1b[2J\n"
			    "pyinst-bpf: lib: -- END --\n");
	free(got);
	got = captured(libbpf_like);
	assert_string_equal(got, "");
	free(got);
}

/* Names kept in fields of their own (threads, tasks, types, command lines): controls become '?'
 * in place, UTF-8 and the rest pass, and nothing past len is touched. */
static void test_log_sanitize_controls(void **state)
{
	char name[] = "Worker\033[2J\x7f\tcaf\xc3\xa9\n\x01";

	(void)state;
	log_sanitize(name, strlen(name) - 1);
	assert_string_equal(name, "Worker?[2J??caf\xc3\xa9?\x01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_escapes_terminal_controls),
		cmocka_unit_test(test_log_escapes_bidi_overrides),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_log_text_lines),
		cmocka_unit_test(test_log_sanitize_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
