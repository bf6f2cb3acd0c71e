// SPDX-License-Identifier: MIT
/*
 * bench/session_load.sh's look inside: loads a .pyisession, builds the frame tree as the
 * renderers do, and prints one line of "records frames stacks load_s tree_s tree_nodes
 * rss_after_load_mib rss_after_tree_mib model_mib", where model_mib is what the session model
 * holds: interned frames and stacks, plus 16 bytes per record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "frame_tree.h"
#include "session.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double max_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024;
}

static size_t count_nodes(const struct frame_node *n)
{
	size_t c = 1;

	for (uint32_t i = 0; i < n->nchildren; i++)
		c += count_nodes(n->children[i]);
	return c;
}

int main(int argc, char **argv)
{
	struct session *s = NULL;
	struct frame_tree *t;
	double t0, t1, t2, rss_load, model = 0;
	char err[512];
	size_t nrec, len;

	if (argc != 2) {
		fprintf(stderr, "usage: session_stats FILE.pyisession\n");
		return 2;
	}
	t0 = now();
	if (session_load(argv[1], &s, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t1 = now();
	rss_load = max_rss_mib();
	session_samples(s, &nrec);
	for (uint32_t f = 0; f < session_frame_count(s); f++) {
		session_frame_info(s, f, &len);
		model += (double)len + 1 + 12 + 12 + 8;	/* text, entry, meta, slot */
	}
	model += (double)session_stack_count(s) * (12 + 8) + (double)nrec * 16;
	t = frame_tree__new(s, true);
	t2 = now();
	if (!t) {
		perror("frame_tree__new");
		return 1;
	}
	printf("%zu %u %u %.3f %.3f %zu %.1f %.1f %.1f\n", nrec, session_frame_count(s),
	       session_stack_count(s), t1 - t0, t2 - t1, t->root ? count_nodes(t->root) : 0,
	       rss_load, max_rss_mib(), model / (1 << 20));
	frame_tree__free(t);
	session__free(s);
	return 0;
}
