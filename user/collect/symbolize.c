// SPDX-License-Identifier: MIT
/* Code objects -> pyinstrument frame_info strings (see symbolize.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "hash_index.h"
#include "linetable.h"
#include "log.h"
#include "proc.h"
#include "pystr.h"
#include "session.h"
#include "symbolize.h"

#define FRAME_CACHE_MAX (1u << 19)	/* entries; cleared when full so memory stays bounded */
#define TYPE_CACHE_SIZE 4096
#define NAME_MAX_UTF8 (PYI_STR_MAX * 4 + 8)
/*
 * Entries a code record pushed out of the mirror, newest kept. Two code objects of one stack
 * can share a cache slot: the kernel describes the first, then the second in its place, and
 * sends the sample after both; the first is then only here (a class body or a module's code,
 * freed once it has run, could not be read back: test_churn_names_right saw <unknown>).
 */
#define EVICTED_MAX 256
#define CO_FLAGS_TRACEBACKHIDE_UNKNOWN 0

struct code_sym {
	char *name;
	char *file;
	int firstlineno;
	uint32_t firsttraceable;
	uint32_t linetable_len;
	uint8_t *linetable;
};

struct mirror_entry {
	int pid;
	uint32_t cookie;
	uint64_t code;
	struct code_sym *sym;
	bool forgotten;	/* its process exited or exec'd: not kept once pushed out */
};

struct frame_key {
	int pid;
	uint32_t cookie;
	uint64_t code;
	uint64_t cls;
	int32_t lasti;
};

struct frame_entry {
	struct frame_key key;
	uint32_t id;
};

struct type_entry {
	int pid;
	uint64_t ptr;
	char *name;	/* NULL: not a type we could name */
};

struct symbolizer {
	unsigned int rows;
	struct mirror_entry *mirror;	/* rows * PYI_CODE_CACHE_SLOTS */
	struct mirror_entry evicted[EVICTED_MAX];	/* a ring, next at evicted_next */
	unsigned int evicted_next;
	struct frame_entry *frames;	/* in the order they were cached */
	size_t frames_cap, frames_len;
	struct hash_index frame_index;	/* over frames, by key */
	struct type_entry types[TYPE_CACHE_SIZE];
	struct symbolizer_stats st;
};

static void code_sym_free(struct code_sym *cs)
{
	if (!cs)
		return;
	free(cs->name);
	free(cs->file);
	free(cs->linetable);
	free(cs);
}

struct symbolizer *symbolizer__new(unsigned int rows)
{
	struct symbolizer *sy = calloc(1, sizeof(*sy));

	if (!sy)
		return NULL;
	sy->rows = rows;
	sy->mirror = calloc((size_t)rows * PYI_CODE_CACHE_SLOTS, sizeof(*sy->mirror));
	if (!sy->mirror) {
		symbolizer__free(sy);
		errno = ENOMEM;
		return NULL;
	}
	return sy;
}

void symbolizer__free(struct symbolizer *sy)
{
	size_t i;

	if (!sy)
		return;
	if (sy->mirror) {
		for (i = 0; i < (size_t)sy->rows * PYI_CODE_CACHE_SLOTS; i++)
			code_sym_free(sy->mirror[i].sym);
	}
	for (i = 0; i < EVICTED_MAX; i++)
		code_sym_free(sy->evicted[i].sym);
	for (i = 0; i < TYPE_CACHE_SIZE; i++)
		free(sy->types[i].name);
	free(sy->mirror);
	free(sy->frames);
	hash_index_free(&sy->frame_index);
	free(sy);
}

/* Field separators of frame_info must not appear inside a name. */
static char *decode_name(const struct pyi_str *s, const char *fallback)
{
	char buf[NAME_MAX_UTF8];
	int i, n;

	if (!s->ok)
		return strdup(fallback);
	n = pystr_decode(s, buf, sizeof(buf));
	if (n < 0)
		return strdup(fallback);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\0' || buf[i] == '\x01')
			buf[i] = '?';
	}
	buf[n] = '\0';
	return strdup(buf);
}

