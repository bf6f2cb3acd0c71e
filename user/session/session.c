// SPDX-License-Identifier: MIT
/*
 * The session model. Memory grows with distinct frames and stacks, not with samples:
 * strings are interned in hash tables, stacks are (parent, frame) pairs interned the same way,
 * and the producer path merges consecutive samples of the same stack.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "hash_index.h"
#include "session.h"

#define ARENA_BLOCK (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t size;
	char data[];
};

/* Strings with stable addresses: interned strings are never moved once stored. */
struct arena {
	struct arena_block *head;
};

struct str_ent {
	const char *ptr;
	uint32_t len;
	uint32_t hash;
};

struct strtab {
	struct str_ent *ents;
	uint32_t n;
	size_t cap;
	struct hash_index index;	/* over ents */
	struct arena arena;
};

struct frame_meta {
	uint32_t ident;
	uint32_t attr_off;	/* into session.attr_ids */
	uint32_t nattrs;
	bool thread;		/* a thread root ("<thread>" file): a lane of its own */
};

struct stack_ent {
	uint32_t parent;
	uint32_t frame;
	uint32_t depth;
	uint32_t lane;		/* whose clock its records advance (see struct session) */
};

struct strlist {
	char **v;
	size_t n, cap;
};

struct session {
	struct strtab frames;
	struct strtab idents;
	struct strtab attrs;
	struct frame_meta *meta;	/* parallel to frames.ents */
	size_t cap_meta;
	uint32_t *attr_ids;
	uint32_t nattr_ids;
	size_t cap_attr_ids;

	struct stack_ent *stacks;
	uint32_t nstacks;
	size_t cap_stacks;
	struct hash_index stack_index;	/* over stacks, by (parent, frame) */

	struct session_sample *samples;
	size_t nsamples, cap_samples;

	/*
	 * The bounded timeline. A lane is a thread (a stack whose top frame is a "<thread>" root)
	 * or a root without one; lane 0 holds empty stacks. Its clock is the summed weight of its
	 * records so far, which is where pyinstrument's timeline puts the next one. At full
	 * resolution (bucket == 0) records are kept as they come; past max_records they are
	 * merged per (lane bucket of `bucket` seconds, stack), keeping the first one's place,
	 * and from then on new samples merge the same way. A thread's clock only grows, so the
	 * record a sample can merge into is its stack's latest one: last_rec finds it.
	 */
	double *lane_clock;
	uint32_t nlanes;
	size_t cap_lanes;
	double bucket;
	size_t max_records;
	uint32_t *last_rec;	/* [stack + 1]: its latest record's index + 1; [0]: no stack */
	size_t nlast_rec;

	struct session_header hdr;
	char *target;
	struct strlist sys_path;
	struct strlist sys_prefixes;
	struct session_origin origin;
	int err;
};

static uint64_t hash_pair(uint32_t a, uint32_t b)
{
	return hash_u64((uint64_t)a << 32 | b);
}

/* Room for need elements; ids are 32 bits and UINT32_MAX means none, so a table stops short. */
static int reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
	return need >= UINT32_MAX - 1 ? -ENOMEM : array_reserve(arr, cap, need, elem);
}

static char *arena_store(struct arena *a, const char *src, size_t len)
{
	struct arena_block *b = a->head;
	char *dst;

	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->size = size;
		a->head = b;
	}
	dst = b->data + b->used;
	memcpy(dst, src, len);
	dst[len] = '\0';
	b->used += len + 1;
	return dst;
}

