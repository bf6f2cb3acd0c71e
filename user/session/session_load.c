// SPDX-License-Identifier: MIT
/*
 * .pyisession import: pyinstrument's files and ours. Loading streams the mapped file: memory
 * grows with distinct frames and stacks and 16 bytes per record, not with the size of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "hash_index.h"
#include "json_lex.h"
#include "session.h"
#include "session_file.h"

/* 2^53: larger sample counts cannot be held exactly in the double they are parsed into. */
#define MAX_EXACT_INT 9007199254740992.0

/*
 * Loading. The file is mapped and tokenized in one pass for this schema: no tree is built, header
 * keys may come in any order, unknown keys are skipped (validated, nested at most
 * a thousand deep), and each record's frames are interned as they are read.
 *
 * Most of a big file is the same few thousand frame strings written again and again, so frames
 * are recognized by their bytes in the file before anything is decoded (SESSION_LOAD_PLAIN turns
 * all three off, for the differential fuzz check that they change nothing):
 * - a whole stack written byte for byte as the previous stack of its thread is that stack (JSON
 *   text of an array ends at its bracket: bytes that match a whole array are that array);
 * - consecutive stacks of a thread usually share a prefix: a frame written as the previous
 *   stack's frame at that depth continues its stack. One such cache per recent root frame
 *   (thread), as threads interleave;
 * - any other frame is looked up by a hash of its JSON bytes (raw_frame), and is decoded and
 *   interned only the first time those bytes are seen. The stacks a raw frame made under its
 *   last two parents are kept with it, so a hit usually skips the stack table too.
 * What is compared is bytes of a string that decoded without error before: the same bytes decode
 * the same way, so the session is the one the plain tokenizer path builds.
 */

#define DROP_BEHIND (4u << 20)		/* mapped bytes kept resident behind the cursor */
#define NPREFIX 16			/* prefix caches: one per thread root, recently used */
#define RAW_FRAMES_MAX (1u << 20)	/* raw frame texts remembered; past that, decoded */

struct strvec {
	char **v;
	size_t n, cap;
};

/* A frame of the previous record: its JSON text (between the quotes) and the stack it ends. */
struct prefix_ent {
	const char *raw;
	size_t len;
	uint32_t stack;
};

/* The last stack read under one root frame (a thread, or a process after combine): samples of
 * several threads interleave, and each thread's next stack mostly shares a prefix with its last. */
struct prefix {
	struct prefix_ent *v;
	uint32_t n;
	size_t cap;
	uint64_t used;			/* when it was last used, for replacement */
	const char *span;		/* the whole stack's text, '[' to ']', in the file */
	size_t span_len;		/* 0: none */
};

/* A frame string's JSON text (a copy, between the quotes), the frame it decodes to, and the
 * stacks it made last, under which parents (the latest first). */
struct raw_frame {
	char *raw;
	uint32_t len;
	uint32_t frame;
	uint32_t parent[2], stack[2];
	uint64_t hash;
};

enum hdr_key {
	K_START_TIME, K_DURATION, K_MIN_INTERVAL, K_MAX_INTERVAL, K_SAMPLE_COUNT,
	K_START_CALL_STACK, K_TARGET_DESCRIPTION, K_CPU_TIME, K_SYS_PATH, K_SYS_PREFIXES,
	K_FRAME_RECORDS, K_ORIGIN, K_UNKNOWN,
};

static const char *const key_names[] = {
	"start_time", "duration", "min_interval", "max_interval", "sample_count",
	"start_call_stack", "target_description", "cpu_time", "sys_path", "sys_prefixes",
	"frame_records", SESSION_ORIGIN_KEY,
};

