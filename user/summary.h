/* SPDX-License-Identifier: MIT */
/* What a profiling run tells on stderr besides errors: the status line and the closing counts. */
#ifndef PYINST_SUMMARY_H
#define PYINST_SUMMARY_H

#include <stdbool.h>

struct collector;

/*
 * What was recorded, at a glance: redrawn on a terminal while sampling, and once at the end
 * (final) wherever stderr goes. wall: say how many threads are blocked now.
 */
void summary_status(struct collector *c, bool wall, double elapsed, bool final);
/* What went wrong in the kernel and what sampling cost, after elapsed seconds of it. */
void summary_problems(struct collector *c, double elapsed);

#endif