static void arena_free(struct arena *a)
{
	struct arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

static uint64_t strtab_hash_of(const void *ctx, uint32_t id)
{
	return ((const struct strtab *)ctx)->ents[id].hash;
}

/* Returns the id of the string, adding it if new; UINT32_MAX on allocation failure. */
static uint32_t strtab_intern(struct strtab *t, const char *p, size_t len, bool *added)
{
	uint32_t h = (uint32_t)hash_bytes(p, len), pos, id;
	struct str_ent *e;

	*added = false;
	if (len > UINT32_MAX - 1 || hash_index_reserve(&t->index, strtab_hash_of, t))
		return UINT32_MAX;
	for (id = hash_index_first(&t->index, h, &pos); id != HASH_INDEX_NONE;
	     id = hash_index_next(&t->index, &pos)) {
		e = &t->ents[id];
		if (e->hash == h && e->len == len && !memcmp(e->ptr, p, len))
			return id;
	}
	if (reserve(&t->ents, &t->cap, (size_t)t->n + 1, sizeof(*e)))
		return UINT32_MAX;
	id = t->n;
	e = &t->ents[id];
	e->ptr = arena_store(&t->arena, p, len);
	if (!e->ptr)
		return UINT32_MAX;
	e->len = (uint32_t)len;
	e->hash = h;
	hash_index_put(&t->index, pos, id);
	t->n++;
	*added = true;
	return id;
}

static void strtab_free(struct strtab *t)
{
	free(t->ents);
	hash_index_free(&t->index);
	arena_free(&t->arena);
}

static int strlist_add(struct strlist *l, const char *str)
{
	if (array_reserve(&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return -ENOMEM;
	l->v[l->n] = strdup(str);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static bool strlist_has(const struct strlist *l, const char *str)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], str))
			return true;
	return false;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int set_err(struct session *s, int err)
{
	if (!s->err)
		s->err = err;
	return err;
}

static uint32_t new_lane(struct session *s)
{
	if (reserve(&s->lane_clock, &s->cap_lanes, (size_t)s->nlanes + 1, sizeof(*s->lane_clock)))
		return UINT32_MAX;
	s->lane_clock[s->nlanes] = 0;
	return s->nlanes++;
}

struct session *session__new(void)
{
	static const char *const fixed[] = { "[root]", "[self]", "[await]", "[out-of-context]" };
	struct session *s = calloc(1, sizeof(*s));
	bool added;

	if (!s)
		return NULL;
	s->hdr.min_interval = 0.001;
	s->hdr.max_interval = 0.001;
	s->hdr.start_call_stack = SESSION_NO_STACK;
	s->origin.lost_samples = -1;
	s->target = strdup("");
	if (!s->target)
		goto err_nomem;
	s->hdr.target_description = s->target;
	s->max_records = SESSION_MAX_RECORDS;
	if (new_lane(s) == UINT32_MAX)	/* lane 0: the empty stack's */
		goto err_nomem;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strtab_intern(&s->idents, fixed[i], strlen(fixed[i]), &added) != i)
			goto err_nomem;
	return s;
err_nomem:
	session__free(s);
	errno = ENOMEM;
	return NULL;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	strtab_free(&s->frames);
	strtab_free(&s->idents);
	strtab_free(&s->attrs);
	free(s->meta);
	free(s->attr_ids);
	free(s->stacks);
	hash_index_free(&s->stack_index);
	free(s->samples);
	free(s->lane_clock);
	free(s->last_rec);
	free(s->target);
	strlist_free(&s->sys_path);
	strlist_free(&s->sys_prefixes);
	free(s);
}

/* pyinstrument's parse_frame_info: identifier up to the first \x01, then \x01-separated attrs. */
static int frame_parse(struct session *s, struct frame_meta *m, const char *info, size_t len)
{
	const char *end = info + len, *p = memchr(info, '\x01', len), *q;
	uint32_t aid;
	bool added;

	size_t ilen = p ? (size_t)(p - info) : len;
	const char *file = memchr(info, '\0', ilen);

	m->ident = strtab_intern(&s->idents, info, ilen, &added);
	m->attr_off = s->nattr_ids;
	m->nattrs = 0;
	m->thread = file && (size_t)(info + ilen - file) > 9 && !memcmp(file, "\0<thread>\0", 10);
	if (m->ident == UINT32_MAX)
		return -ENOMEM;
	while (p && p < end) {
		p++;
		q = memchr(p, '\x01', (size_t)(end - p));
		aid = strtab_intern(&s->attrs, p, q ? (size_t)(q - p) : (size_t)(end - p), &added);
		if (aid == UINT32_MAX || reserve(&s->attr_ids, &s->cap_attr_ids,
						 (size_t)s->nattr_ids + 1, sizeof(*s->attr_ids)))
			return -ENOMEM;
		s->attr_ids[s->nattr_ids++] = aid;
		m->nattrs++;
		p = q;
	}
	return 0;
}