struct loader {
	struct json_lex lx;		/* the text, the cursor and the reason of a failure */
	struct session *s;
	size_t mapped;			/* mapping length, 0 when the text was read */
	size_t dropped;			/* bytes of the mapping released behind the cursor */
	bool plain;			/* SESSION_LOAD_PLAIN: the tokenizer alone */
	struct prefix prefixes[NPREFIX];
	struct prefix *mru;		/* the last one picked */
	uint64_t nstacks;		/* stacks read so far: the clock of prefix.used */
	struct raw_frame *raws;
	uint32_t nraws;
	size_t cap_raws;
	struct hash_index raw_index;	/* over raws, by the hash of their text */
	uint32_t seen;			/* 1 << enum hdr_key */
	double num[K_CPU_TIME + 1];	/* the numeric header fields */
	uint32_t start_stack;
	char *target;
	struct strvec lists[2];		/* sys_path, sys_prefixes */
	struct session_origin origin;
};

/* The frame at the cursor when it is written as the previous stack's frame e was. */
static bool prefix_match(struct loader *l, const struct prefix_ent *e)
{
	const char *q = l->lx.p + 1;
	uint64_t a, b;

	if ((size_t)(l->lx.end - q) <= e->len || q[e->len] != '"')
		return false;
	/* frames of one length mostly differ at the end (a line, a thread id): look there first */
	if (e->len >= 8) {
		memcpy(&a, q + e->len - 8, 8);
		memcpy(&b, e->raw + e->len - 8, 8);
		if (a != b)
			return false;
	}
	if (memcmp(q, e->raw, e->len))
		return false;
	l->lx.p = q + e->len + 1;
	return true;
}

static int prefix_store(struct loader *l, struct prefix *c, uint32_t d, const char *raw,
			uint32_t stack)
{
	if (d >= c->cap && array_reserve(&c->v, &c->cap, (size_t)d + 1, sizeof(*c->v)))
		return json_fail(&l->lx, -ENOMEM, "out of memory");
	/* raw is the opening quote; the closing one is just before the cursor */
	c->v[d] = (struct prefix_ent){ raw + 1, (size_t)(l->lx.p - raw - 2), stack };
	return 0;
}

/* The cache whose root frame is the one at the cursor, else the least recently used (emptied). */
static struct prefix *prefix_pick(struct loader *l)
{
	struct prefix *c = l->mru, *lru = &l->prefixes[0];

	l->nstacks++;
	/* threads run in bursts: mostly the same one as the last stack's */
	if (c && c->n && prefix_match(l, &c->v[0])) {
		l->lx.p -= c->v[0].len + 2;
		goto out;
	}
	for (c = l->prefixes; c < l->prefixes + NPREFIX; c++) {
		if (c->n && prefix_match(l, &c->v[0])) {
			l->lx.p -= c->v[0].len + 2;	/* matched again below, as depth 0 */
			break;
		}
		if (c->used < lru->used)
			lru = c;
	}
	if (c == l->prefixes + NPREFIX) {
		c = lru;
		c->n = 0;
	}
out:
	c->used = l->nstacks;
	l->mru = c;
	return c;
}

/* 64 bits of text at a time: the raw frame table hashes every frame it is asked about. */
static uint64_t raw_hash(const char *p, size_t len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ULL, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, len);
	return hash_u64(h ^ w);
}

static uint64_t raw_hash_of(const void *ctx, uint32_t id)
{
	return ((const struct loader *)ctx)->raws[id].hash;
}

/* The end of the string whose opening quote is at p: its closing quote (one not escaped by an
 * odd run of backslashes), or NULL when the text ends first. */
static const char *string_end(const char *p, const char *end)
{
	const char *q = p + 1, *b;

	while ((q = memchr(q, '"', (size_t)(end - q)))) {
		for (b = q; b[-1] == '\\'; b--)
			;
		if (!((q - b) & 1))
			return q;
		q++;
	}
	return NULL;
}

/* Remembers that the text raw..raw+len (between the quotes) decodes to frame: in *out, or NULL
 * once the table is full. */
