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
		cmocka_unit_test(test_log_sanitize_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