uint32_t session_intern_frame(struct session *s, const char *info, size_t len)
{
	uint32_t id;
	bool added;

	if (reserve(&s->meta, &s->cap_meta, (size_t)s->frames.n + 1, sizeof(*s->meta)))
		goto err_nomem;
	id = strtab_intern(&s->frames, info, len, &added);
	if (id == UINT32_MAX)
		goto err_nomem;
	/* On failure the sticky error makes the whole session unusable, so a half-parsed frame
	 * is never read. */
	if (added && frame_parse(s, &s->meta[id], info, len))
		goto err_nomem;
	return id;
err_nomem:
	set_err(s, -ENOMEM);
	return SESSION_NO_FRAME;
}

static uint64_t stack_hash_of(const void *ctx, uint32_t id)
{
	const struct stack_ent *e = &((const struct session *)ctx)->stacks[id];

	return hash_pair(e->parent, e->frame);
}

uint32_t session_stack_push(struct session *s, uint32_t parent, uint32_t frame)
{
	uint32_t depth = 1, pos, id, lane;
	struct stack_ent *e;

	if (frame >= s->frames.n || (parent != SESSION_NO_STACK && parent >= s->nstacks)) {
		set_err(s, -EINVAL);
		return parent;
	}
	if (parent != SESSION_NO_STACK) {
		depth = s->stacks[parent].depth + 1;
		if (depth > SESSION_MAX_DEPTH)
			return parent;
	}
	if (hash_index_reserve(&s->stack_index, stack_hash_of, s))
		goto err_nomem;
	for (id = hash_index_first(&s->stack_index, hash_pair(parent, frame), &pos);
	     id != HASH_INDEX_NONE; id = hash_index_next(&s->stack_index, &pos)) {
		e = &s->stacks[id];
		if (e->parent == parent && e->frame == frame)
			return id;
	}
	lane = parent == SESSION_NO_STACK || s->meta[frame].thread ? new_lane(s) :
								       s->stacks[parent].lane;
	if (lane == UINT32_MAX ||
	    reserve(&s->stacks, &s->cap_stacks, (size_t)s->nstacks + 1, sizeof(*s->stacks)))
		goto err_nomem;
	id = s->nstacks++;
	s->stacks[id] = (struct stack_ent){ .parent = parent, .frame = frame, .depth = depth,
				    .lane = lane };
	hash_index_put(&s->stack_index, pos, id);
	return id;
err_nomem:
	set_err(s, -ENOMEM);
	return parent;
}

/* The bucket a lane time falls in; hostile weights (negative, NaN, huge) cannot overflow it. */
static uint32_t bucket_of(double t, double width)
{
	double b = t / width;

	if (!(b > 0))
		return 0;
	return b >= (double)(UINT32_MAX - 1) ? UINT32_MAX - 1 : (uint32_t)b;
}

static uint32_t lane_of(const struct session *s, uint32_t stack)
{
	return stack == SESSION_NO_STACK ? 0 : s->stacks[stack].lane;
}

/* Where the latest record of stack is kept: index + 1, 0 for none. */
static uint32_t *last_rec(struct session *s, uint32_t stack)
{
	return &s->last_rec[stack == SESSION_NO_STACK ? 0 : (size_t)stack + 1];
}