static int raw_add(struct loader *l, const char *raw, size_t len, uint64_t h, uint32_t pos,
		   uint32_t frame, struct raw_frame **out)
{
	struct raw_frame *r;
	char *copy;

	*out = NULL;
	if (l->nraws >= RAW_FRAMES_MAX || len > UINT32_MAX)
		return 0;
	if (array_reserve(&l->raws, &l->cap_raws, (size_t)l->nraws + 1, sizeof(*l->raws)))
		return -ENOMEM;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, raw, len);
	r = &l->raws[l->nraws];
	*r = (struct raw_frame){ .raw = copy, .len = (uint32_t)len, .frame = frame, .hash = h,
		.parent = { SESSION_NO_STACK, SESSION_NO_STACK },
		.stack = { SESSION_NO_STACK, SESSION_NO_STACK } };
	hash_index_put(&l->raw_index, pos, l->nraws++);
	*out = r;
	return 0;
}

/*
 * The frame string at the cursor, pushed on parent: *stack. Its bytes are looked up first; only
 * text not seen before is decoded and interned (and then remembered).
 */
static int push_frame(struct loader *l, uint32_t parent, uint32_t *stack)
{
	struct json_lex *x = &l->lx;
	const char *raw = x->p + 1, *q = l->plain ? NULL : string_end(x->p, x->end), *str;
	uint32_t frame, id, pos = 0;
	struct raw_frame *r = NULL;
	uint64_t h = 0;
	size_t len;

	if (q) {
		len = (size_t)(q - raw);
		h = raw_hash(raw, len);
		if ((l->raw_index.n + 1ull) * 2 > l->raw_index.mask + 1ull &&
		    hash_index_reserve(&l->raw_index, raw_hash_of, l))
			return json_fail(x, -ENOMEM, "out of memory");
		for (id = hash_index_first(&l->raw_index, h, &pos); id != HASH_INDEX_NONE;
		     id = hash_index_next(&l->raw_index, &pos)) {
			r = &l->raws[id];
			if (r->hash == h && r->len == len && !memcmp(r->raw, raw, len))
				break;
			r = NULL;
		}
	}
	if (r) {
		x->p = q + 1;
		frame = r->frame;
		for (int i = 0; i < 2; i++) {
			if (r->parent[i] == parent && r->stack[i] != SESSION_NO_STACK) {
				*stack = r->stack[i];
				return 0;
			}
		}
	} else {
		if (json_lex_string(x, &str, &len))
			return -EINVAL;
		frame = session_intern_frame(l->s, str, len);
		if (frame == SESSION_NO_FRAME)
			return json_fail(x, -ENOMEM, "out of memory");
		/* q is where the tokenizer stopped too, for a string that decoded */
		if (q && x->p == q + 1 && raw_add(l, raw, (size_t)(q - raw), h, pos, frame, &r))
			return json_fail(x, -ENOMEM, "out of memory");
	}
	*stack = session_stack_push(l->s, parent, frame);
	if (r && !session_error(l->s)) {
		r->parent[1] = r->parent[0];
		r->stack[1] = r->stack[0];
		r->parent[0] = parent;
		r->stack[0] = *stack;
	}
	return 0;
}

/* The whole stack at the cursor ('[') is written as c's last one: moves past it. */
static bool span_match(struct loader *l, const struct prefix *c, const char *open)
{
	if (!c->span_len || (size_t)(l->lx.end - open) < c->span_len ||
	    memcmp(open, c->span, c->span_len))
		return false;
	l->lx.p = open + c->span_len;
	return true;
}

