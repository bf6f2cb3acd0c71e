// SPDX-License-Identifier: MIT
/*
 * The hash index (hash_index.h): ids of the caller's array found by key through growth, through
 * keys whose hashes collide, after a replacement and after clearing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_index.h"

#define NKEYS 100000

/* The caller's side: keys in an array, the index over it. */
struct keys {
	uint64_t *v;
	uint32_t n;
	bool collide;		/* every key hashes alike: probes must compare keys */
	struct hash_index ix;
};

static uint64_t key_hash(const struct keys *k, uint64_t key)
{
	return k->collide ? 42 : hash_u64(key);
}

static uint64_t hash_of(const void *ctx, uint32_t id)
{
	const struct keys *k = ctx;

	return key_hash(k, k->v[id]);
}

static uint32_t find(const struct keys *k, uint64_t key, uint32_t *pos)
{
	uint32_t id;

	for (id = hash_index_first(&k->ix, key_hash(k, key), pos); id != HASH_INDEX_NONE;
	     id = hash_index_next(&k->ix, pos))
		if (k->v[id] == key)
			return id;
	return HASH_INDEX_NONE;
}

static uint32_t intern(struct keys *k, uint64_t key)
{
	uint32_t pos, id;

	assert_int_equal(hash_index_reserve(&k->ix, hash_of, k), 0);
	id = find(k, key, &pos);
	if (id != HASH_INDEX_NONE)
		return id;
	k->v[k->n] = key;
	hash_index_put(&k->ix, pos, k->n);
	return k->n++;
}

static void check_keys(size_t nkeys, bool collide)
{
	struct keys k = { .v = calloc(nkeys, sizeof(uint64_t)), .collide = collide };
	uint32_t pos;

	assert_non_null(k.v);
	/* keys that differ in their high bits only, then again: the same ids come back */
	for (size_t i = 0; i < nkeys; i++)
		assert_int_equal(intern(&k, (uint64_t)i << 40 | 7), i);
	for (size_t i = 0; i < nkeys; i++)
		assert_int_equal(intern(&k, (uint64_t)i << 40 | 7), i);
	assert_int_equal(k.n, nkeys);
	assert_int_equal(k.ix.n, nkeys);
	/* at most half full */
	assert_true((uint64_t)k.ix.n * 2 <= (uint64_t)k.ix.mask + 1);
	assert_int_equal(find(&k, 8, &pos), HASH_INDEX_NONE);
	hash_index_free(&k.ix);
	free(k.v);
}

static void test_hash_index_finds_every_id(void **state)
{
	(void)state;
	check_keys(NKEYS, false);
}

/* Every key in one probe run, which wraps around the end of the slots. */
static void test_hash_index_colliding_hashes(void **state)
{
	(void)state;
	check_keys(2000, true);
}

/* A key's id replaced by a newer one (a reused tid): the count stays, lookups see the new id. */
static void test_hash_index_put_replaces(void **state)
{
	struct keys k = { .v = calloc(4, sizeof(uint64_t)) };
	uint32_t pos;

	(void)state;
	assert_int_equal(intern(&k, 100), 0);
	assert_int_equal(intern(&k, 200), 1);
	k.v[k.n++] = 100;	/* id 2: the same key again */
	assert_int_equal(find(&k, 100, &pos), 0);
	hash_index_put(&k.ix, pos, 2);
	assert_int_equal(k.ix.n, 2);
	assert_int_equal(find(&k, 100, &pos), 2);
	assert_int_equal(find(&k, 200, &pos), 1);
	hash_index_free(&k.ix);
	free(k.v);
}

static void test_hash_index_clear_and_empty(void **state)
{
	struct keys k = { .v = calloc(64, sizeof(uint64_t)) };
	uint32_t pos;

	(void)state;
	/* no slots yet: nothing is found, nothing is read */
	assert_int_equal(find(&k, 1, &pos), HASH_INDEX_NONE);
	for (uint64_t i = 0; i < 20; i++)
		intern(&k, i);
	hash_index_clear(&k.ix);
	k.n = 0;
	assert_int_equal(k.ix.n, 0);
	assert_non_null(k.ix.slots);
	for (uint64_t i = 0; i < 20; i++)
		assert_int_equal(find(&k, i, &pos), HASH_INDEX_NONE);
	assert_int_equal(intern(&k, 5), 0);
	hash_index_free(&k.ix);
	hash_index_free(&k.ix);	/* freed twice: safe, as the callers' cleanup paths need */
	free(k.v);
}

/* The hashes spread: no two of many small keys share all the low bits a table uses. */
static void test_hash_index_hashes_spread(void **state)
{
	enum { N = 4096, BITS = 16 };
	unsigned char *seen = calloc(1u << BITS, 1);
	unsigned int same_u64 = 0, same_bytes = 0, same_pair = 0;
	char buf[32];

	(void)state;
	assert_non_null(seen);
	for (uint64_t i = 0; i < N; i++) {
		uint32_t a = (uint32_t)hash_u64(i) & ((1u << BITS) - 1);
		uint32_t b, c;
		int n = snprintf(buf, sizeof(buf), "frame%llu", (unsigned long long)i);

		b = (uint32_t)hash_bytes(buf, (size_t)n) & ((1u << BITS) - 1);
		c = (uint32_t)hash_combine(i >> 6, i & 63) & ((1u << BITS) - 1);
		same_u64 += (seen[a] & 1) != 0;
		same_bytes += (seen[b] & 2) != 0;
		same_pair += (seen[c] & 4) != 0;
		seen[a] |= 1;
		seen[b] |= 2;
		seen[c] |= 4;
	}
	/* 4096 keys in 65536 buckets: about 125 collisions are expected of a good hash */
	assert_true(same_u64 < 250);
	assert_true(same_bytes < 250);
	assert_true(same_pair < 250);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_index_finds_every_id),
		cmocka_unit_test(test_hash_index_colliding_hashes),
		cmocka_unit_test(test_hash_index_put_replaces),
		cmocka_unit_test(test_hash_index_clear_and_empty),
		cmocka_unit_test(test_hash_index_hashes_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
