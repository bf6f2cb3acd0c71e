/* SPDX-License-Identifier: MIT */
/*
 * The clocks the profiler reads, as seconds or nanoseconds. CLOCK_MONOTONIC is the kernel's
 * bpf_ktime_get_ns(): times from user space and from the BPF programs compare directly.
 */
#ifndef PYINST_CLOCK_H
#define PYINST_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline double clock_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CLOCK_MONOTONIC seconds: the collector's and the asyncio views' timers */
static inline double monotonic_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* this thread's CPU time: what the profiler's own periodic work costs */
static inline double thread_cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

#endif /* PYINST_CLOCK_H */