/* last_rec covers every stack; with clear, it is emptied too. */
static int last_rec_reserve(struct session *s, bool clear)
{
	size_t n = (size_t)s->nstacks + 1, cap = s->nlast_rec;
	uint32_t *v = s->last_rec;

	if (n > cap) {
		while (cap < n)
			cap = cap ? cap * 2 : 1024;
		v = realloc(v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memset(v + s->nlast_rec, 0, (cap - s->nlast_rec) * sizeof(*v));
		s->last_rec = v;
		s->nlast_rec = cap;
	}
	if (clear)
		memset(v, 0, s->nlast_rec * sizeof(*v));
	return 0;
}

/*
 * One pass over the records in order: replays the lane clocks and merges the records of one
 * stack in one bucket of `width` seconds into the first of them. Positions only move down, so
 * it runs in place. width 0 only replays the clocks. With apply false it only counts the
 * records that would remain (each record's bucket field is scratch until applied).
 * Returns the number of records.
 */
static size_t rebucket(struct session *s, double width, bool apply)
{
	size_t o = 0;
	uint32_t *last;

	memset(s->lane_clock, 0, s->nlanes * sizeof(*s->lane_clock));
	if (width > 0)
		memset(s->last_rec, 0, s->nlast_rec * sizeof(*s->last_rec));
	for (size_t i = 0; i < s->nsamples; i++) {
		struct session_sample r = s->samples[i];
		uint32_t lane = lane_of(s, r.stack);

		r.bucket = width > 0 ? bucket_of(s->lane_clock[lane], width) : 0;
		s->lane_clock[lane] += r.weight;
		if (width > 0) {
			last = last_rec(s, r.stack);
			if (*last && s->samples[*last - 1].bucket == r.bucket) {
				if (apply)
					s->samples[*last - 1].weight += r.weight;
				continue;
			}
			*last = (uint32_t)((apply ? o : i) + 1);
		}
		s->samples[apply ? o : i].bucket = r.bucket;
		if (apply)
			s->samples[o] = r;
		o++;
	}
	if (apply) {
		s->nsamples = o;
		s->bucket = width;
	}
	return o;
}

/* Seconds of timeline in all lanes together, and the longest lane. */
static double lanes_total(const struct session *s, double *longest)
{
	double total = 0;

	*longest = 0;
	for (uint32_t i = 0; i < s->nlanes; i++) {
		if (s->lane_clock[i] > 0 && isfinite(s->lane_clock[i])) {
			total += s->lane_clock[i];
			if (s->lane_clock[i] > *longest)
				*longest = s->lane_clock[i];
		}
	}
	return total;
}

/* Whether width `width` keeps at most target records, or cannot do better. */
static bool fits(struct session *s, double width, size_t target, double longest)
{
	return width > longest || !isfinite(width) || rebucket(s, width, false) <= target;
}

/*
 * Coarsens the timeline to the narrowest bucket width * step^k that keeps at most `target`
 * records, found with counting passes (k doubling, then halving the interval) and applied
 * once. Past the longest lane one bucket holds it all: what is left is one record per distinct
 * stack, which no width reduces.
 */
static int coarsen(struct session *s, size_t target, double width, double step)
{
	uint32_t lo = 0, hi = 1;
	double longest;

	lanes_total(s, &longest);
	if (last_rec_reserve(s, false))
		return set_err(s, -ENOMEM);
	if (!(width >= SESSION_MIN_BUCKET))
		width = SESSION_MIN_BUCKET;
	if (!fits(s, width, target, longest)) {
		/* whole doublings first: counts fall slower than the width grows */
		for (uint32_t k = (uint32_t)ceil(log(2) / log(step)); hi < 65536; hi += k) {
			if (fits(s, width * pow(step, hi), target, longest))
				break;
			lo = hi;
			k *= hi > 64 * k ? 2 : 1;
		}
		/* width * step^lo is too narrow, width * step^hi fits */
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (fits(s, width * pow(step, mid), target, longest))
				hi = mid;
			else
				lo = mid;
		}
		width *= pow(step, hi);
	}
	rebucket(s, width, true);
	return 0;
}

