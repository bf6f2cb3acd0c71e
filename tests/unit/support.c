/* SPDX-License-Identifier: MIT */
/* The unit tests' support library: see support.h. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

char *samples_path(const char *name)
{
	const char *dir = getenv("PYI_SAMPLES");
	char *path;

	if (!dir)
		dir = "tests/data/pyinstrument-samples";
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;
	FILE *mem;

	*len = 0;
	if (!f)
		return NULL;
	mem = open_memstream(&buf, &cap);
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, mem);
	fclose(f);
	fclose(mem);
	*len = cap;
	return buf;
}

char *read_sample(const char *name, size_t *len)
{
	char *path = samples_path(name), *text;

	assert_non_null(path);
	text = read_whole(path, len);
	assert_non_null(text);
	free(path);
	return text;
}

struct session *load_sample(const char *name)
{
	char *path = samples_path(name), err[512] = "";
	struct session *s = NULL;
	int ret = session_load(path, &s, err, sizeof(err));

	if (ret)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(ret, 0);
	free(path);
	return s;
}

void assert_golden(const char *golden, const char *want, size_t want_len, const char *got,
		   size_t got_len)
{
	if (got_len != want_len || memcmp(got, want, want_len)) {
		fprintf(stderr, "--- %s differs; got:\n%s", golden, got);
		fail_msg("%s: output differs from the golden file", golden);
	}
}

char *render_to_buf(render_fn fn, struct session *s, size_t *len, int *ret)
{
	struct render_opts o;
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);

	render_opts_init(&o);
	*ret = fn(s, &o, mem);
	fclose(mem);
	render_opts_release(&o);
	return buf;
}

char *write_temp(const char *buf, size_t len, const char *suffix)
{
	char *path;
	int fd;
	FILE *f;

	assert_true(asprintf(&path, "/tmp/pyi-test-XXXXXX%s", suffix) > 0);
	fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

char *render_to_temp(render_fn fn, struct session *s, const char *suffix)
{
	size_t len;
	int ret;
	char *buf = render_to_buf(fn, s, &len, &ret), *path;

	assert_int_equal(ret, 0);
	path = write_temp(buf, len, suffix);
	free(buf);
	return path;
}

/* pyinstrument's identifier: function NUL file NUL line, then \x01c class and \x01l line. */
static const char hostile_frame[] =
	"ev\"il;\\\n\033[31m\xc2\x9b\xff\xc3\0/app/x;\"\n\033\xfe.py\00012\001cK;\"\033\xff\001l14";

struct session *hostile_session(void)
{
	static const char thread[] = "MainThread\0<thread>\0001";
	static const char await_leaf[] = "[await]";
	struct session *s = session__new();
	uint32_t root, st;

	assert_non_null(s);
	root = session_stack_push(s, SESSION_NO_STACK,
				  session_intern_frame(s, thread, sizeof(thread) - 1));
	st = session_stack_push(s, root, session_intern_frame(s, hostile_frame,
							      sizeof(hostile_frame) - 1));
	assert_int_equal(session_add_sample(s, st, 0.25), 0);
	st = session_stack_push(s, st, session_intern_frame(s, await_leaf,
							      sizeof(await_leaf) - 1));
	assert_int_equal(session_add_sample(s, st, 0.25), 0);
	assert_int_equal(session_set_target_description(s, "Program: \033]0;pwned\007\"\n\xff"), 0);
	session_set_times(s, 0, 0.5);
	assert_int_equal(session_error(s), 0);
	return s;
}

int setup_utc(void **state)
{
	/* The samples were recorded in UTC: "Recorded: 22:32:29" is localtime(start_time). */
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static const char *test_pyenv_root(void)
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

int test_python_find(struct test_python *py)
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

FILE *run_truth_script(struct test_python *py, const char *script)
{
	const char *root = getenv("PYI_SOURCE_ROOT");
	char cmd[PATH_MAX * 2 + 64];
	FILE *p;

	if (test_python_find(py)) {
		print_message("not installed: %s\n", py->label);
		skip();
	}
	assert_true(snprintf(cmd, sizeof(cmd), "%s %s/tests/data/%s", py->path, root ? root : ".",
			     script) < (int)sizeof(cmd));
	p = popen(cmd, "r");
	assert_non_null(p);
	return p;
}

size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (strcmp(s, "-") == 0)
		return 0;
	for (; s[0] && s[1] && n < cap; s += 2) {
		unsigned int b;

		if (sscanf(s, "%2x", &b) != 1)
			break;
		out[n++] = (uint8_t)b;
	}
	return n;
}