/* A list of frame_info strings, root first, interned as one stack. */
static int load_stack(struct loader *l, const char *what, size_t idx, uint32_t *stack)
{
	struct json_lex *x = &l->lx;
	uint32_t st = SESSION_NO_STACK, depth = 0;
	struct prefix *c = NULL;
	bool same = true;
	const char *raw, *open;
	int err;

	if (json_peek(x) != '[')
		return json_type_error(x, "%s[%zu]: expected a list of frames", what, idx);
	open = x->p++;
	if (json_eat(x, ']'))
		goto out;
	do {
		if (json_peek(x) != '"')
			return json_type_error(x, "%s[%zu]: frame %u is not a string", what, idx,
					       depth);
		if (depth == SESSION_MAX_DEPTH)
			return json_fail(x, -EINVAL, "%s[%zu]: stack deeper than %d frames", what,
					 idx, SESSION_MAX_DEPTH);
		if (!c && !l->plain) {
			c = prefix_pick(l);
			if (c->n && span_match(l, c, open)) {
				*stack = c->v[c->n - 1].stack;
				return 0;
			}
		}
		if (c && same && depth < c->n && prefix_match(l, &c->v[depth])) {
			st = c->v[depth++].stack;
			continue;
		}
		same = false;
		raw = l->lx.p;
		if ((err = push_frame(l, st, &st)))
			return err;
		if (c && prefix_store(l, c, depth, raw, st))
			return -ENOMEM;
		depth++;
	} while (json_eat(x, ','));
	if (!json_eat(x, ']'))
		return json_syntax_error(x);
out:
	if (c) {
		c->n = depth;
		c->span = open;
		c->span_len = (size_t)(x->p - open);
	}
	if (session_error(l->s))
		return json_fail(x, session_error(l->s), "out of memory");
	*stack = st;
	return 0;
}

/* Gives back the mapped pages the cursor has left behind: RSS stays flat on big files. A frame
 * of the prefix cache that lies there is only read again from the page cache. */
static void drop_behind(struct loader *l)
{
	size_t pos = (size_t)(l->lx.p - l->lx.base), page = 4096;

	if (!l->mapped || pos - l->dropped < 2 * DROP_BEHIND)
		return;
	pos = (pos - DROP_BEHIND) & ~(page - 1);
	madvise((char *)l->lx.base + l->dropped, pos - l->dropped, MADV_DONTNEED);
	l->dropped = pos;
}

/* [[frame, ...], time] */
static int load_record(struct loader *l, size_t i)
{
	struct json_lex *x = &l->lx;
	uint32_t stack;
	double w;
	int err;

	if (json_peek(x) != '[')
		return json_type_error(x, "frame_records[%zu]: expected [stack, time]", i);
	x->p++;
	if (json_peek(x) == ']')
		return json_fail(x, -EINVAL, "frame_records[%zu]: expected [stack, time]", i);
	if ((err = load_stack(l, "frame_records", i, &stack)))
		return err;
	if (!json_eat(x, ','))
		return json_peek(x) == ']' ?
			json_fail(x, -EINVAL, "frame_records[%zu]: expected [stack, time]", i) :
			json_syntax_error(x);
	if (!json_starts_number(json_peek(x)))
		return json_type_error(x, "frame_records[%zu]: time is not a finite number", i);
	if (json_lex_number(x, &w))
		return -EINVAL;
	if (!isfinite(w))
		return json_fail(x, -EINVAL, "frame_records[%zu]: time is not a finite number", i);
	if (!json_eat(x, ']'))
		return json_peek(x) == ',' ?
			json_fail(x, -EINVAL, "frame_records[%zu]: expected [stack, time]", i) :
			json_syntax_error(x);
	if (session_add_record(l->s, stack, w))
		return json_fail(x, -ENOMEM, "out of memory");
	return 0;
}

static int load_records(struct loader *l)
{
	size_t i = 0;
	int err;

	/* Python keeps the last of duplicate keys; records already added cannot be taken back */
	if (l->seen & (1u << K_FRAME_RECORDS))
		return json_fail(&l->lx, -EINVAL, "duplicate key \"frame_records\"");
	if (json_peek(&l->lx) != '[')
		return json_type_error(&l->lx, "\"frame_records\" is not a list");
	l->lx.p++;
	if (json_eat(&l->lx, ']'))
		return 0;
	do {
		if ((err = load_record(l, i++)))
			return err;
		if (!(i & 4095))
			drop_behind(l);
	} while (json_eat(&l->lx, ','));
	return json_eat(&l->lx, ']') ? 0 : json_syntax_error(&l->lx);
}

static void strvec_clear(struct strvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	v->n = 0;
}

/* A string as a C string: like the old loader, an embedded NUL ends it. */
static char *dup_string(const char *str, size_t len)
{
	return strndup(str, len);
}