int symbolizer_add_code(struct symbolizer *sy, const struct pyi_code *rec)
{
	struct mirror_entry *e;
	struct code_sym *cs;

	if (rec->row >= sy->rows || rec->slot >= PYI_CODE_CACHE_SLOTS ||
	    rec->linetable_copied > PYI_LINETABLE_MAX)
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->name = decode_name(&rec->name, "<unknown>");
	cs->file = decode_name(&rec->filename, "<unknown>");
	cs->firstlineno = rec->firstlineno;
	cs->firsttraceable = rec->firsttraceable;
	cs->linetable_len = rec->linetable_copied;
	cs->linetable = malloc(rec->linetable_copied + 1);
	if (!cs->name || !cs->file || !cs->linetable) {
		code_sym_free(cs);
		return -ENOMEM;
	}
	memcpy(cs->linetable, rec->linetable, rec->linetable_copied);
	e = &sy->mirror[(size_t)rec->row * PYI_CODE_CACHE_SLOTS + rec->slot];
	if (e->sym && !e->forgotten) {
		struct mirror_entry *old = &sy->evicted[sy->evicted_next++ % EVICTED_MAX];

		code_sym_free(old->sym);
		*old = *e;
	} else {
		code_sym_free(e->sym);
	}
	e->forgotten = false;
	e->pid = (int)rec->pid;
	e->code = rec->code;
	e->cookie = rec->cookie;
	e->sym = cs;
	sy->st.codes++;
	return 0;
}

/* A str object of the target, read here: its header, then its inline data. */
static char *read_str(const struct sym_target *t, uint64_t obj)
{
	const struct pyi_offsets *o = t->off;
	uint8_t buf[PYI_STR_MAX + 128];
	char out[NAME_MAX_UTF8];
	size_t head = o->unicode_compact_size, len = sizeof(buf);
	int n, i;

	if (!obj)
		return NULL;
	/* as much as is there: the object may end near the end of a mapping */
	while (len > head && proc_read(t->pid, obj, buf, len))
		len = len > head + 64 ? len - 64 : head;
	if (len <= head)
		return NULL;
	n = pystr_from_object(t->layout, buf, len, out, sizeof(out));
	if (n < 0)
		return NULL;
	for (i = 0; i < n; i++) {
		if (out[i] == '\0' || out[i] == '\x01')
			out[i] = '?';
	}
	out[n < (int)sizeof(out) ? n : (int)sizeof(out) - 1] = '\0';
	return strdup(out);
}

static uint64_t block_u64(const uint8_t *b, int off)
{
	uint64_t v = 0;

	if (off >= 0 && off + 8 <= PYI_CODE_BLOCK)
		memcpy(&v, b + off, 8);
	return v;
}

static int32_t block_s32(const uint8_t *b, int off)
{
	int32_t v = 0;

	if (off >= 0 && off + 4 <= PYI_CODE_BLOCK)
		memcpy(&v, b + off, 4);
	return v;
}

/*
 * A code object the kernel did not describe (its per-sample budget ran out, or its record was
 * lost) is read here while the process lives. The cookie proves it is still the same object.
 */
static struct code_sym *read_code(struct symbolizer *sy, const struct sym_target *t,
				  uint64_t code, uint32_t cookie)
{
	const struct pyi_offsets *o = t->off;
	uint8_t block[PYI_CODE_BLOCK];
	uint64_t table, name, size = 0;
	__u64 window[PYI_NAME_WINDOW / 8];
	struct code_sym *cs;

	if (!t->layout || proc_read(t->pid, code, block, sizeof(block)) ||
	    block_u64(block, o->object_type) != t->code_type)
		return NULL;
	table = block_u64(block, o->code_linetable);
	name = block_u64(block, o->code_name);
	if (!name || proc_read(t->pid, name + o->unicode_length, window, sizeof(window)))
		memset(window, 0, sizeof(window));
	if (pyi_cookie(name, block_u64(block, o->code_filename), table,
		       block_s32(block, o->code_firstlineno), block_s32(block, o->code_flags),
		       window) != cookie)
		return NULL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->name = read_str(t, block_u64(block, o->code_name));
	cs->file = read_str(t, block_u64(block, o->code_filename));
	cs->firstlineno = block_s32(block, o->code_firstlineno);
	cs->firsttraceable = o->code_firsttraceable >= 0 ?
			     (uint32_t)block_s32(block, o->code_firsttraceable) : 0;
	if (table && !proc_read(t->pid, table + o->bytes_size, &size, sizeof(size)) &&
	    size <= PYI_LINETABLE_MAX * 16) {
		cs->linetable = malloc(size + 1);
		if (cs->linetable && !proc_read(t->pid, table + o->bytes_data, cs->linetable, size))
			cs->linetable_len = (uint32_t)size;
	}
	if (!cs->name || !cs->file) {
		code_sym_free(cs);
		return NULL;
	}
	sy->st.read_here++;
	return cs;
}

