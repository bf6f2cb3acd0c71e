/* SPDX-License-Identifier: MIT */
/*
 * Launch mode (-- COMMAND): the command is forked at once but execs only when told, so the
 * collector follows it from its first instruction.
 */
#ifndef PYINST_LAUNCH_H
#define PYINST_LAUNCH_H

#include <sys/types.h>

struct launch {
	pid_t pid;
	int go_fd;	/* write a byte: the child may exec; -1 once closed */
	int err_fd;	/* the child writes errno here if exec fails; closes on success */
	int status;	/* its wait status once reaped, else -1 */
};

#define LAUNCH_INIT { .pid = -1, .go_fd = -1, .err_fd = -1, .status = -1 }

/* Forks the child that will exec argv, held until launch_start. 0 or -errno. */
int launch_prepare(char **argv, struct launch *l);
/* Lets the child exec; reports (naming cmd) and reaps it if exec failed. 0 or -errno. */
int launch_start(struct launch *l, const char *cmd);
/* Reaps the launched command once, keeping its status. flags: 0 to wait, or WNOHANG. */
void launch_reap(struct launch *l, int flags);
/* The launched command's exit status as a shell reports it (128 + N when killed by N). */
int launch_exit_code(const struct launch *l);
/* A command that never started: released and reaped. */
void launch_abandon(struct launch *l);

#endif
