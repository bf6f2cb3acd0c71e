/* SPDX-License-Identifier: MIT */
/*
 * The project's one hash table: an index from keys to the dense ids (0, 1, 2...) of the caller's
 * own array. The table holds only ids; the caller keeps the keys, compares them and hashes
 * them, so one small table serves strings, (parent, frame) pairs, tids and pprof's ids alike.
 * Open addressing, linear probing, a power-of-two number of slots at most half full.
 *
 *	if (hash_index_reserve(&ix, hash_of, ctx))
 *		return -ENOMEM;
 *	for (id = hash_index_first(&ix, h, &pos); id != HASH_INDEX_NONE;
 *	     id = hash_index_next(&ix, &pos))
 *		if (same_key(id))
 *			return id;
 *	id = append_key(...);
 *	hash_index_put(&ix, pos, id);
 */
#ifndef PYINST_HASH_INDEX_H
#define PYINST_HASH_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INDEX_NONE UINT32_MAX	/* no id: the end of a probe */

struct hash_index {
	uint32_t *slots;	/* id + 1; 0 is a free slot */
	uint32_t mask;		/* slots - 1 */
	uint32_t n;		/* ids held */
};

/* The hash of an id's key, as given to hash_index_first: for moving ids when the table grows. */
typedef uint64_t (*hash_index_hash_fn)(const void *ctx, uint32_t id);

/* Doubles the slots (the first 64), rehashing the ids held with hash_of: 0 or -ENOMEM. */
int hash_index_grow(struct hash_index *ix, hash_index_hash_fn hash_of, const void *ctx);

/* Room for one more id, growing as needed: 0 or -ENOMEM. Inline: called on every insert. */
static inline int hash_index_reserve(struct hash_index *ix, hash_index_hash_fn hash_of,
				     const void *ctx)
{
	if (ix->slots && ((uint64_t)ix->n + 1) * 2 <= (uint64_t)ix->mask + 1)
		return 0;
	return hash_index_grow(ix, hash_of, ctx);
}

/*
 * The ids stored under hash, one per call in probe order: hash_index_first, then
 * hash_index_next until HASH_INDEX_NONE. Other keys' ids come too (the caller compares). At
 * HASH_INDEX_NONE, *pos is the free slot where a new id of this hash belongs.
 */
static inline uint32_t hash_index_first(const struct hash_index *ix, uint64_t hash, uint32_t *pos)
{
	if (!ix->slots) {
		*pos = 0;
		return HASH_INDEX_NONE;
	}
	*pos = (uint32_t)hash & ix->mask;
	return ix->slots[*pos] - 1;
}

static inline uint32_t hash_index_next(const struct hash_index *ix, uint32_t *pos)
{
	*pos = (*pos + 1) & ix->mask;
	return ix->slots[*pos] - 1;
}

/* Stores id at pos: where a probe ended (a new key, after hash_index_reserve) or where it
 * found an id of the same key (which id replaces). */
static inline void hash_index_put(struct hash_index *ix, uint32_t pos, uint32_t id)
{
	ix->n += !ix->slots[pos];
	ix->slots[pos] = id + 1;
}

/* Forgets every id, keeping the slots. */
void hash_index_clear(struct hash_index *ix);
void hash_index_free(struct hash_index *ix);

/* Hashes for keys: bytes (FNV-1a, then mixed so that the low bits vary), and integers. */
uint64_t hash_bytes(const void *p, size_t len);
uint64_t hash_u64(uint64_t v);
/* h and v mixed into one hash: for keys of several integers. */
uint64_t hash_combine(uint64_t h, uint64_t v);

#endif
