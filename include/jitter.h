/* SPDX-License-Identifier: MIT */
/*
 * A factor of 0.5 to 1.5 for periodic work (xorshift64): at a fixed period, the work aliases
 * with whatever a target does at a fixed period too (the GIL's switch interval, a task that
 * wakes every few ms) and sees it always in the same phase.
 */
#ifndef PYINST_JITTER_H
#define PYINST_JITTER_H

#include <stdint.h>

/* state: any value but 0 to start (the caller's seed), then left to this function */
static inline double jitter_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return 0.5 + (double)(*state >> 11) / (double)(1ULL << 53);
}

#endif /* PYINST_JITTER_H */
