// SPDX-License-Identifier: MIT
/*
 * threading._active from outside (see thread_names.h): sys.modules["threading"].__dict__
 * ["_active"] is a dict {ident: Thread}, and each Thread keeps its name in the instance
 * attribute _name. The objects' layouts, per CPython version (x86-64, default builds):
 *  - PyDictObject: ma_keys at 32, ma_values at 40 (3.6 to 3.14).
 *  - PyDictKeysObject up to 3.10: dk_size at 8, indices at 40, entries (hash, key, value);
 *    from 3.11: log2 size at 8, log2 index bytes at 9, kind at 10, indices at 32, entries
 *    (hash, key, value) or, for str-only tables, (key, value).
 *  - Split tables keep values apart: a plain array up to 3.12, behind a 8-byte header from 3.13.
 *  - Instance attributes: up to 3.10 a dict at tp_dictoffset; 3.11 and 3.12 a managed dict (or
 *    values) just before the object; from 3.13 values inline after the object (valid flag)
 *    or a managed dict before it. Values-only objects take their keys from the class's
 *    ht_cached_keys.
 *  - int: 30-bit digits at 24; the digit count in ob_size up to 3.11, in lv_tag >> 3 after.
 * Offsets below were computed with offsetof() against each version's own headers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "pystr.h"
#include "thread_names.h"

#define MAX_ENTRIES 8192	/* dict entries read at most (threading's dict has ~150) */
#define STR_READ 128		/* bytes of a str object read to compare or decode it */

#define TP_BASICSIZE 32
#define TP_FLAGS 168
#define TP_DICTOFFSET 288
#define MD_DICT 16		/* PyModuleObject.md_dict */
#define TPFLAGS_INLINE_VALUES (1UL << 2)	/* 3.13+ */
#define TPFLAGS_MANAGED_DICT (1UL << 4)		/* 3.11+ */

/* offsetof(PyInterpreterState, modules / imports.modules), offsetof(PyHeapTypeObject,
 * ht_cached_keys), by minor version; 0: unknown. */
static const struct {
	int minor;
	uint32_t interp_modules, ht_cached_keys;
} versions[] = {
	{ 6, 16, 856 }, { 7, 40, 856 }, { 8, 56, 872 }, { 9, 856, 864 }, { 10, 856, 872 },
	{ 11, 888, 872 }, { 12, 944, 880 }, { 13, 7656, 880 },
};

struct reader {
	int pid;
	int minor;
	const struct pyi_layout *lay;
	uint32_t ht_cached_keys;
	uint64_t shared_keys;	/* instances share their class's keys: where "_name" was */
	long shared_index;
};

static int rd(const struct reader *r, uint64_t addr, void *buf, size_t len)
{
	if (!addr || addr + len < addr)
		return -EIO;
	return proc_read(r->pid, addr, buf, len) ? -EIO : 0;
}

static int rd64(const struct reader *r, uint64_t addr, uint64_t *v)
{
	return rd(r, addr, v, sizeof(*v));
}

/* A dict keys table as read: where its entries are and how they look. */
struct keys {
	uint64_t entries;	/* address of entry 0 */
	uint32_t nentries;
	uint32_t entry_size;	/* 24: (hash, key, value); 16: (key, value) */
	uint32_t key_off;	/* offset of the key in an entry */
};

static int read_keys(const struct reader *r, uint64_t addr, struct keys *k)
{
	uint8_t h[40];
	uint64_t size, nentries, index_bytes;

	if (rd(r, addr, h, sizeof(h)))
		return -EIO;
	if (r->minor <= 10) {
		memcpy(&size, h + 8, 8);
		memcpy(&nentries, h + 32, 8);
		if (size == 0 || size > (1u << 26) || (size & (size - 1)))
			return -EIO;
		index_bytes = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		k->entries = addr + 40 + size * index_bytes;
		k->entry_size = 24;
		k->key_off = 8;
	} else {
		if (h[8] > 26 || h[9] > 30)
			return -EIO;
		memcpy(&nentries, h + 24, 8);
		k->entries = addr + 32 + (1ULL << h[9]);
		k->entry_size = h[10] == 0 ? 24 : 16;	/* DICT_KEYS_GENERAL : UNICODE/SPLIT */
		k->key_off = h[10] == 0 ? 8 : 0;
	}
	if (nentries > MAX_ENTRIES)
		return -EIO;
	k->nentries = (uint32_t)nentries;
	return 0;
}

