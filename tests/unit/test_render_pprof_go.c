// SPDX-License-Identifier: MIT
/*
 * `go tool pprof -top` reads our pprof output and agrees on the totals. Exits 77 (meson: SKIP)
 * and says so when there is no `go` (Debian: apt-get install golang-go).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

/* The output of `go tool pprof -top <flags> path`. */
static char *pprof_top(const char *flags, const char *path)
{
	char *cmd, *out = NULL;
	size_t len = 0;
	FILE *p, *mem;

	assert_true(asprintf(&cmd, "go tool pprof -top %s '%s' 2>&1", flags, path) > 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	mem = open_memstream(&out, &len);
	for (int c; (c = fgetc(p)) != EOF;)
		fputc(c, mem);
	fclose(mem);
	assert_int_equal(pclose(p), 0);
	free(cmd);
	return out;
}

static void test_render_pprof_go_reads_demo(void **state)
{
	struct session *s = load_sample("demo.pyisession");
	char *path = render_to_temp(render_pprof, s, ".pb.gz"), *top;

	top = pprof_top("-sample_index=wall", path);
	fputs(top, stderr);
	assert_non_null(strstr(top, "Type: wall\n"));
	assert_non_null(strstr(top, "Duration: 450.22ms, Total samples = 450.02ms (  100%)"));
	assert_non_null(strstr(top, " 168.26ms 37.39% 37.39%   168.26ms 37.39%  busy\n"));
	assert_non_null(strstr(top, "372ms 82.66%  outer\n"));
	assert_non_null(strstr(top, "Worker.compute\n"));
	free(top);
	top = pprof_top("-sample_index=samples", path);
	assert_non_null(strstr(top, "Type: samples\n"));
	assert_non_null(strstr(top, "of 50 total"));
	free(top);
	unlink(path);
	free(path);
	session__free(s);
}

static void test_render_pprof_go_reads_hostile_names(void **state)
{
	struct session *s = hostile_session();
	char *path = render_to_temp(render_pprof, s, ".pb.gz"), *top;

	top = pprof_top("-sample_index=wall", path);
	assert_non_null(strstr(top, "Total samples = 500ms (  100%)"));
	assert_non_null(strstr(top, "[await]"));
	free(top);
	unlink(path);
	free(path);
	session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_pprof_go_reads_demo),
		cmocka_unit_test(test_render_pprof_go_reads_hostile_names),
	};

	if (system("go version >/dev/null 2>&1")) {
		fprintf(stderr, "SKIP: `go` not found; install golang-go to check pprof output "
				"with go tool pprof\n");
		return 77;
	}
	/* go wants a writable cache; the test environment may not give it one */
	if (!getenv("GOCACHE"))
		setenv("GOCACHE", "/tmp/pyi-test-gocache", 1);
	setenv("PPROF_TMPDIR", "/tmp", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