/* What coarsening aims at: room for a quarter of the bound before the next pass. */
static size_t room_target(const struct session *s)
{
	return s->max_records / 4 * 3;
}

/* Makes room for the next record: coarsens to three quarters of the bound, or, when distinct
 * stacks alone fill it, lets the bound grow with them. */
static int make_room(struct session *s)
{
	double w = s->bucket > 0 ? 2 * s->bucket : SESSION_MIN_BUCKET, longest;
	double least = lanes_total(s, &longest) / (double)room_target(s);

	/*
	 * Every lane keeps at least one record per bucket it ran in, so fewer than total / width
	 * records cannot be: start there. Widths stay powers of two of the smallest one, so that
	 * a bucket is always exactly two earlier ones.
	 */
	while (w < least && isfinite(w))
		w *= 2;
	if (coarsen(s, room_target(s), w, 2))
		return s->err;
	if (s->nsamples > room_target(s))
		s->max_records = 2 * s->nsamples;
	return 0;
}

static int append(struct session *s, struct session_sample r)
{
	if (array_reserve(&s->samples, &s->cap_samples, s->nsamples + 1, sizeof(*s->samples)))
		return set_err(s, -ENOMEM);
	s->samples[s->nsamples++] = r;
	return 0;
}

int session_add_record(struct session *s, uint32_t stack, double weight)
{
	struct session_sample r = { .stack = stack, .weight = weight };
	uint32_t lane, *last = NULL;
	int err;

	if (stack != SESSION_NO_STACK && stack >= s->nstacks)
		return -EINVAL;
	if (s->nsamples >= s->max_records && (err = make_room(s)))
		return err;
	lane = lane_of(s, stack);
	if (s->bucket > 0) {
		if (last_rec_reserve(s, false))
			return set_err(s, -ENOMEM);
		r.bucket = bucket_of(s->lane_clock[lane], s->bucket);
		last = last_rec(s, stack);
		if (*last && s->samples[*last - 1].bucket == r.bucket) {
			s->samples[*last - 1].weight += weight;
			s->lane_clock[lane] += weight;
			return 0;
		}
	}
	err = append(s, r);
	if (err)
		return err;
	s->lane_clock[lane] += weight;
	if (last)
		*last = (uint32_t)s->nsamples;
	return 0;
}

int session_add_sample(struct session *s, uint32_t stack, double weight)
{
	int err;

	if (s->err)
		return s->err;
	if (!s->bucket && s->nsamples && s->samples[s->nsamples - 1].stack == stack &&
	    (stack == SESSION_NO_STACK || stack < s->nstacks)) {
		s->samples[s->nsamples - 1].weight += weight;
		s->lane_clock[lane_of(s, stack)] += weight;
		s->hdr.sample_count++;
		return 0;
	}
	err = session_add_record(s, stack, weight);
	if (!err)
		s->hdr.sample_count++;
	return err;
}

int session_limit_records(struct session *s, size_t max)
{
	if (s->err)
		return s->err;
	if (s->nsamples <= max || !max)
		return 0;
	double longest, least = lanes_total(s, &longest) / (double)max;

	/* fine steps, so that reports of sessions past the bound come out about the same size */
	return coarsen(s, max, fmax(s->bucket * SESSION_REPORT_STEP, least), SESSION_REPORT_STEP);
}

double session_resolution(const struct session *s)
{
	return s->bucket;
}

bool session_start_localtime(const struct session *s, struct tm *tm)
{
	double t = s->hdr.start_time;
	time_t start;

	/* about ±3000 years: converting a larger double to time_t is undefined */
	if (!isfinite(t) || fabs(t) > 1e11)
		return false;
	start = (time_t)floor(t);
	return localtime_r(&start, tm) != NULL;
}

