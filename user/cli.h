/* SPDX-License-Identifier: MIT */
/* The command line of a profiling run: its options (one table: user/cli.c), parsed and checked. */
#ifndef PYINST_CLI_H
#define PYINST_CLI_H

#include <limits.h>
#include <stdbool.h>

#include "collect.h"
#include "fleet.h"
#include "report.h"

#define CLI_MAX_PIDS 64
#define CLI_MAX_LOADS 64
#define CLI_REGEX_MAX 4096

struct cli {
	int pids[CLI_MAX_PIDS];
	int npids;
	const char *loads[CLI_MAX_LOADS];
	int nloads;
	const char *cgroup;	/* --cgroup PATH */
	const char *container;	/* --container ID */
	bool all;		/* --all */
	bool per_process;
	char cgroup_path[PATH_MAX];
	double duration;	/* 0: until the targets exit, or Ctrl-C / SIGTERM */
	char **command;		/* launch mode: the argv after -- */
	int subprocesses;	/* -1: default (on when launching) */
	const char *description;
	int ready_fd;		/* --ready-fd: a byte is written here once sampling runs */
	struct collect_opts collect;
	struct report_opts report;
	struct fleet_opts fleet;	/* continuous mode (--push, --output-dir) */
	char regex_buf[2][CLI_REGEX_MAX + 64];
};

/*
 * Parses and checks argv (everything that can be checked before sampling), and sets the log
 * level from -q/-v. 0: go on; 1: done (--help, --version); 2: a usage error, reported.
 */
int cli_parse(struct cli *cli, int argc, char **argv);

#endif