/* A description the mirror no longer holds (EVICTED_MAX), newest first; NULL if none. */
static struct code_sym *evicted_find(struct symbolizer *sy, int pid, uint64_t code,
				     uint32_t cookie)
{
	for (unsigned int i = 1; i <= EVICTED_MAX; i++) {
		struct mirror_entry *e = &sy->evicted[(sy->evicted_next - i) % EVICTED_MAX];

		if (e->sym && e->pid == pid && e->code == code && e->cookie == cookie)
			return e->sym;
	}
	return NULL;
}

static uint64_t frame_key_hash(const struct frame_key *k)
{
	return hash_combine(hash_combine(hash_combine(hash_combine((uint64_t)k->pid, k->code),
						      k->cookie), k->cls), (uint32_t)k->lasti);
}

static uint64_t frame_hash_of(const void *ctx, uint32_t i)
{
	return frame_key_hash(&((const struct symbolizer *)ctx)->frames[i].key);
}

/* The cached frame of k, or NULL; *pos: where its entry is or would go in the index. */
static struct frame_entry *frame_cache_find(struct symbolizer *sy, const struct frame_key *k,
					    uint32_t *pos)
{
	struct frame_entry *e;
	uint32_t i;

	for (i = hash_index_first(&sy->frame_index, frame_key_hash(k), pos); i != HASH_INDEX_NONE;
	     i = hash_index_next(&sy->frame_index, pos)) {
		e = &sy->frames[i];
		if (e->key.pid == k->pid && e->key.code == k->code && e->key.cookie == k->cookie &&
		    e->key.cls == k->cls && e->key.lasti == k->lasti)
			return e;
	}
	return NULL;
}

static void frame_cache_clear(struct symbolizer *sy)
{
	hash_index_clear(&sy->frame_index);
	sy->frames_len = 0;
}

static void frame_cache_add(struct symbolizer *sy, const struct frame_key *k, uint32_t id)
{
	uint32_t pos;

	/* bounded memory on long sessions: start over (ids stay valid in the session) */
	if (sy->frames_len >= FRAME_CACHE_MAX)
		frame_cache_clear(sy);
	if (hash_index_reserve(&sy->frame_index, frame_hash_of, sy) ||
	    array_reserve(&sy->frames, &sy->frames_cap, sy->frames_len + 1, sizeof(*sy->frames)))
		return;
	frame_cache_find(sy, k, &pos);
	sy->frames[sy->frames_len] = (struct frame_entry){ *k, id };
	hash_index_put(&sy->frame_index, pos, (uint32_t)sy->frames_len++);
}

/* The short name of a type, as pyinstrument prints it (after the last dot of tp_name). */
static const char *type_name(struct symbolizer *sy, const struct sym_target *t, uint64_t ptr)
{
	struct type_entry *e = &sy->types[hash_combine((uint64_t)t->pid, ptr) &
					  (TYPE_CACHE_SIZE - 1)];
	bool claimed_type = ptr & 1;
	uint64_t obj = ptr & ~1ULL, meta = 0, name_ptr = 0;
	char buf[257] = "";
	const char *dot;

	if (e->pid == t->pid && e->ptr == ptr)
		return e->name;
	free(e->name);
	e->pid = t->pid;
	e->ptr = ptr;
	e->name = NULL;
	/* a cls argument must be a type: its type is type (or a metaclass whose type is type) */
	if (claimed_type) {
		if (proc_read(t->pid, obj + t->off->object_type, &meta, sizeof(meta)))
			return NULL;
		if (meta != t->type_type &&
		    (proc_read(t->pid, meta + t->off->object_type, &meta, sizeof(meta)) ||
		     meta != t->type_type))
			return NULL;
	}
	if (proc_read(t->pid, obj + t->off->type_name, &name_ptr, sizeof(name_ptr)) || !name_ptr)
		return NULL;
	/* tp_name may end closer than 256 bytes before unmapped memory: read in small steps */
	for (size_t off = 0; off < sizeof(buf) - 1; off += 32) {
		if (proc_read(t->pid, name_ptr + off, buf + off, 32))
			break;
		if (memchr(buf + off, '\0', 32))
			break;
	}
	buf[sizeof(buf) - 1] = '\0';
	log_sanitize(buf, strlen(buf));
	dot = strrchr(buf, '.');
	e->name = strdup(dot ? dot + 1 : buf);
	return e->name;
}

