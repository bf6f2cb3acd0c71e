/* SPDX-License-Identifier: MIT */
/* A run of the profiler once its command line is checked: sampling and its reports. */
#ifndef PYINST_RUN_H
#define PYINST_RUN_H

struct cli;

/* Profiles the targets cli names until they end, --duration or a signal; writes the report(s).
 * Returns the exit status. */
int run_profile(struct cli *cli);
/* --load: renders the saved sessions, combined. Returns the exit status. */
int run_load(struct cli *cli);

#endif
