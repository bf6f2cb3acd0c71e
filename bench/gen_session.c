// SPDX-License-Identifier: MIT
/*
 * Writes a synthetic .pyisession shaped like a long multi-threaded profile, for
 * bench/session_load.sh. Each thread owns a fixed pool of stacks (20-40 frames, made by
 * re-branching earlier stacks so that they share prefixes) drawn from a few thousand distinct
 * frames; the timeline runs threads in bursts, and inside a burst a thread repeats its stack or
 * moves to a neighbouring one. The pools depend only on the seed, so runs of different lengths
 * have the same stack set.
 *
 *	gen_session SAMPLES [--threads N] [--depth D] [--merge] [--seed S] > x.pyisession
 *
 * --depth D makes stacks of D/2..D frames (default 40: 20-40, what bench/session_load.sh uses).
 *
 * --merge writes what pyinst-bpf saves (consecutive identical samples as one record); without it
 * every sample is a record, as pyinstrument writes them.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFUNCS 3000
#define POOL 1500		/* stacks per thread */
#define MAXDEPTH 40

struct stack {
	uint16_t depth;
	uint16_t func[MAXDEPTH];
	uint16_t line[MAXDEPTH];	/* the current line: the frame's "l" attribute */
};

static uint64_t rng = 88172645463325252ull;
static uint32_t maxdepth = MAXDEPTH;	/* stacks are maxdepth/2 .. maxdepth frames */

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void frame_print(FILE *out, uint16_t func, uint16_t line)
{
	/* "name\0file\0firstline\x01l<line>", JSON-escaped as Python writes it */
	fprintf(out, "\"%s_%u\\u0000/srv/app/pkg%u/mod%u.py\\u0000%u\\u0001l%u\"",
		func % 7 ? "handle" : "compute", func, func % 40, func % 200, 10 + func % 500,
		line);
}

/* Pool stack i: a copy of an earlier one cut at 8..depth, then new frames down to 20-40. */
static void make_pool(struct stack *pool, uint32_t thread)
{
	for (uint32_t i = 0; i < POOL; i++) {
		struct stack *s = &pool[i];
		uint32_t target = maxdepth / 2 + rnd(maxdepth / 2 + 1), keep = 0;

		if (i) {
			/* mostly a recent stack: neighbours in the pool share long prefixes */
			const struct stack *from = &pool[i - 1 - rnd(i < 8 ? i : 8)];

			keep = maxdepth >= 40 ? 8 + rnd(from->depth - 7U) : 1 + rnd(from->depth);
			*s = *from;
		} else {
			s->func[0] = (uint16_t)(thread * 5 % NFUNCS);	/* main */
			s->line[0] = 1;
			keep = 1;
		}
		for (uint32_t d = keep; d < target; d++) {
			s->func[d] = (uint16_t)(d < 6 ? thread * 5 + d : rnd(NFUNCS));
			s->line[d] = (uint16_t)(10 + s->func[d] % 500 + rnd(4));
		}
		s->depth = (uint16_t)(keep > target ? keep : target);
	}
}

static void record_print(FILE *out, uint32_t thread, const struct stack *s, double w, bool first)
{
	fprintf(out, "%s[[\"Thread-%u\\u0000<thread>\\u00001400000%u\"", first ? "" : ", ",
		thread, thread);
	for (uint32_t d = 0; d < s->depth; d++) {
		fputs(", ", out);
		frame_print(out, s->func[d], s->line[d]);
	}
	/* wall-mode weights: nanoseconds as seconds */
	fprintf(out, "], %.9g]", w);
}

int main(int argc, char **argv)
{
	uint64_t samples = argc > 1 ? strtoull(argv[1], NULL, 10) : 0, records = 0;
	uint32_t nthreads = 8, *cur;
	bool merge = false, first = true;
	struct stack *pools;
	double pending = 0;
	int prev_thread = -1, prev_stack = -1;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			maxdepth = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--merge"))
			merge = true;
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng ^= strtoull(argv[++i], NULL, 10) * 0x9e3779b97f4a7c15ull;
	}
	if (!samples || !nthreads || nthreads > 64 || maxdepth < 2 || maxdepth > MAXDEPTH) {
		fprintf(stderr, "usage: gen_session SAMPLES [--threads N] [--depth 2-40] [--merge] "
			"[--seed S]\n");
		return 2;
	}
	pools = malloc(sizeof(*pools) * POOL * nthreads);
	cur = calloc(nthreads, sizeof(*cur));
	if (!pools || !cur)
		return 1;
	for (uint32_t t = 0; t < nthreads; t++)
		make_pool(pools + (size_t)t * POOL, t);
	printf("{\"start_time\": 1795559549.6920204, \"duration\": %.1f, \"min_interval\": 0.001, "
	       "\"max_interval\": 0.001, \"sample_count\": %" PRIu64 ", \"start_call_stack\": [], "
	       "\"target_description\": \"gen_session\", \"cpu_time\": 1.0, \"sys_path\": "
	       "[\"/srv/app\", \"/usr/lib/python3.11\"], \"sys_prefixes\": [\"/usr\"], "
	       "\"frame_records\": [", (double)samples / 1000 / nthreads, samples);
	for (uint64_t i = 0; i < samples;) {
		uint32_t t = rnd(nthreads), burst = 1 + rnd(16);

		for (uint32_t b = 0; b < burst && i < samples; b++, i++) {
			uint32_t r = rnd(100);
			double w = 0.001 + rnd(1000) * 1e-9;

			/* repeat (60 %), step to a neighbour (35 %) or jump (5 %) */
			if (r >= 60)
				cur[t] = r < 95 ? (cur[t] + 1 + rnd(3)) % POOL : rnd(POOL);
			if (merge && (int)t == prev_thread && (int)cur[t] == prev_stack) {
				pending += w;
				continue;
			}
			if (prev_thread >= 0) {
				record_print(stdout, (uint32_t)prev_thread,
					     &pools[(size_t)prev_thread * POOL + prev_stack], pending,
					     first);
				first = false;
				records++;
			}
			prev_thread = (int)t;
			prev_stack = (int)cur[t];
			pending = w;
		}
	}
	record_print(stdout, (uint32_t)prev_thread, &pools[(size_t)prev_thread * POOL + prev_stack],
		     pending, first);
	records++;
	printf("]}");
	fprintf(stderr, "gen_session: %" PRIu64 " samples, %" PRIu64 " records\n", samples,
		records);
	free(pools);
	free(cur);
	return ferror(stdout) ? 1 : 0;
}