/* Whether the str object at addr holds exactly the ASCII text want. */
static bool str_equals(const struct reader *r, uint64_t addr, const char *want)
{
	const struct pyi_offsets *o = &r->lay->off;
	size_t n = strlen(want);
	uint8_t obj[STR_READ];
	int64_t length;
	uint32_t state;

	if ((size_t)o->unicode_ascii_size + n > sizeof(obj) || rd(r, addr, obj, sizeof(obj)))
		return false;
	memcpy(&length, obj + o->unicode_length, sizeof(length));
	memcpy(&state, obj + o->unicode_state, sizeof(state));
	if (length != (int64_t)n || !(state >> r->lay->unicode_ascii_bit & 1) ||
	    !(state >> r->lay->unicode_compact_bit & 1))
		return false;
	return !memcmp(obj + o->unicode_ascii_size, want, n);
}

/* The index of the entry whose key is the str want, or -1. */
static long keys_find(const struct reader *r, const struct keys *k, uint8_t *ents,
		      const char *want, uint64_t *value)
{
	if (r->shared_keys && k->entries == r->shared_keys && r->shared_index >= 0 &&
	    r->shared_index < (long)k->nentries) {
		memcpy(value, ents + (size_t)r->shared_index * k->entry_size + k->key_off + 8, 8);
		return r->shared_index;
	}
	for (uint32_t i = 0; i < k->nentries; i++) {
		uint64_t key;

		memcpy(&key, ents + (size_t)i * k->entry_size + k->key_off, 8);
		if (key && str_equals(r, key, want)) {
			memcpy(value, ents + (size_t)i * k->entry_size + k->key_off + 8, 8);
			return (long)i;
		}
	}
	return -1;
}

static int read_entries(const struct reader *r, const struct keys *k, uint8_t **ents)
{
	size_t len = (size_t)k->nentries * k->entry_size;

	*ents = malloc(len ? len : 1);
	if (!*ents)
		return -ENOMEM;
	if (len && rd(r, k->entries, *ents, len)) {
		free(*ents);
		return -EIO;
	}
	return 0;
}

/* values[i] of a split table or of an object's own values (3.13+: after an 8-byte header). */
static int split_value(const struct reader *r, uint64_t values, long i, uint64_t *value)
{
	if (r->minor >= 13)
		values += 8;
	return rd64(r, values + 8 * (uint64_t)i, value);
}

/* dict[want] for a str key, looked up by content. */
static int dict_get(const struct reader *r, uint64_t dict, const char *want, uint64_t *value)
{
	uint64_t keys_addr, values;
	struct keys k;
	uint8_t *ents;
	long i;
	int rc;

	if (rd64(r, dict + 32, &keys_addr) || rd64(r, dict + 40, &values))
		return -EIO;
	rc = read_keys(r, keys_addr, &k) ?: read_entries(r, &k, &ents);
	if (rc)
		return rc;
	i = keys_find(r, &k, ents, want, value);
	free(ents);
	if (i < 0)
		return -ENOENT;
	return values ? split_value(r, values, i, value) : 0;
}

/* obj.attr for an instance of a Python class (its own attributes, not the class's). */
static int attr_get(struct reader *r, uint64_t obj, const char *attr, uint64_t *value)
{
	uint64_t type, flags, dict = 0, values = 0, keys_addr, tagged;
	int64_t dictoffset, basicsize;
	uint8_t valid;
	struct keys k;
	uint8_t *ents;
	long i;
	int rc;

	if (rd64(r, obj + 8, &type) || rd64(r, type + TP_FLAGS, &flags) ||
	    rd(r, type + TP_DICTOFFSET, &dictoffset, 8) || rd(r, type + TP_BASICSIZE, &basicsize, 8))
		return -EIO;
	if (r->minor >= 13 && (flags & TPFLAGS_INLINE_VALUES)) {
		if (basicsize <= 0 || basicsize > 4096 ||
		    rd(r, obj + (uint64_t)basicsize + 3, &valid, 1))
			return -EIO;
		if (valid)
			values = obj + (uint64_t)basicsize;
		else if (rd64(r, obj - 24, &dict))
			return -EIO;
	} else if (r->minor >= 11 && (flags & TPFLAGS_MANAGED_DICT)) {
		if (rd64(r, obj - 24, &tagged))
			return -EIO;
		if (r->minor == 12 && (tagged & 1))
			values = tagged + 1;	/* _PyDictOrValues: values - 1 */
		else if (tagged)
			dict = tagged;
		else if (r->minor == 11 && rd64(r, obj - 32, &values))
			return -EIO;
	} else if (dictoffset > 0 && dictoffset < 4096) {
		if (rd64(r, obj + (uint64_t)dictoffset, &dict))
			return -EIO;
	} else {
		return -ENOTSUP;
	}
	if (dict)
		return dict_get(r, dict, attr, value);
	if (!values)
		return -ENOENT;
	/* values only: the keys are the class's shared ones */
	if (rd64(r, type + r->ht_cached_keys, &keys_addr))
		return -EIO;
	rc = read_keys(r, keys_addr, &k) ?: read_entries(r, &k, &ents);
	if (rc)
		return rc;
	i = keys_find(r, &k, ents, attr, value);
	free(ents);
	if (i < 0)
		return -ENOENT;
	/* every Thread shares these keys: the next one needs no string compares */
	r->shared_keys = k.entries;
	r->shared_index = i;
	return split_value(r, values, i, value);
}

