// SPDX-License-Identifier: MIT
/* The HTML payload's records in one time order (html_payload.h). */
#include <errno.h>
#include <stdlib.h>

#include "html_payload.h"

static bool rec_before(const struct payload *pl, uint32_t a, uint32_t b)
{
	double ta = pl->recs[a].time, tb = pl->recs[b].time;

	return ta < tb || (ta == tb && a < b);
}

static void sift_down(const struct payload *pl, uint32_t *heap, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, m = i, tmp;

		if (l < n && rec_before(pl, heap[l], heap[m]))
			m = l;
		if (l + 1 < n && rec_before(pl, heap[l + 1], heap[m]))
			m = l + 1;
		if (m == i)
			return;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/* Each thread's records are in time order already: a k-way merge of the threads' lists. */
int payload_order_records(struct payload *pl)
{
	uint32_t *heap = malloc((pl->nthreads + 1) * sizeof(*heap)), nheap = 0;
	size_t k = 0;

	pl->order = malloc((pl->nrecs ? pl->nrecs : 1) * sizeof(*pl->order));
	if (!heap || !pl->order) {
		free(heap);
		return -ENOMEM;
	}
	for (uint32_t t = 0; t < pl->nthreads; t++)
		if (pl->threads[t].head != NONE)
			heap[nheap++] = pl->threads[t].head;
	for (uint32_t i = nheap; i-- > 0;)
		sift_down(pl, heap, nheap, i);
	while (nheap) {
		uint32_t r = heap[0];

		pl->order[k++] = r;
		heap[0] = pl->recs[r].next != NONE ? pl->recs[r].next : heap[--nheap];
		sift_down(pl, heap, nheap, 0);
	}
	free(heap);
	return 0;
}