static uint32_t intern_frame(struct symbolizer *sy, struct session *s, const struct sym_target *t,
			     const struct code_sym *cs, const struct pyi_frame *f)
{
	char info[2 * NAME_MAX_UTF8 + 600];
	const char *cls = f->cls ? type_name(sy, t, f->cls) : NULL;
	int n, line;

	n = snprintf(info, sizeof(info), "%s%c%s%c%d", cs->name, 0, cs->file, 0, cs->firstlineno);
	if (cls && n < (int)sizeof(info))
		n += snprintf(info + n, sizeof(info) - n, "\x01" "c%s", cls);
	line = linetable_line(t->version_hex, cs->linetable, cs->linetable_len, cs->firstlineno,
			      f->lasti);
	if (line >= 1 && n < (int)sizeof(info))
		n += snprintf(info + n, sizeof(info) - n, "\x01l%d", line);
	if (n >= (int)sizeof(info))
		n = sizeof(info) - 1;
	return session_intern_frame(s, info, (size_t)n);
}

uint32_t symbolizer_frame(struct symbolizer *sy, struct session *s, const struct sym_target *t,
			  uint32_t row, const struct pyi_frame *f)
{
	struct frame_key k = {
		.pid = t->pid, .code = f->code, .cookie = f->cookie, .cls = f->cls,
		.lasti = f->lasti,
	};
	static const char unknown[] = "<unknown>\0<unknown>\0" "0";
	struct code_sym *cs, *own = NULL;
	struct mirror_entry *m;
	struct frame_entry *e;
	uint32_t id, pos;

	e = frame_cache_find(sy, &k, &pos);
	if (e)
		return e->id;
	if (row >= sy->rows)
		return SESSION_NO_FRAME;
	m = &sy->mirror[(size_t)row * PYI_CODE_CACHE_SLOTS + pyi_code_slot(f->code)];
	if (m->pid == t->pid && m->code == f->code && m->cookie == f->cookie && m->sym)
		cs = m->sym;
	else if (!(cs = evicted_find(sy, t->pid, f->code, f->cookie)))
		cs = own = read_code(sy, t, f->code, f->cookie);
	if (!cs) {
		sy->st.unresolved++;
		return session_intern_frame(s, unknown, sizeof(unknown) - 1);
	}
	/* 3.11+: a frame whose instruction is before the first traceable one has not started
	 * (CPython's _PyFrame_IsIncomplete); f_back-style walks skip it, so do we */
	if (t->version_hex >= 0x030b0000 && f->lasti < (int32_t)(cs->firsttraceable * 2))
		id = SESSION_NO_FRAME;
	else
		id = intern_frame(sy, s, t, cs, f);
	code_sym_free(own);
	frame_cache_add(sy, &k, id);
	return id;
}

void symbolizer_forget(struct symbolizer *sy, int pid)
{
	size_t i;

	/* after an exec the same addresses may hold other code objects: drop every cached frame,
	 * and the descriptions only this side keeps; the mirror stays as the kernel's cache is,
	 * but what it holds of the process now is not kept once pushed out */
	frame_cache_clear(sy);
	for (i = 0; i < EVICTED_MAX; i++) {
		if (sy->evicted[i].pid == pid) {
			code_sym_free(sy->evicted[i].sym);
			memset(&sy->evicted[i], 0, sizeof(sy->evicted[i]));
		}
	}
	for (i = 0; i < (size_t)sy->rows * PYI_CODE_CACHE_SLOTS; i++) {
		if (sy->mirror[i].pid == pid)
			sy->mirror[i].forgotten = true;
	}

	for (i = 0; i < TYPE_CACHE_SIZE; i++) {
		if (sy->types[i].pid == pid) {
			free(sy->types[i].name);
			memset(&sy->types[i], 0, sizeof(sy->types[i]));
		}
	}
}

void symbolizer_forget_frames(struct symbolizer *sy)
{
	frame_cache_clear(sy);
}

void symbolizer_stats(const struct symbolizer *sy, struct symbolizer_stats *st)
{
	*st = sy->st;
	st->frame_cache_entries = sy->frames_len;
}