/* A non-negative int object below 2**64. */
static int read_int(const struct reader *r, uint64_t obj, uint64_t *v)
{
	uint64_t size;
	uint32_t digits[3];
	unsigned int n;

	if (rd64(r, obj + 16, &size))
		return -EIO;
	if (r->minor >= 12) {
		if ((size & 3) == 2)
			return -ERANGE;	/* negative */
		n = (unsigned int)(size >> 3);
	} else {
		if ((int64_t)size < 0)
			return -ERANGE;
		n = (unsigned int)size;
	}
	if (n > 3 || (n && rd(r, obj + 24, digits, n * sizeof(digits[0]))))
		return -EIO;
	*v = 0;
	while (n--)
		*v = (*v << 30) | (digits[n] & 0x3fffffff);
	return 0;
}

static int add_name(const struct reader *r, struct thread_names *out, uint64_t ident,
		    uint64_t name_obj)
{
	uint8_t obj[STR_READ + THREAD_NAME_MAX * 4];
	struct thread_name *v;

	if (out->n == out->cap) {
		v = realloc(out->v, (out->cap ? out->cap * 2 : 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = out->cap ? out->cap * 2 : 16;
	}
	if (rd(r, name_obj, obj, sizeof(obj)) &&
	    rd(r, name_obj, obj, (size_t)r->lay->off.unicode_compact_size + 16))
		return -EIO;
	v = &out->v[out->n];
	if (pystr_from_object(r->lay, obj, sizeof(obj), v->name, sizeof(v->name)) < 0)
		return -EIO;
	v->ident = ident;
	out->n++;
	return 0;
}

static int by_ident(const void *a, const void *b)
{
	const struct thread_name *x = a, *y = b;

	return (x->ident > y->ident) - (x->ident < y->ident);
}

int thread_names_read(int pid, int minor, const struct pyi_layout *lay, uint64_t interp,
		      struct thread_names *out)
{
	struct reader r = { .pid = pid, .minor = minor, .lay = lay };
	uint64_t modules, threading, globals, active, keys_addr, values, key, thread, name;
	uint32_t interp_modules = 0;
	struct keys k;
	uint8_t *ents;
	int rc;

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (versions[i].minor == minor) {
			interp_modules = versions[i].interp_modules;
			r.ht_cached_keys = versions[i].ht_cached_keys;
		}
	}
	if (!interp_modules)
		return -ENOTSUP;
	out->n = 0;
	if (rd64(&r, interp + interp_modules, &modules))
		return -EIO;
	rc = dict_get(&r, modules, "threading", &threading);
	if (rc)
		return rc;
	if (rd64(&r, threading + MD_DICT, &globals))
		return -EIO;
	rc = dict_get(&r, globals, "_active", &active);
	if (rc)
		return rc;
	if (rd64(&r, active + 32, &keys_addr) || rd64(&r, active + 40, &values))
		return -EIO;
	if (values)
		return -EIO;	/* a dict of ints is never split */
	rc = read_keys(&r, keys_addr, &k) ?: read_entries(&r, &k, &ents);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < k.nentries && !rc; i++) {
		uint64_t ident = 0;

		memcpy(&key, ents + (size_t)i * k.entry_size + k.key_off, 8);
		memcpy(&thread, ents + (size_t)i * k.entry_size + k.key_off + 8, 8);
		if (!key || !thread)
			continue;	/* a deleted entry */
		if (read_int(&r, key, &ident) || attr_get(&r, thread, "_name", &name))
			continue;	/* a thread being set up, or torn down */
		rc = add_name(&r, out, ident, name);
		if (rc == -EIO)
			rc = 0;
	}
	free(ents);
	if (out->n)	/* qsort(NULL, 0, ...) is undefined */
		qsort(out->v, out->n, sizeof(*out->v), by_ident);
	return rc;
}

const char *thread_names_find(const struct thread_names *names, uint64_t ident)
{
	struct thread_name key = { .ident = ident }, *hit;

	if (!names->n)
		return NULL;
	hit = bsearch(&key, names->v, names->n, sizeof(*names->v), by_ident);
	return hit ? hit->name : NULL;
}

void thread_names_free(struct thread_names *names)
{
	free(names->v);
	memset(names, 0, sizeof(*names));
}
