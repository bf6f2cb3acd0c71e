// SPDX-License-Identifier: MIT
/*
 * Long sessions without the hours (bench/long_session.sh): replays what the collector hands the
 * session in wall mode, one sample per thread per tick, for a simulated duration, then writes
 * the report the way pyinst-bpf does (report_write). Each thread owns a pool of stacks
 * (10-30 frames, prefixes shared, a server's handlers over a few thousand functions) and moves
 * through it: it mostly stays, sometimes steps to a neighbour, rarely jumps.
 *
 *	long_session [--threads N] [--seconds S] [--rate HZ] [--pool K] [--seed X]
 *		     [-r RENDERER] [-o FILE]
 *
 * Prints "name value" lines: samples, records kept, timeline resolution, peak RSS after the
 * first simulated minute and at the end of sampling, CPU seconds spent in session_add_sample
 * per simulated second, report writing time, peak RSS including the report, report size.
 * Stacks are interned before the clock starts: the collector interns a stack per sample in
 * its own code (symbolize.c), which this does not measure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "report.h"
#include "session.h"

#define NFUNCS 4000
#define MAXDEPTH 30

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double peak_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

static uint32_t frame(struct session *s, const char *name, const char *file, unsigned line,
		      unsigned cur)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%u%cl%u", name, 0, file, 0, line, 1, cur);

	return session_intern_frame(s, buf, (size_t)n);
}

static uint32_t func_frame(struct session *s, uint32_t f)
{
	static const char *const kinds[] = { "handle", "query", "render", "parse", "send" };
	char name[64], file[96];

	snprintf(name, sizeof(name), "%s_%u", kinds[f % 5], f);
	if (f % 3)
		snprintf(file, sizeof(file), "/srv/app/pkg%u/mod%u.py", f % 30, f % 300);
	else
		snprintf(file, sizeof(file), "/usr/lib/python3.11/site-packages/lib%u/m%u.py",
			 f % 20, f % 100);
	return frame(s, name, file, 10 + f % 700, 12 + f % 700);
}

/* pool[t * k + i]: thread t's stack i, a re-branch of a recent one, 10-30 frames */
static uint32_t *make_pools(struct session *s, unsigned nthreads, unsigned k)
{
	uint32_t *pool = malloc((size_t)nthreads * k * sizeof(*pool)), proc, fr[MAXDEPTH];
	uint32_t(*path)[MAXDEPTH + 1] = malloc((size_t)k * sizeof(*path));
	unsigned *depth = malloc(k * sizeof(*depth));
	char name[32], ident[64];
	int n;

	if (!pool || !path || !depth)
		exit(1);
	proc = session_stack_push(s, SESSION_NO_STACK, frame(s, "python3 server.py", "<process>",
								 4242, 0));
	for (unsigned t = 0; t < nthreads; t++) {
		snprintf(name, sizeof(name), t ? "Thread-%u" : "MainThread", t);
		snprintf(ident, sizeof(ident), "%u", 139800000 + t);
		n = snprintf(ident, sizeof(ident), "%s%c<thread>%c%u", name, 0, 0, 139800000 + t);
		path[0][0] = session_stack_push(s, proc, session_intern_frame(s, ident, (size_t)n));
		for (unsigned i = 0; i < k; i++) {
			unsigned d = 0, target = 10 + rnd(21);

			if (i) {
				unsigned from = i - 1 - rnd(i < 8 ? i : 8);

				d = 3 + rnd(depth[from] - 2);
				memcpy(path[i], path[from], (d + 1) * sizeof(path[i][0]));
			} else {
				path[i][0] = path[0][0];
			}
			for (; d < target; d++) {
				fr[d] = func_frame(s, (t * 7 + rnd(NFUNCS)) % NFUNCS);
				path[i][d + 1] = session_stack_push(s, path[i][d], fr[d]);
			}
			depth[i] = d;
			pool[t * k + i] = path[i][d];
		}
	}
	free(path);
	free(depth);
	return pool;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'f' },
		{ "pool", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned nthreads = 50, k = 400, *cur;
	double seconds = 60, rate = 1000, add_cpu = 0, rss_minute = 0, t0, t1, c0;
	struct report_opts ro = { .renderer = "html", .outfile = "/dev/null", .mode = "wall" };
	struct session *s = session__new();
	uint32_t *pool;
	uint64_t ticks;
	size_t nrec;
	struct stat st;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "r:o:", longopts, NULL)) != -1) {
		switch (opt) {
		case 't': nthreads = (unsigned)atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'f': rate = atof(optarg); break;
		case 'k': k = (unsigned)atoi(optarg); break;
		case 'x': rng = strtoull(optarg, NULL, 0) | 1; break;
		case 'r': ro.renderer = optarg; break;
		case 'o': ro.outfile = optarg; break;
		default:
			fprintf(stderr, "usage: long_session [--threads N] [--seconds S] "
				"[--rate HZ] [--pool K] [--seed X] [-r RENDERER] [-o FILE]\n");
			return 2;
		}
	}
	if (!s || !nthreads || nthreads > 4096 || k < 2 || !(rate > 0) || !(seconds > 0))
		return 2;
	pool = make_pools(s, nthreads, k);
	cur = calloc(nthreads, sizeof(*cur));
	ticks = (uint64_t)(seconds * rate);
	for (uint64_t i = 0; i < ticks; i++) {
		uint32_t batch[4096];

		for (unsigned t = 0; t < nthreads; t++) {
			uint32_t r = rnd(1000);

			if (r >= 985)
				cur[t] = rnd(k);
			else if (r >= 900)
				cur[t] = (cur[t] + 1 + rnd(3)) % k;
			batch[t] = pool[t * k + cur[t]];
		}
		c0 = now(CLOCK_THREAD_CPUTIME_ID);
		for (unsigned t = 0; t < nthreads; t++)
			session_add_sample(s, batch[t], 1 / rate);
		add_cpu += now(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (i + 1 == (uint64_t)(60 * rate))
			rss_minute = peak_rss_mib();
	}
	if (session_error(s))
		return 1;
	session_samples(s, &nrec);
	printf("samples %llu\n", (unsigned long long)session_sample_count(s));
	printf("records %zu\n", nrec);
	printf("stacks %u\n", session_stack_count(s));
	printf("resolution_s %g\n", session_resolution(s));
	printf("peak_rss_first_minute_mib %.1f\n", rss_minute);
	printf("peak_rss_sampling_mib %.1f\n", peak_rss_mib());
	printf("session_cpu_s_per_s %.5f\n", add_cpu / seconds);
	printf("session_ns_per_sample %.1f\n", add_cpu * 1e9 / (double)(ticks * nthreads));
	session_set_times(s, 1795559549.0, seconds);
	session_set_interval(s, 1 / rate, 1 / rate);
	session_set_target_description(s, "Process 4242: python3 server.py");
	t0 = now(CLOCK_MONOTONIC);
	rc = session_limit_records(s, SESSION_REPORT_RECORDS);
	c0 = now(CLOCK_MONOTONIC);
	if (!rc)
		rc = report_write(s, &ro);
	t1 = now(CLOCK_MONOTONIC);
	printf("report_limit_s %.3f\n", c0 - t0);
	session_samples(s, &nrec);
	printf("report_s %.3f\n", t1 - t0);
	printf("report_records %zu\n", nrec);
	printf("report_resolution_s %g\n", session_resolution(s));
	printf("peak_rss_mib %.1f\n", peak_rss_mib());
	if (strcmp(ro.outfile, "/dev/null") && !stat(ro.outfile, &st))
		printf("report_mb %.2f\n", st.st_size / 1e6);
	free(cur);
	free(pool);
	session__free(s);
	return rc ? 1 : 0;
}
