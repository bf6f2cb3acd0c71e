// SPDX-License-Identifier: MIT
/* Process helpers: opening a file as a (hostile) container sees it never escapes its root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"

struct jail {
	char root[64];
	pid_t pid;
};

/* A child chrooted into a fresh directory holding links that point out of it. */
static int jail_setup(void **state)
{
	struct jail *j = calloc(1, sizeof(*j));
	char path[128];
	int ready[2];
	char c;

	if (geteuid() != 0) {
		free(j);
		return 0;
	}
	snprintf(j->root, sizeof(j->root), "/tmp/pyi-jail-XXXXXX");
	assert_non_null(mkdtemp(j->root));
	snprintf(path, sizeof(path), "%s/escape", j->root);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/climb", j->root);
	assert_int_equal(symlink("../../../../../../etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/inside", j->root);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	assert_int_equal(pipe(ready), 0);
	j->pid = fork();
	if (j->pid == 0) {
		if (chroot(j->root) || chdir("/"))
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	*state = j;
	return 0;
}

static int jail_teardown(void **state)
{
	struct jail *j = *state;
	char path[128];

	if (!j)
		return 0;
	kill(j->pid, SIGKILL);
	waitpid(j->pid, NULL, 0);
	for (const char *const *n = (const char *const[]){ "escape", "climb", "inside", NULL }; *n;
	     n++) {
		snprintf(path, sizeof(path), "%s/%s", j->root, *n);
		unlink(path);
	}
	rmdir(j->root);
	free(j);
	return 0;
}

static void test_proc_open_in_root_refuses_escapes(void **state)
{
	struct jail *j = *state;
	char naive[128];
	int fd;

	if (!j)
		skip();	/* chroot needs root */
	/* the danger is real: following the link from /proc/PID/root lands on the host's file */
	snprintf(naive, sizeof(naive), "/proc/%d/root/escape", j->pid);
	fd = open(naive, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	/* inside the root, an absolute link and a climbing one both stay in the jail (no file) */
	fd = proc_open_in_root(j->pid, "/escape");
	assert_true(fd < 0);
	fd = proc_open_in_root(j->pid, "climb");
	assert_true(fd < 0);
	fd = proc_open_in_root(j->pid, "/../../etc/passwd");
	assert_true(fd < 0);
	/* and what is inside opens */
	fd = proc_open_in_root(j->pid, "/inside");
	assert_true(fd >= 0);
	close(fd);
}

static void test_proc_cmdline_and_cpu_time(void **state)
{
	char buf[256];
	double cpu = -1;

	(void)state;
	assert_int_equal(proc_cmdline(getpid(), buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "test_proc"));
	assert_int_equal(proc_cpu_time(getpid(), &cpu), 0);
	assert_true(cpu >= 0);
	assert_false(proc_exists(4000000));
	assert_int_equal(proc_ns_pid(getpid(), getpid()), getpid());
}

static void test_proc_python_find_rejects_non_python(void **state)
{
	struct proc_python py;
	char err[256];

	(void)state;
	assert_int_equal(proc_python_find(getpid(), &py, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not a Python process"));
	assert_int_equal(proc_python_find(4000000, &py, err, sizeof(err)), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proc_open_in_root_refuses_escapes,
						jail_setup, jail_teardown),
		cmocka_unit_test(test_proc_cmdline_and_cpu_time),
		cmocka_unit_test(test_proc_python_find_rejects_non_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