uint64_t session_seconds_to_ns(double seconds)
{
	if (!isfinite(seconds) || seconds <= 0 || seconds >= 1.8e10)
		return 0;
	return (uint64_t)llround(seconds * 1e9);
}

void session_set_times(struct session *s, double start_time, double duration)
{
	s->hdr.start_time = start_time;
	s->hdr.duration = duration;
}

void session_set_interval(struct session *s, double min_interval, double max_interval)
{
	s->hdr.min_interval = min_interval;
	s->hdr.max_interval = max_interval;
}

void session_set_cpu_time(struct session *s, double cpu_time)
{
	s->hdr.cpu_time = cpu_time;
}

int session_set_target_description(struct session *s, const char *text)
{
	char *copy = strdup(text ? text : "");

	if (!copy)
		return set_err(s, -ENOMEM);
	free(s->target);
	s->target = copy;
	s->hdr.target_description = copy;
	return 0;
}

int session_add_sys_path(struct session *s, const char *path)
{
	return strlist_add(&s->sys_path, path) ? set_err(s, -ENOMEM) : 0;
}

int session_add_sys_prefix(struct session *s, const char *prefix)
{
	return strlist_add(&s->sys_prefixes, prefix) ? set_err(s, -ENOMEM) : 0;
}

uint64_t session_sample_count(const struct session *s)
{
	return s->hdr.sample_count;
}

int session_error(const struct session *s)
{
	return s->err;
}

void session_set_sample_count(struct session *s, uint64_t count)
{
	s->hdr.sample_count = count;
}

void session_set_start_call_stack(struct session *s, uint32_t stack)
{
	if (stack == SESSION_NO_STACK || stack < s->nstacks)
		s->hdr.start_call_stack = stack;
}

const struct session_header *session_get_header(const struct session *s)
{
	return &s->hdr;
}

const char *const *session_sys_path(const struct session *s, size_t *n)
{
	*n = s->sys_path.n;
	return (const char *const *)s->sys_path.v;
}

const char *const *session_sys_prefixes(const struct session *s, size_t *n)
{
	*n = s->sys_prefixes.n;
	return (const char *const *)s->sys_prefixes.v;
}

const struct session_sample *session_samples(const struct session *s, size_t *n)
{
	*n = s->nsamples;
	return s->samples;
}

uint32_t session_frame_count(const struct session *s)
{
	return s->frames.n;
}

const char *session_frame_info(const struct session *s, uint32_t frame, size_t *len)
{
	if (len)
		*len = s->frames.ents[frame].len;
	return s->frames.ents[frame].ptr;
}

uint32_t session_frame_ident(const struct session *s, uint32_t frame)
{
	return s->meta[frame].ident;
}

const uint32_t *session_frame_attrs(const struct session *s, uint32_t frame, uint32_t *n)
{
	*n = s->meta[frame].nattrs;
	/* no attribute yet means attr_ids is NULL, and NULL + 0 is undefined in C */
	return *n ? s->attr_ids + s->meta[frame].attr_off : NULL;
}

uint32_t session_ident_count(const struct session *s)
{
	return s->idents.n;
}

const char *session_ident(const struct session *s, uint32_t ident, size_t *len)
{
	if (len)
		*len = s->idents.ents[ident].len;
	return s->idents.ents[ident].ptr;
}

const char *session_attr(const struct session *s, uint32_t attr, size_t *len)
{
	if (len)
		*len = s->attrs.ents[attr].len;
	return s->attrs.ents[attr].ptr;
}

uint32_t session_stack_count(const struct session *s)
{
	return s->nstacks;
}

uint32_t session_stack_parent(const struct session *s, uint32_t stack)
{
	return s->stacks[stack].parent;
}