static int load_strlist(struct loader *l, const char *key, struct strvec *v)
{
	const char *str;
	size_t len;

	if (json_peek(&l->lx) != '[')
		return json_type_error(&l->lx, "\"%s\" is not a list", key);
	l->lx.p++;
	strvec_clear(v);	/* the last of duplicate keys wins */
	if (json_eat(&l->lx, ']'))
		return 0;
	do {
		if (json_peek(&l->lx) != '"')
			return json_type_error(&l->lx, "\"%s\" holds a non-string", key);
		if (json_lex_string(&l->lx, &str, &len))
			return -EINVAL;
		if (array_reserve(&v->v, &v->cap, v->n + 1, sizeof(*v->v)))
			return json_fail(&l->lx, -ENOMEM, "out of memory");
		v->v[v->n] = dup_string(str, len);
		if (!v->v[v->n++])
			return json_fail(&l->lx, -ENOMEM, "out of memory");
	} while (json_eat(&l->lx, ','));
	return json_eat(&l->lx, ']') ? 0 : json_syntax_error(&l->lx);
}

/* start_time, duration, min_interval, max_interval, sample_count and cpu_time. Round-trip limit:
 * numbers are held as doubles, so a header number written as an int ("cpu_time": 0, which
 * pyinstrument itself writes after loading a null) is saved back as a float ("0.0"). */
static int load_number(struct loader *l, enum hdr_key k)
{
	const char *key = key_names[k];
	double v;

	if (k == K_CPU_TIME && json_peek(&l->lx) == 'n' && json_lex_word(&l->lx, "null")) {
		l->num[k] = 0;	/* null means 0, as in Session.from_json */
		return 0;
	}
	if (!json_starts_number(json_peek(&l->lx)))
		return k == K_SAMPLE_COUNT ? json_type_error(&l->lx, "\"%s\" is not a count", key) :
					     json_type_error(&l->lx, "\"%s\" is not a number", key);
	if (json_lex_number(&l->lx, &v))
		return -EINVAL;
	if (k == K_SAMPLE_COUNT && (!(v >= 0) || v > MAX_EXACT_INT || v != floor(v)))
		return json_fail(&l->lx, -EINVAL, "\"%s\" is not a count", key);
	if (!isfinite(v))
		return json_fail(&l->lx, -EINVAL, "\"%s\" is not a finite number", key);
	l->num[k] = v;
	return 0;
}

/*
 * One member of "pyinst_bpf": a mode name, a pid, a count. pyinstrument ignores the key: what
 * is not one of these (another type, out of range, another name) is valid JSON skipped.
 */
static int load_origin_member(struct loader *l, const char *key, size_t keylen)
{
	struct session_origin *o = &l->origin;
	bool pid = keylen == 3 && !memcmp(key, "pid", 3);
	const char *str;
	size_t len;
	double v;
	int err;

	if (keylen == 4 && !memcmp(key, "mode", 4) && json_peek(&l->lx) == '"') {
		if ((err = json_lex_string(&l->lx, &str, &len)))
			return err;
		o->mode = session_mode_of(str, len);
		return 0;
	}
	if ((pid || (keylen == 12 && !memcmp(key, "lost_samples", 12))) &&
	    json_starts_number(json_peek(&l->lx))) {
		if (json_lex_number(&l->lx, &v))
			return -EINVAL;
		if (v != floor(v) || v < (pid ? 1 : 0) || v > (pid ? INT_MAX : MAX_EXACT_INT))
			return 0;
		if (pid)
			o->pid = (int)v;
		else
			o->lost_samples = (int64_t)v;
		return 0;
	}
	return json_skip_value(&l->lx, 2);
}

