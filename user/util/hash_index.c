// SPDX-License-Identifier: MIT
/* The hash index (hash_index.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash_index.h"

#define FIRST_SLOTS 64
#define MAX_SLOTS (1u << 31)	/* mask and positions stay in 32 bits */

int hash_index_grow(struct hash_index *ix, hash_index_hash_fn hash_of, const void *ctx)
{
	uint32_t old_slots = ix->slots ? ix->mask + 1 : 0, slots, *v, id, pos;

	if (old_slots >= MAX_SLOTS)
		return -ENOMEM;
	slots = old_slots ? old_slots * 2 : FIRST_SLOTS;
	v = calloc(slots, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < old_slots; i++) {
		if (!ix->slots[i])
			continue;
		id = ix->slots[i] - 1;
		pos = (uint32_t)hash_of(ctx, id) & (slots - 1);
		while (v[pos])
			pos = (pos + 1) & (slots - 1);
		v[pos] = id + 1;
	}
	free(ix->slots);
	ix->slots = v;
	ix->mask = slots - 1;
	return 0;
}

void hash_index_clear(struct hash_index *ix)
{
	if (ix->slots)
		memset(ix->slots, 0, ((size_t)ix->mask + 1) * sizeof(*ix->slots));
	ix->n = 0;
}

void hash_index_free(struct hash_index *ix)
{
	free(ix->slots);
	*ix = (struct hash_index){ 0 };
}

/* The finalizer of MurmurHash3: every input bit reaches the low bits the table uses. */
uint64_t hash_u64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

uint64_t hash_combine(uint64_t h, uint64_t v)
{
	return hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return hash_u64(h);
}
