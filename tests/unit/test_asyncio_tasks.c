// SPDX-License-Identifier: MIT
/*
 * The asyncio task reader against real interpreters: tests/data/asyncio_truth.py sets up tasks
 * whose names, await chains and states are known, then one task spins. Every CPython 3.11+ found
 * on the machine is tried; versions without one are skipped, not failed.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "asyncio_tasks.h"
#include "target.h"

#define SID_ROOT "/var/cache/pyinst-bpf/sid"

static const char *const pythons[] = {
	"/usr/bin/python3.11",
	"/root/.pyenv/versions/3.11.7/bin/python3.11",
	"/root/.pyenv/versions/3.12.1/bin/python3.12",
	"/root/.pyenv/versions/3.13.0/bin/python3.13",
	/* Debian unstable's, in the debootstrap root other tests use (run through chroot) */
	SID_ROOT "/usr/bin/python3.14",
};

struct child {
	pid_t pid;
	FILE *out;
	char line[1024];
};

static int start(struct child *c, const char *python)
{
	char script[512];
	int fds[2];

	bool chrooted = !strncmp(python, SID_ROOT "/", strlen(SID_ROOT) + 1);
	char inside[128], cmd[1024];

	snprintf(script, sizeof(script), "%s/tests/data/asyncio_truth.py",
		 getenv("PYI_SOURCE_ROOT") ? getenv("PYI_SOURCE_ROOT") : ".");
	if (access(python, X_OK) || pipe(fds))
		return -1;
	if (chrooted) {
		/* the script must be inside the root: a copy of our own in its /tmp */
		snprintf(inside, sizeof(inside), "/tmp/pyi-asyncio-truth-%d.py", (int)getpid());
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s%s'", script, SID_ROOT, inside);
		if (system(cmd))
			return -1;
	}
	c->pid = fork();
	if (c->pid == 0) {
		/* a failed assertion jumps past stop(): the spinning child must not outlive us */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		if (chrooted)
			execl("/usr/sbin/chroot", "chroot", SID_ROOT, python + strlen(SID_ROOT),
			      inside, (char *)NULL);
		else
			execl(python, python, script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	c->out = fdopen(fds[0], "r");
	if (!c->out || !fgets(c->line, sizeof(c->line), c->out) || strncmp(c->line, "ready", 5))
		return -1;
	return 0;
}

static void stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	if (c->out)
		fclose(c->out);
}

/* The address the script printed for task `name`. */
static uint64_t printed_addr(const struct child *c, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(c->line, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static const struct asyncio_task *by_name(const struct asyncio_task *const *t, int n,
				       const char *name)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(t[i]->name, name))
			return t[i];
	}
	return NULL;
}

/* "f1>f2>f3": the co_names of a task's frames, outermost first. */
static void chain_names(struct asyncio_reader *r, const struct asyncio_task *t, char *out,
			size_t len)
{
	char name[128];

	out[0] = '\0';
	for (uint32_t i = 0; i < t->nframes; i++) {
		if (asyncio_reader_code_name(r, t->frames[i].code, name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "?");
		if (i)
			strncat(out, ">", len - strlen(out) - 1);
		strncat(out, name, len - strlen(out) - 1);
	}
}

static void check_one(const char *python)
{
	struct child c = { 0 };
	struct target_table tt;
	struct target *t;
	struct pyi_proc proc;
	struct asyncio_reader *r;
	const struct asyncio_task *const *tasks, *x;
	struct asyncio_reader_stats st;
	uint64_t interp = 0;
	char err[256], chain[1024];
	int n;

	if (start(&c, python)) {
		stop(&c);
		print_message("skipped: %s\n", python);
		return;
	}
	target_table_init(&tt);
	t = target_add(&tt, c.pid, false, NULL);	/* the table frees what discovery made */
	assert_non_null(t);
	assert_int_equal(target_discover(t, &proc, err, sizeof(err)), 0);
	assert_int_equal(proc_read(c.pid, proc.interp_head_addr, &interp, sizeof(interp)), 0);
	r = asyncio_reader__new(c.pid, &t->layout, interp);
	assert_non_null(r);
	n = asyncio_reader_scan(r, &tasks);
	assert_true(n >= 6);	/* main, four waiting, the spinner */
	/* counting stops at its limit and reads no task */
	assert_int_equal(asyncio_reader_count(r, 2), 2);
	assert_true(asyncio_reader_count(r, 100) >= 6);

	x = by_name(tasks, n, "sleeper");
	assert_non_null(x);
	assert_int_equal(x->addr, printed_addr(&c, "sleeper"));
	assert_int_equal(x->state, ASYNCIO_SUSPENDED);
	chain_names(r, x, chain, sizeof(chain));
	assert_string_equal(chain, "sleeper>sleep");

	x = by_name(tasks, n, "deep?name");	/* a control character never reaches a terminal */
	assert_non_null(x);
	chain_names(r, x, chain, sizeof(chain));
	assert_string_equal(chain, "outer>middle>inner>sleep");
	assert_int_equal(x->awaited_task, 0);

	x = by_name(tasks, n, "waiter");
	assert_non_null(x);
	chain_names(r, x, chain, sizeof(chain));
	assert_string_equal(chain, "waiter");
	assert_int_equal(x->awaited_task, printed_addr(&c, "sleeper"));

	x = by_name(tasks, n, "reader");
	assert_non_null(x);
	chain_names(r, x, chain, sizeof(chain));
	assert_string_equal(chain, "reader>sock_recv");

	x = by_name(tasks, n, "spinner");
	assert_non_null(x);
	assert_int_equal(x->state, ASYNCIO_RUNNING);
	assert_int_equal(x->tid, c.pid);
	chain_names(r, x, chain, sizeof(chain));
	assert_string_equal(chain, "spinner>spin");

	/* nothing suspended has run since: every chain comes from the cache */
	asyncio_reader_stats(r, &st);
	n = asyncio_reader_scan(r, &tasks);
	assert_non_null(by_name(tasks, n, "sleeper"));
	assert_true(by_name(tasks, n, "sleeper")->chain_reused);
	assert_true(by_name(tasks, n, "deep?name")->chain_reused);
	assert_false(by_name(tasks, n, "spinner")->chain_reused);
	print_message("%s: %d tasks\n", python, n);
	asyncio_reader__free(r);
	target_table_free(&tt);
	stop(&c);
}

static void test_asyncio_tasks_known_chains(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	for (size_t i = 0; i < sizeof(pythons) / sizeof(pythons[0]); i++)
		check_one(pythons[i]);
}

static void test_asyncio_tasks_old_versions(void **state)
{
	(void)state;
	/* 3.10 and older have no layout here: the reader says so instead of guessing */
	errno = 0;
	assert_null(asyncio_layout_find(0x030a0000));
	assert_int_equal(errno, ENOTSUP);
	assert_non_null(asyncio_layout_find(0x030b07f0));
	assert_non_null(asyncio_layout_find(0x030d00f0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asyncio_tasks_known_chains),
		cmocka_unit_test(test_asyncio_tasks_old_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