static int load_origin(struct loader *l)
{
	const char *str;
	char key[16];
	size_t len;
	int err;

	l->origin = (struct session_origin){ .lost_samples = -1 };	/* the last one wins */
	if (json_peek(&l->lx) != '{')
		return json_skip_value(&l->lx, 1);
	l->lx.p++;
	if (json_eat(&l->lx, '}'))
		return 0;
	do {
		if (json_peek(&l->lx) != '"')
			return json_syntax_error(&l->lx);
		if ((err = json_lex_string(&l->lx, &str, &len)))
			return err;
		/* the key is copied: lex_string's buffer is reused by the value */
		if (len >= sizeof(key))
			len = sizeof(key) - 1;
		memcpy(key, str, len);
		if (!json_eat(&l->lx, ':'))
			return json_syntax_error(&l->lx);
		if ((err = load_origin_member(l, key, len)))
			return err;
	} while (json_eat(&l->lx, ','));
	return json_eat(&l->lx, '}') ? 0 : json_syntax_error(&l->lx);
}

static int load_member(struct loader *l, enum hdr_key k)
{
	const char *str;
	size_t len;
	int err;

	switch (k) {
	case K_START_CALL_STACK:
		return load_stack(l, "start_call_stack", 0, &l->start_stack);
	case K_TARGET_DESCRIPTION:
		if (json_peek(&l->lx) != '"')
			return json_type_error(&l->lx, "\"target_description\" is not a string");
		if ((err = json_lex_string(&l->lx, &str, &len)))
			return err;
		free(l->target);
		l->target = dup_string(str, len);
		return l->target ? 0 : json_fail(&l->lx, -ENOMEM, "out of memory");
	case K_SYS_PATH:
	case K_SYS_PREFIXES:
		return load_strlist(l, key_names[k], &l->lists[k - K_SYS_PATH]);
	case K_FRAME_RECORDS:
		return load_records(l);
	case K_ORIGIN:
		return load_origin(l);
	case K_UNKNOWN:
		return json_skip_value(&l->lx, 1);
	default:
		return load_number(l, k);
	}
}

static enum hdr_key key_of(const char *str, size_t len)
{
	for (int k = 0; k < K_UNKNOWN; k++)
		if (strlen(key_names[k]) == len && !memcmp(key_names[k], str, len))
			return (enum hdr_key)k;
	return K_UNKNOWN;
}

/* Session.from_json's required keys, then the header into the session. */
static int finish(struct loader *l)
{
	struct json_lex *x = &l->lx;
	static const enum hdr_key required[] = {
		K_START_TIME, K_DURATION, K_CPU_TIME, K_SAMPLE_COUNT, K_TARGET_DESCRIPTION,
		K_START_CALL_STACK, K_FRAME_RECORDS,
	};
	struct session *s = l->s;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(l->seen & (1u << required[i])))
			return json_fail(x, -EINVAL, "missing key \"%s\"", key_names[required[i]]);
	if (session_set_target_description(s, l->target))
		return json_fail(x, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->lists[0].n; i++)
		if (session_add_sys_path(s, l->lists[0].v[i]))
			return json_fail(x, -ENOMEM, "out of memory");
	for (size_t i = 0; i < l->lists[1].n; i++)
		if (session_add_sys_prefix(s, l->lists[1].v[i]))
			return json_fail(x, -ENOMEM, "out of memory");
	session_set_start_call_stack(s, l->start_stack);
	session_set_times(s, l->num[K_START_TIME], l->num[K_DURATION]);
	session_set_interval(s, l->num[K_MIN_INTERVAL], l->num[K_MAX_INTERVAL]);
	session_set_cpu_time(s, l->num[K_CPU_TIME]);
	session_set_sample_count(s, (uint64_t)l->num[K_SAMPLE_COUNT]);
	if (l->seen & (1u << K_ORIGIN))
		session_set_origin(s, &l->origin);
	return 0;
}