uint32_t session_stack_frame(const struct session *s, uint32_t stack)
{
	return s->stacks[stack].frame;
}

uint32_t session_stack_depth(const struct session *s, uint32_t stack)
{
	return stack == SESSION_NO_STACK ? 0 : s->stacks[stack].depth;
}

/* Re-interns src's stack into dst; map caches src stack id -> dst stack id. */
static uint32_t stack_copy(struct session *dst, const struct session *src, uint32_t stack,
			   uint32_t *map)
{
	const struct stack_ent *e;
	uint32_t parent, frame;

	if (stack == SESSION_NO_STACK)
		return SESSION_NO_STACK;
	if (map[stack] != SESSION_NO_STACK)
		return map[stack];
	e = &src->stacks[stack];
	/* Parents always have smaller ids than their children, so this recursion is at most
	 * one level deep when stacks are copied in id order. */
	parent = stack_copy(dst, src, e->parent, map);
	frame = session_intern_frame(dst, src->frames.ents[e->frame].ptr,
				     src->frames.ents[e->frame].len);
	if (frame == SESSION_NO_FRAME)
		return SESSION_NO_STACK;
	map[stack] = session_stack_push(dst, parent, frame);
	return map[stack];
}

/* sys_path: a, then b's entries missing from a. sys_prefixes (set_like): both, no duplicates. */
static int merge_lists(struct strlist *out, const struct strlist *a, const struct strlist *b,
		       bool set_like)
{
	for (size_t i = 0; i < a->n; i++)
		if ((!set_like || !strlist_has(out, a->v[i])) && strlist_add(out, a->v[i]))
			return -ENOMEM;
	for (size_t i = 0; i < b->n; i++)
		if (!strlist_has(set_like ? out : a, b->v[i]) && strlist_add(out, b->v[i]))
			return -ENOMEM;
	return 0;
}

/* pyinstrument uses list(set(...)) for sys_prefixes, whose order is unspecified; ours keeps the
 * first-seen order. */
static int combine_lists(struct session *dst, const struct session *src, bool src_first)
{
	const struct session *first = src_first ? src : dst, *second = src_first ? dst : src;
	struct strlist path = { 0 }, prefixes = { 0 };

	if (merge_lists(&path, &first->sys_path, &second->sys_path, false) ||
	    merge_lists(&prefixes, &first->sys_prefixes, &second->sys_prefixes, true)) {
		strlist_free(&path);
		strlist_free(&prefixes);
		return -ENOMEM;
	}
	strlist_free(&dst->sys_path);
	strlist_free(&dst->sys_prefixes);
	dst->sys_path = path;
	dst->sys_prefixes = prefixes;
	return 0;
}

/* The earlier session's header wins; src's records go before dst's when src started first. */
/* What stays true of both: one mode or "mixed", one pid, lost summed; else unknown. */
static void combine_origin(struct session_origin *dst, const struct session_origin *src)
{
	if (!dst->mode || !src->mode)
		dst->mode = SESSION_MODE_UNKNOWN;
	else if (dst->mode != src->mode)
		dst->mode = SESSION_MODE_MIXED;
	if (dst->pid != src->pid)
		dst->pid = 0;
	if (dst->lost_samples < 0 || src->lost_samples < 0)
		dst->lost_samples = -1;
	else
		dst->lost_samples += src->lost_samples;
}

static int combine_header(struct session *dst, const struct session *src, bool src_first)
{
	struct session_header *h = &dst->hdr;

	if (src_first) {
		h->start_time = src->hdr.start_time;
		if (session_set_target_description(dst, src->hdr.target_description))
			return -ENOMEM;
	}
	h->min_interval = src->hdr.min_interval < h->min_interval ? src->hdr.min_interval :
								    h->min_interval;
	h->max_interval = src->hdr.max_interval > h->max_interval ? src->hdr.max_interval :
								    h->max_interval;
	h->duration += src->hdr.duration;
	h->sample_count += src->hdr.sample_count;
	h->cpu_time += src->hdr.cpu_time;
	combine_origin(&dst->origin, &src->origin);
	return 0;
}

