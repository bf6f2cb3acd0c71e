// SPDX-License-Identifier: MIT
/* Launch mode: the command after --, started once the collector is ready to follow it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "log.h"

int launch_prepare(char **argv, struct launch *l)
{
	int go[2], err[2], e;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		e = -errno;
		close(go[0]);
		close(go[1]);
		return e;
	}
	l->pid = fork();
	if (l->pid < 0) {
		e = -errno;
		close(go[0]), close(go[1]), close(err[0]), close(err[1]);
		return e;
	}
	if (l->pid == 0) {
		char c;

		close(go[1]);
		close(err[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		e = errno;
		/* nothing is left to do if the parent cannot hear it: exit 127 either way */
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	l->go_fd = go[1];
	l->err_fd = err[0];
	return 0;
}

void launch_reap(struct launch *l, int flags)
{
	int status;

	if (l->pid > 0 && l->status < 0 && waitpid(l->pid, &status, flags) == l->pid)
		l->status = status;
}

int launch_exit_code(const struct launch *l)
{
	if (l->status < 0)
		return 0;
	if (WIFSIGNALED(l->status))
		return 128 + WTERMSIG(l->status);
	return WEXITSTATUS(l->status);
}

int launch_start(struct launch *l, const char *cmd)
{
	int e = 0;
	ssize_t n;

	if (write(l->go_fd, "x", 1) != 1) {
		e = errno;
		pr_err("cannot run '%s': %s", cmd, strerror(e));
		return -e;
	}
	close(l->go_fd);
	l->go_fd = -1;	/* closed: the number may be reused by the collector */
	n = read(l->err_fd, &e, sizeof(e));
	close(l->err_fd);
	l->err_fd = -1;
	if (n == sizeof(e)) {
		launch_reap(l, 0);
		pr_err("cannot run '%s': %s", cmd, strerror(e));
		return -e;
	}
	return 0;
}

void launch_abandon(struct launch *l)
{
	if (l->pid <= 0 || l->go_fd < 0)
		return;
	close(l->go_fd);
	l->go_fd = -1;
	launch_reap(l, 0);
}
