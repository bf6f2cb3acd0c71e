// SPDX-License-Identifier: MIT
/*
 * Writing reports where the tool, running as root, could be turned against the host: outputs
 * that are symbolic links, devices, FIFOs, "-", a temporary name swapped while the report is
 * written, and the checks that must fail before any sampling.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "report.h"
#include "session.h"

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pyi-report-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *in_dir(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static struct session *small_session(void)
{
	static const char frame[] = "main\0/app/x.py\0001";
	struct session *s = session__new();
	uint32_t st;

	assert_non_null(s);
	st = session_stack_push(s, SESSION_NO_STACK,
				session_intern_frame(s, frame, sizeof(frame) - 1));
	assert_int_equal(session_add_sample(s, st, 0.5), 0);
	session_set_times(s, 0, 0.5);
	return s;
}

static int write_to(const char *path, const char *renderer)
{
	struct report_opts o = { .renderer = renderer, .outfile = path };
	struct session *s = small_session();
	int rc = report_write(s, &o);

	session__free(s);
	return rc;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_report_symlink_refused(void **state)
{
	char *victim = in_dir("victim"), *link = in_dir("report.txt"), buf[64] = "";
	struct report_opts o = { .renderer = "text", .outfile = link };
	struct stat st;
	int fd;

	(void)state;
	write_text(victim, "secret", 0600);
	assert_int_equal(symlink(victim, link), 0);
	/* refused before sampling, and again at write time */
	assert_int_not_equal(report_check(&o), 0);
	assert_int_equal(write_to(link, "text"), -ELOOP);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	fd = open(victim, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	close(fd);
	assert_string_equal(buf, "secret");
}

static void test_report_fifo_is_a_stream(void **state)
{
	char *fifo = in_dir("fifo"), buf[256];
	struct stat st;
	int rd;

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* without a reader: an error, not a hang */
	assert_int_not_equal(write_to(fifo, "text"), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(write_to(fifo, "text"), 0);
	assert_true(read(rd, buf, sizeof(buf)) > 0);
	close(rd);
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_report_dash_is_stdout(void **state)
{
	char *out = in_dir("stdout.txt"), buf[4096] = "", cwd[256];
	int saved = dup(STDOUT_FILENO), fd;
	ssize_t n;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	assert_int_equal(write_to("-", "text"), 0);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_int_equal(access(in_dir("-"), F_OK), -1);	/* no file named "-" */
	assert_int_equal(chdir(cwd), 0);
	fd = open(out, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "main"));
}

static void test_report_regular_file_replaced_whole(void **state)
{
	char *path = in_dir("r.txt");
	struct stat st;
	mode_t mask = umask(022);

	(void)state;
	write_text(path, "old", 0600);
	assert_int_equal(write_to(path, "text"), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size > 100);
	assert_int_equal(st.st_mode & 0777, 0644);
	umask(mask);
}

static void test_report_check_missing_dir(void **state)
{
	struct report_opts o = { .renderer = "text", .outfile = in_dir("nodir/x.txt") };

	(void)state;
	assert_int_not_equal(report_check(&o), 0);
}

static void test_report_check_bad_regex(void **state)
{
	struct report_opts o = { .outfile = in_dir("x.html"), .noptions = 1,
				 .options = { "processor_options.hide_regex=(" } };

	struct session *s = small_session();

	(void)state;
	/* html runs no processor in C: the check must not depend on the renderer */
	assert_int_not_equal(report_check(&o), 0);
	/* nor is half a report written */
	o.renderer = "text";
	o.outfile = in_dir("y.txt");
	assert_int_not_equal(report_write(s, &o), 0);
	assert_int_equal(access(o.outfile, F_OK), -1);
	session__free(s);
}

/*
 * The race of issue 11: after the report is written, the temporary name is swapped for a
 * symbolic link to a private file. A chmod by name would make that file world-readable.
 */
int __real_fsync(int fd);
int __wrap_fsync(int fd)
{
	char victim[256], tmp[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	snprintf(victim, sizeof(victim), "%s/shadow", dir);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, ".swap.txt.", 10))
			continue;
		snprintf(tmp, sizeof(tmp), "%s/%s", dir, de->d_name);
		unlink(tmp);
		if (symlink(victim, tmp))
			fail_msg("symlink: %s", strerror(errno));
	}
	if (d)
		closedir(d);
	return __real_fsync(fd);
}

static void test_report_temp_swapped_for_symlink(void **state)
{
	char *victim = in_dir("shadow"), *out = in_dir("swap.txt");
	struct stat st;

	(void)state;
	write_text(victim, "root:x:0", 0600);
	assert_int_not_equal(write_to(out, "text"), 0);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_symlink_refused, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_fifo_is_a_stream, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_dash_is_stdout, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_regular_file_replaced_whole, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_check_missing_dir, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_check_bad_regex, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_report_temp_swapped_for_symlink, setup_dir,
						teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