static int combine_records(struct session *dst, const struct session *src, const uint32_t *map,
			   bool src_first)
{
	size_t nold = dst->nsamples, nsrc = src->nsamples;
	struct session_sample *v;

	v = realloc(dst->samples, (nold + nsrc + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	dst->samples = v;
	dst->cap_samples = nold + nsrc + 1;
	if (src_first)
		memmove(v + nsrc, v, nold * sizeof(*v));
	for (size_t i = 0; i < nsrc; i++) {
		uint32_t st = src->samples[i].stack;

		v[(src_first ? 0 : nold) + i] = (struct session_sample){
			.stack = st == SESSION_NO_STACK ? st : map[st],
			.weight = src->samples[i].weight,
		};
	}
	dst->nsamples = nold + nsrc;
	return 0;
}

/* The lane clocks replayed over the concatenation, and the bound kept. */
static int combine_timeline(struct session *dst, const struct session *src)
{
	double w = fmax(dst->bucket, src->bucket);

	if (w == 0 && dst->nsamples <= dst->max_records) {
		rebucket(dst, 0, true);
		return 0;
	}
	if (coarsen(dst, room_target(dst), w, 2))
		return -ENOMEM;
	if (dst->nsamples > room_target(dst))
		dst->max_records = 2 * dst->nsamples;
	return 0;
}

int session_combine(struct session *dst, const struct session *src)
{
	bool src_first = dst->hdr.start_time > src->hdr.start_time;
	uint32_t *map = NULL;
	int err = -ENOMEM;

	if (dst->err || src->err)
		return dst->err ? dst->err : src->err;
	map = malloc(((size_t)src->nstacks + 1) * sizeof(*map));
	if (!map)
		goto out;
	memset(map, 0xff, ((size_t)src->nstacks + 1) * sizeof(*map));
	for (uint32_t i = 0; i < src->nstacks; i++)
		if (stack_copy(dst, src, i, map) == SESSION_NO_STACK)
			goto out;
	if (dst->err || combine_records(dst, src, map, src_first) || combine_timeline(dst, src) ||
	    combine_lists(dst, src, src_first) || combine_header(dst, src, src_first))
		goto out;
	if (src_first) {
		uint32_t st = src->hdr.start_call_stack;

		dst->hdr.start_call_stack = st == SESSION_NO_STACK ? st : map[st];
	}
	err = 0;
out:
	free(map);
	if (err)
		set_err(dst, err);
	return err;
}

/* ---- origin ------------------------------------------------------------------------------- */

static const char *const mode_names[] = {
	[SESSION_MODE_WALL] = "wall",
	[SESSION_MODE_CPU] = "cpu",
	[SESSION_MODE_MIXED] = "mixed",
};

const struct session_origin *session_get_origin(const struct session *s)
{
	return &s->origin;
}

void session_set_origin(struct session *s, const struct session_origin *o)
{
	s->origin = *o;
	if ((unsigned int)s->origin.mode > SESSION_MODE_MIXED)
		s->origin.mode = SESSION_MODE_UNKNOWN;
	if (s->origin.pid < 0)
		s->origin.pid = 0;
	if (s->origin.lost_samples < 0)
		s->origin.lost_samples = -1;
}

const char *session_mode_name(enum session_mode mode)
{
	return (unsigned int)mode <= SESSION_MODE_MIXED ? mode_names[mode] : NULL;
}

enum session_mode session_mode_of(const char *name, size_t len)
{
	for (size_t m = SESSION_MODE_WALL; m <= SESSION_MODE_MIXED; m++)
		if (strlen(mode_names[m]) == len && !memcmp(mode_names[m], name, len))
			return (enum session_mode)m;
	return SESSION_MODE_UNKNOWN;
}
