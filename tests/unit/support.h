/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' support library (tests/unit/support.c, built once and linked by the tests that
 * use it): the pyinstrument samples and goldens (env PYI_SAMPLES, tests/data), rendering into
 * memory or a file, a session with hostile names, the interpreters installed here, hex input.
 * The helpers assert with cmocka: call them from inside a test.
 */
#ifndef PYINST_TEST_SUPPORT_H
#define PYINST_TEST_SUPPORT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "render.h"
#include "session.h"

typedef int (*render_fn)(struct session *s, const struct render_opts *o, FILE *out);

/* Samples and goldens */
/* The path of a file of the samples directory (to free). */
char *samples_path(const char *name);
/* A whole file (to free), NUL-terminated; *len excludes the NUL. NULL if it cannot be opened. */
char *read_whole(const char *path, size_t *len);
/* A file of the samples directory; it must exist. */
char *read_sample(const char *name, size_t *len);
/* A session of the samples directory; it must load. */
struct session *load_sample(const char *name);
/* Fails, showing what was rendered, unless got is byte for byte the golden file's text. */
void assert_golden(const char *golden, const char *want, size_t want_len, const char *got,
		   size_t got_len);

/* Rendering */
/* Renders with default options into a buffer (NUL-terminated; *len excludes the NUL). */
char *render_to_buf(render_fn fn, struct session *s, size_t *len, int *ret);
/* Writes buf to a fresh temporary file; returns its path (to unlink and free). */
char *write_temp(const char *buf, size_t len, const char *suffix);
/* Renders with default options into a fresh temporary file; returns its path. */
char *render_to_temp(render_fn fn, struct session *s, const char *suffix);
/*
 * One frame holding every kind of hostile byte (NUL, newline, ';', quotes, backslash, an ANSI
 * escape, a C1 control, bytes that are not UTF-8) in the function, the file and the class name,
 * under a thread root, plus an [await] leaf; a hostile target description.
 */
struct session *hostile_session(void);
/* A group setup: local time is UTC, as when the samples were recorded. */
int setup_utc(void **state);

/* Interpreters */
/* One interpreter under test: pyenv's newest 3.<minor>.* or a system path. */
struct test_python {
	const char *label;	/* "pyenv 3.11", "/usr/bin/python3.11" */
	int minor;
	const char *fixed;	/* a system path, or NULL for pyenv */
	char path[PATH_MAX];	/* filled by test_python_find */
};

/* Fills py->path; 0 when the interpreter exists. */
int test_python_find(struct test_python *py);
/*
 * The output of tests/data/<script> (under env PYI_SOURCE_ROOT) run by the interpreter, to
 * pclose; skips the test when the interpreter is not installed.
 */
FILE *run_truth_script(struct test_python *py, const char *script);

#define TEST_PYTHONS_INIT { \
	{ "pyenv 3.6", 6, NULL, "" }, { "pyenv 3.7", 7, NULL, "" }, \
	{ "pyenv 3.8", 8, NULL, "" }, { "pyenv 3.9", 9, NULL, "" }, \
	{ "pyenv 3.10", 10, NULL, "" }, { "pyenv 3.11", 11, NULL, "" }, \
	{ "pyenv 3.12", 12, NULL, "" }, { "pyenv 3.13", 13, NULL, "" }, \
	{ "/usr/bin/python3.11", 11, "/usr/bin/python3.11", "" }, \
}

/* Hex text to bytes, at most cap, up to the first pair that is not hex; "-" is no bytes. */
size_t unhex(const char *s, uint8_t *out, size_t cap);

#endif /* PYINST_TEST_SUPPORT_H */