/* The top-level object, one member at a time. */
static int parse_text(struct loader *l)
{
	struct json_lex *x = &l->lx;
	const char *str;
	size_t len;
	enum hdr_key k;
	int err;

	if (json_peek(x) != '{') {
		if (json_skip_value(x, 0))
			return -EINVAL;
		return json_peek(x) < 0 ? json_fail(x, -EINVAL, "not a JSON object") :
					   json_syntax_error(x);
	}
	x->p++;
	if (!json_eat(x, '}')) {
		do {
			if (json_peek(x) != '"')
				return json_syntax_error(x);
			if ((err = json_lex_string(x, &str, &len)))
				return err;
			k = key_of(str, len);
			if (!json_eat(x, ':'))
				return json_syntax_error(x);
			if ((err = load_member(l, k)))
				return err;
			if (k != K_UNKNOWN)
				l->seen |= 1u << k;
		} while (json_eat(x, ','));
		if (!json_eat(x, '}'))
			return json_syntax_error(x);
	}
	/* Python's json rejects anything but whitespace after the value */
	if (json_peek(x) >= 0)
		return json_syntax_error(x);
	return finish(l);
}

/* Files the kernel sizes as 0 (procfs and the like): the whole text in memory, bounded. */
static int read_fd(struct loader *l, int fd, char **out, size_t *outlen)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = NULL, *nb;
	ssize_t n;

	for (;;) {
		if (buf && len == cap && cap >= SESSION_READ_MAX)
			return free(buf), json_fail(&l->lx, -EFBIG, "larger than %llu bytes",
					       (unsigned long long)SESSION_READ_MAX);
		if (!buf || len == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return json_fail(&l->lx, -ENOMEM, "out of memory");
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return json_fail(&l->lx, -EIO, "read error: %s", strerror(errno));
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Maps a regular file (read when the kernel says it is empty). *owned is the buffer to free
 * when it was read. Anything but a regular file of at most SESSION_LOAD_MAX bytes is refused
 * before a byte is read: --load needs no privileges and may be given an upload.
 */
static int open_text(struct loader *l, const char *path, char **owned)
{
	struct stat st;
	size_t len = 0;
	void *map;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return json_fail(&l->lx, -errno, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return json_fail(&l->lx, -EINVAL, "not a regular file");
	}
	if ((uint64_t)st.st_size > SESSION_LOAD_MAX) {
		close(fd);
		return json_fail(&l->lx, -EFBIG, "larger than %llu bytes",
			    (unsigned long long)SESSION_LOAD_MAX);
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
			l->lx.base = map;
			l->mapped = (size_t)st.st_size;
			l->lx.end = l->lx.base + l->mapped;
			goto out;
		}
	}
	err = read_fd(l, fd, owned, &len);
	l->lx.base = *owned ? *owned : "";
	l->lx.end = l->lx.base + len;
out:
	l->lx.p = l->lx.base;
	close(fd);
	return err;
}

static void loader_release(struct loader *l, char *owned)
{
	if (l->mapped)
		munmap((void *)l->lx.base, l->mapped);
	free(owned);
	json_lex_release(&l->lx);
	for (int i = 0; i < NPREFIX; i++)
		free(l->prefixes[i].v);
	for (uint32_t i = 0; i < l->nraws; i++)
		free(l->raws[i].raw);
	free(l->raws);
	hash_index_free(&l->raw_index);
	free(l->target);
	for (int i = 0; i < 2; i++) {
		strvec_clear(&l->lists[i]);
		free(l->lists[i].v);
	}
}

int session_load_flags(const char *path, struct session **out, char *err, size_t errlen,
		       unsigned int flags)
{
	char reason[256] = "", *owned = NULL;
	struct loader l = {
		.lx = { .err = reason, .errlen = sizeof(reason) }, .start_stack = SESSION_NO_STACK,
		.num = { [K_MIN_INTERVAL] = 0.001, [K_MAX_INTERVAL] = 0.001 },
		.plain = flags & SESSION_LOAD_PLAIN,
	};
	int ret;

	*out = NULL;
	l.s = session__new();
	if (!l.s) {
		ret = json_fail(&l.lx, -ENOMEM, "out of memory");
		goto out;
	}
	ret = open_text(&l, path, &owned);
	if (!ret)
		ret = parse_text(&l);
out:
	loader_release(&l, owned);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, reason);
		session__free(l.s);
		return ret;
	}
	*out = l.s;
	return 0;
}


int session_load(const char *path, struct session **out, char *err, size_t errlen)
{
	return session_load_flags(path, out, err, errlen, 0);
}
