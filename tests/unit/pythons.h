/* SPDX-License-Identifier: MIT */
/* Test helper: the CPython interpreters installed here, by minor version. */
#ifndef PYINST_TEST_PYTHONS_H
#define PYINST_TEST_PYTHONS_H

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One interpreter under test: pyenv's newest 3.<minor>.* or a system path. */
struct test_python {
	const char *label;	/* "pyenv 3.11", "/usr/bin/python3.11" */
	int minor;
	const char *fixed;	/* a system path, or NULL for pyenv */
	char path[PATH_MAX];	/* filled by test_python_find */
};

static inline const char *test_pyenv_root(void)
{
	static char buf[PATH_MAX];
	const char *r = getenv("PYENV_ROOT");

	if (r && *r)
		return r;
	if (snprintf(buf, sizeof(buf), "%s/.pyenv", getenv("HOME") ? getenv("HOME") : "/root") >=
	    (int)sizeof(buf))
		return "/nonexistent";
	return buf;
}

/* Fills py->path; 0 when the interpreter exists. */
static inline int test_python_find(struct test_python *py)
{
	char pattern[PATH_MAX];
	glob_t g;
	int rc = -1;

	if (py->fixed) {
		snprintf(py->path, sizeof(py->path), "%s", py->fixed);
		return access(py->path, X_OK) ? -1 : 0;
	}
	if (snprintf(pattern, sizeof(pattern), "%s/versions/3.%d.*/bin/python3",
		     test_pyenv_root(), py->minor) >= (int)sizeof(pattern))
		return -1;
	if (glob(pattern, 0, NULL, &g))
		return -1;
	/* glob sorts; the patch level is not zero-padded, so take the longest-then-last name */
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (rc && access(g.gl_pathv[i], X_OK) == 0) {
			snprintf(py->path, sizeof(py->path), "%s", g.gl_pathv[i]);
			rc = 0;
		} else if (access(g.gl_pathv[i], X_OK) == 0 &&
			   (strlen(g.gl_pathv[i]) > strlen(py->path) ||
			    (strlen(g.gl_pathv[i]) == strlen(py->path) &&
			     strcmp(g.gl_pathv[i], py->path) > 0))) {
			snprintf(py->path, sizeof(py->path), "%s", g.gl_pathv[i]);
		}
	}
	globfree(&g);
	return rc;
}

#define TEST_PYTHONS_INIT { \
	{ "pyenv 3.6", 6, NULL, "" }, { "pyenv 3.7", 7, NULL, "" }, \
	{ "pyenv 3.8", 8, NULL, "" }, { "pyenv 3.9", 9, NULL, "" }, \
	{ "pyenv 3.10", 10, NULL, "" }, { "pyenv 3.11", 11, NULL, "" }, \
	{ "pyenv 3.12", 12, NULL, "" }, { "pyenv 3.13", 13, NULL, "" }, \
	{ "/usr/bin/python3.11", 11, "/usr/bin/python3.11", "" }, \
}

#endif /* PYINST_TEST_PYTHONS_H */
