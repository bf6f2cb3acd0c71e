// SPDX-License-Identifier: MIT
/* asyncio tasks read from outside the process (see asyncio_tasks.h). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "asyncio_tasks.h"
#include "clock.h"
#include "log.h"
#include "proc.h"
#include "pystr.h"

#define MAX_LIST_TASKS (1u << 22)	/* tasks followed along one 3.14 list */
#define MAX_DICT_ENTRIES (1u << 16)	/* sys.modules and module dicts are far smaller */
#define MAX_SET_SLOTS (1u << 22)	/* 4M slots: a million live tasks */
#define MAX_THREADS 1024
#define MAX_THREAD_FRAMES 512
#define TYPE_CACHE 64
#define SEARCH_AGAIN_S 1.0		/* sys.modules searched once more this long after a change */
#define FIND_RETRY_S 0.02		/* how often to look again for a not yet imported asyncio, */
#define FIND_RETRY_MAX_S 1.0	/* ... doubling up to this while sys.modules stays the same */
#define FRAME_HEAD 96			/* bytes of a _PyInterpreterFrame up to its locals */
#define STR_READ 160			/* bytes of a str object read for a name */
#define CHAIN_READ 320			/* bytes of a coroutine read per level of a chain */

enum obj_kind {
	KIND_OTHER,
	KIND_CORO,	/* coroutine or generator: has an embedded frame */
	KIND_FUTUREITER,
	KIND_FUTURE,	/* _asyncio.Future or a subclass */
	KIND_TASK,	/* _asyncio.Task or a subclass */
	KIND_STR,
	KIND_INT,
};

struct type_entry {
	uint64_t type;
	enum obj_kind kind;
};

/* What was known of a task at the last scan; the cache that keeps unchanged tasks cheap. */
struct cached_task {
	struct asyncio_task t;
	uint64_t coro;		/* the task's coroutine */
	uint64_t name_obj;	/* its name object */
	uint64_t inner;		/* innermost coroutine of the chain, 0 when none */
	uint64_t inner_instr;
};

struct asyncio_reader {
	int pid;
	const struct pyi_layout *lay;
	const struct pyi_asyncio_layout *a;	/* own, or a copy the target's offsets overlay */
	struct pyi_asyncio_layout own;
	bool published;		/* 3.14+: own was checked against the target's .AsyncioDebug */
	uint64_t interp;
	/* found once asyncio is imported; stable for the life of the module */
	uint64_t all_tasks;	/* the WeakSet of scheduled tasks */
	uint64_t tasks_set;	/* its .data set of weak references */
	uint64_t eager_set;	/* 3.12+ _eager_tasks, 0 if none */
	uint64_t task_type;	/* the first Task type seen, checked against the layout */
	double last_find;
	double find_every;	/* FIND_RETRY_S, doubled at each look that saw sys.modules unchanged */
	bool gone;		/* the last look could not read the process, and it has exited */
	uint64_t modules_used;	/* len(sys.modules) at the last search that found no asyncio */
	double last_search;
	bool searched_again;	/* the search a second after the last change was made */
	struct type_entry types[TYPE_CACHE];
	unsigned int ntypes;
	struct cached_task *cur, *prev;
	size_t ncur, nprev, cap_cur, cap_prev;
	const struct asyncio_task **out;
	size_t out_cap;
	uint64_t *objs;
	size_t objs_cap;
	struct asyncio_reader_stats st;
};

const struct pyi_asyncio_layout *asyncio_layout_find(uint32_t version_hex)
{
	for (size_t i = 0; i < pyi_asyncio_layouts_count; i++) {
		if ((pyi_asyncio_layouts[i].version_hex >> 16) == (version_hex >> 16))
			return &pyi_asyncio_layouts[i];
	}
	errno = ENOTSUP;
	return NULL;
}

/* ---- memory ------------------------------------------------------------------------------ */

static int rd(struct asyncio_reader *r, uint64_t addr, void *buf, size_t len)
{
	r->st.reads++;
	if (!addr)
		return -EFAULT;
	return proc_read(r->pid, addr, buf, len);
}

static uint64_t rd_ptr(struct asyncio_reader *r, uint64_t addr)
{
	uint64_t v = 0;

	return rd(r, addr, &v, sizeof(v)) ? 0 : v;
}

static uint64_t get_u64(const uint8_t *b, size_t len, int32_t off)
{
	uint64_t v = 0;

	if (off >= 0 && (size_t)off + 8 <= len)
		memcpy(&v, b + off, 8);
	return v;
}

static int32_t get_s32(const uint8_t *b, size_t len, int32_t off)
{
	int32_t v = 0;

	if (off >= 0 && (size_t)off + 4 <= len)
		memcpy(&v, b + off, 4);
	return v;
}

/* A str object's text (compact strings only); -errno when it is not one. */
static int read_str(struct asyncio_reader *r, uint64_t obj, char *out, size_t outsz)
{
	uint8_t buf[STR_READ];

	/* a short string may end near the end of a mapping: fall back to its header's size */
	if (rd(r, obj, buf, sizeof(buf)) &&
	    rd(r, obj, buf, (size_t)r->lay->off.unicode_compact_size))
		return -EFAULT;
	return pystr_from_object(r->lay, buf, sizeof(buf), out, outsz);
}

static bool str_equals(struct asyncio_reader *r, uint64_t obj, const char *want)
{
	char s[64];

	return read_str(r, obj, s, sizeof(s)) >= 0 && !strcmp(s, want);
}

/* ---- types ------------------------------------------------------------------------------- */

static enum obj_kind kind_of_name(const char *n)
{
	if (!strcmp(n, "coroutine") || !strcmp(n, "generator"))
		return KIND_CORO;
	if (!strcmp(n, "_asyncio.FutureIter"))
		return KIND_FUTUREITER;
	if (!strcmp(n, "_asyncio.Future"))
		return KIND_FUTURE;
	if (!strcmp(n, "_asyncio.Task"))
		return KIND_TASK;
	if (!strcmp(n, "str"))
		return KIND_STR;
	if (!strcmp(n, "int"))
		return KIND_INT;
	return KIND_OTHER;
}

static int64_t a_size(struct asyncio_reader *r, uint64_t type)
{
	int64_t size = -1;

	if (rd(r, type + r->a->type_basicsize, &size, sizeof(size)))
		return -1;
	return size;
}

/* A type's kind from its tp_name, or its bases' (a Python subclass of Future, e.g. gather's). */
static enum obj_kind classify_type(struct asyncio_reader *r, uint64_t type)
{
	enum obj_kind kind = KIND_OTHER;
	uint64_t t = type;
	char name[32];
	unsigned int i;

	for (i = 0; i < r->ntypes; i++) {
		if (r->types[i].type == type)
			return r->types[i].kind;
	}
	for (int depth = 0; t && depth < 8 && kind == KIND_OTHER; depth++) {
		uint64_t np = rd_ptr(r, t + r->lay->off.type_name);

		memset(name, 0, sizeof(name));
		if (!np || rd(r, np, name, sizeof(name) - 1))
			break;
		kind = kind_of_name(name);
		/* the generated TaskObj layout must be this interpreter's: same size */
		if (kind == KIND_TASK && (uint64_t)a_size(r, t) != (uint64_t)r->a->task_size)
			kind = KIND_OTHER;
		/* only futures and tasks are recognized through their bases */
		if (depth > 0 && kind != KIND_FUTURE && kind != KIND_TASK)
			kind = KIND_OTHER;
		t = rd_ptr(r, t + r->a->type_base);
	}
	if (r->ntypes < TYPE_CACHE)
		r->types[r->ntypes++] = (struct type_entry){ .type = type, .kind = kind };
	return kind;
}

static enum obj_kind classify(struct asyncio_reader *r, uint64_t obj)
{
	uint64_t type = obj ? rd_ptr(r, obj + r->lay->off.object_type) : 0;

	return type ? classify_type(r, type) : KIND_OTHER;
}

/* ---- dicts, instance attributes, sets ---------------------------------------------------- */

/* The index of str key `name` among the entries of a dict keys object, or -1. */
static long keys_index(struct asyncio_reader *r, uint64_t keys, const char *name)
{
	const struct pyi_asyncio_layout *a = r->a;
	uint8_t head[64];
	uint64_t entries, n;
	int esize, ekey;
	uint8_t *buf;
	long found = -1;

	if (rd(r, keys, head, sizeof(head)))
		return -1;
	n = get_u64(head, sizeof(head), a->dk_nentries);
	if (n > MAX_DICT_ENTRIES || head[a->dk_log2_index_bytes] > 40)
		return -1;
	entries = keys + a->dk_indices + (1ull << head[a->dk_log2_index_bytes]);
	if (head[a->dk_kind] == a->dk_kind_general) {
		esize = a->entry_size;
		ekey = a->entry_key;
	} else {
		esize = a->uentry_size;
		ekey = a->uentry_key;
	}
	buf = malloc(n * esize + 1);
	if (!buf || rd(r, entries, buf, n * esize)) {
		free(buf);
		return -1;
	}
	for (uint64_t i = 0; i < n && found < 0; i++) {
		uint64_t k = get_u64(buf + i * esize, esize, ekey);

		if (k && str_equals(r, k, name))
			found = (long)i;
	}
	free(buf);
	return found;
}

/* dict[name] for a str key, or 0. Split dicts (instance dicts) keep values apart. */
static uint64_t dict_get(struct asyncio_reader *r, uint64_t dict, const char *name)
{
	const struct pyi_asyncio_layout *a = r->a;
	uint64_t keys = rd_ptr(r, dict + a->dict_keys);
	uint64_t values = rd_ptr(r, dict + a->dict_values);
	uint8_t head[64];
	long i;

	if (!keys || (i = keys_index(r, keys, name)) < 0 || rd(r, keys, head, sizeof(head)))
		return 0;
	if (values)
		return rd_ptr(r, values + a->values_values + i * 8);
	if (head[a->dk_kind] == a->dk_kind_general)
		return rd_ptr(r, keys + a->dk_indices + (1ull << head[a->dk_log2_index_bytes]) +
				 i * a->entry_size + a->entry_value);
	return rd_ptr(r, keys + a->dk_indices + (1ull << head[a->dk_log2_index_bytes]) +
			 i * a->uentry_size + a->uentry_value);
}

/* obj.name for an instance of a Python class (managed dict: 3.11+), or 0. */
static uint64_t attr_get(struct asyncio_reader *r, uint64_t obj, const char *name)
{
	const struct pyi_asyncio_layout *a = r->a;
	uint64_t type = rd_ptr(r, obj + r->lay->off.object_type), dict = 0, values = 0, word;
	uint64_t flags = type ? rd_ptr(r, type + a->type_flags) : 0;
	long i;

	if (!(flags & (uint64_t)a->tpflags_managed_dict))
		return 0;
	if (a->obj_inline_values >= 0 && (flags & (uint64_t)a->tpflags_inline_values)) {
		uint8_t valid = 0;
		uint64_t base = obj + rd_ptr(r, type + a->type_basicsize);

		if (!rd(r, base + a->values_valid, &valid, 1) && valid)
			values = base;
	} else if (a->obj_values_tagged) {
		word = rd_ptr(r, obj + a->obj_values_ptr);
		if (word & 1)
			values = word + 1;
	} else if (a->obj_values_ptr != -1) {
		values = rd_ptr(r, obj + a->obj_values_ptr);
	}
	if (!values) {
		dict = rd_ptr(r, obj + a->obj_managed_dict);
		if (a->obj_values_tagged && (dict & 1))
			dict = 0;
		return dict ? dict_get(r, dict, name) : 0;
	}
	/* values in the order of the class's shared keys */
	i = keys_index(r, rd_ptr(r, type + a->heaptype_cached_keys), name);
	return i < 0 ? 0 : rd_ptr(r, values + a->values_values + i * 8);
}

static int objs_reserve(struct asyncio_reader *r, size_t n)
{
	uint64_t *p;

	if (n <= r->objs_cap)
		return 0;
	p = realloc(r->objs, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->objs = p;
	r->objs_cap = n;
	return 0;
}

/* Appends the members of a set to r->objs from index *n. */
static int set_members(struct asyncio_reader *r, uint64_t set, size_t *n)
{
	const struct pyi_asyncio_layout *a = r->a;
	uint64_t mask = rd_ptr(r, set + a->set_mask), table = rd_ptr(r, set + a->set_table);
	size_t slots = mask + 1, i;
	uint8_t *buf;
	int err;

	if (!table || mask >= MAX_SET_SLOTS || (slots & mask))
		return -EFAULT;
	buf = malloc(slots * a->setentry_size);
	if (!buf)
		return -ENOMEM;
	err = rd(r, table, buf, slots * a->setentry_size);
	if (!err)
		err = objs_reserve(r, *n + slots);
	for (i = 0; !err && i < slots; i++) {
		uint64_t k = get_u64(buf + i * a->setentry_size, a->setentry_size, a->setentry_key);

		if (k)
			r->objs[(*n)++] = k;	/* a deleted slot's dummy fails a later check */
	}
	free(buf);
	return err;
}

/* Finds the sets asyncio keeps its tasks in. 0, or -ENOENT while asyncio is not imported. */
static int find_task_sets(struct asyncio_reader *r)
{
	uint64_t modules, mod, md;

	modules = rd_ptr(r, r->interp + r->a->interp_modules);
	mod = modules ? dict_get(r, modules, "_asyncio") : 0;
	md = mod ? rd_ptr(r, mod + r->a->module_dict) : 0;
	if (!md)
		return -ENOENT;
	/* 3.11 keeps every task in _all_tasks; 3.12 split off eagerly started ones (gh-97696) */
	r->all_tasks = dict_get(r, md, "_scheduled_tasks");
	if (!r->all_tasks)
		r->all_tasks = dict_get(r, md, "_all_tasks");
	r->eager_set = dict_get(r, md, "_eager_tasks");
	r->tasks_set = r->all_tasks ? attr_get(r, r->all_tasks, "data") : 0;
	return r->tasks_set ? 0 : -ENOENT;
}

/* ---- coroutines -------------------------------------------------------------------------- */

struct coro_head {
	int8_t state;
	uint64_t code;
	uint64_t instr;
	uint64_t frame;		/* the embedded _PyInterpreterFrame */
	uint64_t top;		/* address of the value stack's top slot, 0 if empty or unknown */
};

static void coro_from_buf(struct asyncio_reader *r, uint64_t coro, const uint8_t *buf,
			  struct coro_head *h);

static struct asyncio_frame frame_of(struct asyncio_reader *r, uint64_t code, uint64_t instr)
{
	struct asyncio_frame f = { .code = code, .lasti = -1 };

	/* the sampler's convention: byte offset from the start of co_code_adaptive */
	if (instr > code + r->lay->off.code_adaptive)
		f.lasti = (int32_t)(instr - code - r->lay->off.code_adaptive);
	return f;
}

static bool suspended_in_await(const struct pyi_asyncio_layout *a, int8_t state)
{
	return state == a->frame_suspended_yield_from || state == a->frame_suspended;
}

/*
 * Walks a suspended task's await chain from its coroutine: each level's awaited object is the
 * top of its frame's value stack (what CPython's _PyGen_yf returns). Sets c->inner.
 */
static void walk_chain(struct asyncio_reader *r, struct cached_task *c, uint64_t coro)
{
	const struct pyi_asyncio_layout *a = r->a;
	const struct pyi_offsets *o = &r->lay->off;
	size_t head = (size_t)a->gen_iframe + FRAME_HEAD, len;
	struct asyncio_task *t = &c->t;
	uint8_t buf[CHAIN_READ];
	struct coro_head h;
	uint64_t obj = coro, top;

	r->st.chains_read++;
	t->nframes = 0;
	t->awaited_task = 0;
	c->inner = 0;
	while (obj && t->nframes < ASYNCIO_MAX_CHAIN) {
		enum obj_kind kind;

		/* one read per level: the object, its frame and the start of its value stack
		 * (a small object near the end of a mapping: just what is needed) */
		len = sizeof(buf);
		if (rd(r, obj, buf, len)) {
			len = 24;
			if (rd(r, obj, buf, len))
				break;
		}
		kind = classify_type(r, get_u64(buf, len, o->object_type));
		if (kind == KIND_FUTUREITER) {
			obj = get_u64(buf, len, a->futureiter_future);
			kind = classify(r, obj);
		}
		if (kind == KIND_TASK)
			t->awaited_task = obj;
		if (kind != KIND_CORO)
			break;
		if (len < head && rd(r, obj, buf, (len = head)))
			break;
		coro_from_buf(r, obj, buf, &h);
		t->frames[t->nframes++] = frame_of(r, h.code, h.instr);
		c->inner = obj;
		c->inner_instr = h.instr;
		if (!suspended_in_await(a, h.state) || h.top <= obj)
			break;
		top = h.top - obj;
		obj = top + 8 <= len ? get_u64(buf, len, (int32_t)top) : rd_ptr(r, h.top);
		/* 3.14: a _PyStackRef, whose low bits tag the reference (pycore_stackref.h) */
		obj &= ~(uint64_t)r->lay->frame_code_tag_mask;
	}
}

/* ---- threads: where a running task's coroutine executes ---------------------------------- */

static uint64_t thread_top_frame(struct asyncio_reader *r, uint64_t tstate)
{
	const struct pyi_offsets *o = &r->lay->off;
	uint64_t f = rd_ptr(r, tstate + o->tstate_frame);

	if (o->cframe_current_frame >= 0)	/* 3.11-3.12: tstate->cframe->current_frame */
		f = f ? rd_ptr(r, f + o->cframe_current_frame) : 0;
	return f;
}

/* Looks for frame `target` on the thread; on success fills t's real stack, root first. */
static bool stack_to(struct asyncio_reader *r, uint64_t tstate, uint64_t target,
		     struct asyncio_task *t)
{
	const struct pyi_offsets *o = &r->lay->off;
	struct asyncio_frame leafward[ASYNCIO_MAX_CHAIN];
	uint64_t f = thread_top_frame(r, tstate);
	uint32_t n = 0;
	uint8_t buf[FRAME_HEAD];

	for (int i = 0; f && i < MAX_THREAD_FRAMES; i++) {
		bool shim;

		if (rd(r, f, buf, sizeof(buf)))
			return false;
		/* 3.12+ entry frames belong to the C stack and name no Python code */
		shim = o->frame_owner >= 0 && o->frame_owner_cstack >= 0 &&
		       buf[o->frame_owner] == o->frame_owner_cstack;
		if (!shim) {
			if (n == ASYNCIO_MAX_CHAIN)	/* keep the root end */
				memmove(leafward, leafward + 1, (n - 1) * sizeof(*leafward));
			else
				n++;
			leafward[n - 1] = frame_of(r, get_u64(buf, sizeof(buf), o->frame_code) &
						      ~(uint64_t)r->lay->frame_code_tag_mask,
						   get_u64(buf, sizeof(buf), o->frame_instr));
		}
		if (f == target) {
			t->nframes = n;
			for (uint32_t j = 0; j < n; j++)
				t->frames[j] = leafward[n - 1 - j];
			return true;
		}
		f = get_u64(buf, sizeof(buf), o->frame_previous);
	}
	return false;
}

/* A running task: the thread whose stack holds its coroutine's frame, and that stack. */
static void find_running(struct asyncio_reader *r, struct asyncio_task *t, uint64_t frame)
{
	const struct pyi_offsets *o = &r->lay->off;
	uint64_t ts = rd_ptr(r, r->interp + o->interp_tstate_head);

	for (int i = 0; ts && i < MAX_THREADS; i++) {
		if (stack_to(r, ts, frame, t)) {
			int64_t tid = 0;

			rd(r, ts + o->tstate_native_thread_id, &tid, sizeof(tid));
			t->tid = (int)tid;
			return;
		}
		ts = rd_ptr(r, ts + o->tstate_next);
	}
	t->nframes = 0;	/* it finished or suspended while we looked */
}

/* ---- tasks ------------------------------------------------------------------------------- */

static void task_name(struct asyncio_reader *r, uint64_t name, char *out, size_t outsz)
{
	enum obj_kind kind = classify(r, name);
	const struct pyi_asyncio_layout *a = r->a;

	snprintf(out, outsz, "Task");
	if (kind == KIND_STR && read_str(r, name, out, outsz) >= 0) {
		log_sanitize(out, strlen(out));
	} else if (kind == KIND_INT) {
		/* 3.13 names tasks lazily: a counter that str() formats as "Task-<n>" */
		uint8_t buf[32];
		uint64_t size;

		if (!rd(r, name, buf, sizeof(buf))) {
			size = get_u64(buf, sizeof(buf), a->long_size) >> a->long_size_shift;
			if (size == 1)
				snprintf(out, outsz, "Task-%u",
					 (unsigned)get_s32(buf, sizeof(buf), a->long_digits));
		}
	}
}

static struct cached_task *prev_find(struct asyncio_reader *r, uint64_t addr)
{
	size_t lo = 0, hi = r->nprev;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->prev[mid].t.addr == addr)
			return &r->prev[mid];
		if (r->prev[mid].t.addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

/* Decodes a coroutine head read in a batch (gen_iframe + FRAME_HEAD bytes from coro). */
static void coro_from_buf(struct asyncio_reader *r, uint64_t coro, const uint8_t *buf,
			  struct coro_head *h)
{
	const struct pyi_asyncio_layout *a = r->a;
	const struct pyi_offsets *o = &r->lay->off;
	size_t len = (size_t)a->gen_iframe + FRAME_HEAD;

	h->state = (int8_t)buf[a->gen_frame_state];
	h->frame = coro + a->gen_iframe;
	h->code = get_u64(buf, len, a->gen_iframe + o->frame_code) &
		  ~(uint64_t)r->lay->frame_code_tag_mask;
	h->instr = get_u64(buf, len, a->gen_iframe + o->frame_instr);
	h->top = 0;
	if (a->frame_stacktop >= 0) {
		int32_t n = get_s32(buf, len, a->gen_iframe + a->frame_stacktop);

		if (n > 0 && n < 1 << 20)
			h->top = h->frame + o->frame_localsplus + (uint64_t)(n - 1) * 8;
	} else if (a->frame_stackpointer >= 0) {
		uint64_t sp = get_u64(buf, len, a->gen_iframe + a->frame_stackpointer);

		/* the value stack lives in the frame, after its locals */
		if (sp >= h->frame + o->frame_localsplus + 8 && sp - h->frame < 1 << 20)
			h->top = sp - 8;
	}
}

/*
 * One task, from its object and its coroutine's head as read in this scan's batches.
 * false: not a live task (done, freed, not a Task). *check_inner: the cached chain is reused if
 * its innermost coroutine has not moved either (the caller reads that in a batch).
 */
static bool task_from_bufs(struct asyncio_reader *r, uint64_t addr, const uint8_t *tb,
			   const uint8_t *cb, bool coro_ok, struct cached_task *c,
			   struct cached_task **reuse)
{
	const struct pyi_asyncio_layout *a = r->a;
	size_t tlen = (size_t)a->task_size, clen = (size_t)a->gen_iframe + FRAME_HEAD;
	struct asyncio_task *t = &c->t;
	uint64_t coro, waiter;
	struct cached_task *old;
	struct coro_head h;

	*reuse = NULL;
	if (classify_type(r, get_u64(tb, tlen, r->lay->off.object_type)) != KIND_TASK) {
		r->st.bad_objects++;
		return false;
	}
	if (get_s32(tb, tlen, a->task_state) != 0)	/* STATE_PENDING */
		return false;
	coro = get_u64(tb, tlen, a->task_coro);
	waiter = get_u64(tb, tlen, a->task_fut_waiter);
	if (!coro_ok || classify_type(r, get_u64(cb, clen, r->lay->off.object_type)) != KIND_CORO)
		return false;
	coro_from_buf(r, coro, cb, &h);
	memset(c, 0, sizeof(*c));
	c->coro = coro;
	c->name_obj = get_u64(tb, tlen, a->task_name);
	t->addr = addr;
	t->loop = get_u64(tb, tlen, a->task_loop);
	t->indicator = mix(mix(mix(coro, h.instr), (uint64_t)(uint8_t)h.state), waiter);
	if (h.state == a->frame_executing) {
		t->state = ASYNCIO_RUNNING;
		task_name(r, get_u64(tb, tlen, a->task_name), t->name, sizeof(t->name));
		find_running(r, t, h.frame);
		return true;
	}
	t->state = suspended_in_await(a, h.state) ? ASYNCIO_SUSPENDED : ASYNCIO_READY;
	old = prev_find(r, addr);
	/* unchanged since the last scan: same outer position, same future awaited */
	if (old && old->t.state != ASYNCIO_RUNNING && old->t.indicator == t->indicator) {
		*reuse = old;
		return true;
	}
	if (old && old->name_obj == c->name_obj)
		memcpy(t->name, old->t.name, sizeof(t->name));	/* names are rarely set again */
	else
		task_name(r, c->name_obj, t->name, sizeof(t->name));
	walk_chain(r, c, coro);
	return true;
}

/* ---- batched reads: one process_vm_readv for up to IOV_BATCH objects -------------------- */

#define IOV_BATCH 1024	/* UIO_MAXIOV */

/* Reads n objects of len bytes each at addrs[i] into dst + i * len; ok[i] says which. */
static void rd_batch(struct asyncio_reader *r, const uint64_t *addrs, size_t n, size_t len,
		     uint8_t *dst, bool *ok)
{
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	size_t i = 0;

	while (i < n) {
		size_t k = 0, j;
		ssize_t got;

		for (j = i; j < n && k < IOV_BATCH; j++) {
			ok[j] = false;
			if (!addrs[j])
				continue;	/* a NULL is never read: it would end the batch */
			local[k] = (struct iovec){ .iov_base = dst + j * len, .iov_len = len };
			remote[k] = (struct iovec){ .iov_base = (void *)addrs[j], .iov_len = len };
			k++;
		}
		r->st.reads++;
		got = k ? process_vm_readv(r->pid, local, k, remote, k, 0) : 0;
		/* the kernel stops at the first remote iovec it cannot read: the ones before it
		 * are complete, that one is lost, and the batch resumes after it */
		size_t whole = got > 0 ? (size_t)got / len : 0, seen = 0;

		for (; i < j; i++) {
			if (!addrs[i])
				continue;
			if (seen < whole) {
				ok[i] = true;
			} else if (seen > whole) {
				break;
			}
			seen++;
		}
		if (k && whole == k)
			i = j;
	}
}

static int reserve_cur(struct asyncio_reader *r, size_t n)
{
	struct cached_task *p;

	if (n <= r->cap_cur)
		return 0;
	p = realloc(r->cur, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->cur = p;
	r->cap_cur = n;
	return 0;
}

static int cmp_addr(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

struct batch {
	uint64_t *addr;		/* per object: task, then coroutine, then inner coroutine */
	uint8_t *tbuf, *cbuf, *ibuf;
	bool *tok, *cok, *iok;
	struct cached_task **reuse;
};

static void batch_free(struct batch *b)
{
	free(b->addr);
	free(b->tbuf);
	free(b->cbuf);
	free(b->ibuf);
	free(b->tok);
	free(b->cok);
	free(b->iok);
	free(b->reuse);
}

static int batch_alloc(struct batch *b, size_t n, size_t tlen, size_t clen)
{
	n = n ? n : 1;
	b->addr = calloc(n, sizeof(*b->addr));
	b->tbuf = malloc(n * tlen);
	b->cbuf = malloc(n * clen);
	b->ibuf = malloc(n * clen);
	b->tok = calloc(n, sizeof(bool));
	b->cok = calloc(n, sizeof(bool));
	b->iok = calloc(n, sizeof(bool));
	b->reuse = calloc(n, sizeof(*b->reuse));
	if (!b->addr || !b->tbuf || !b->cbuf || !b->ibuf || !b->tok || !b->cok || !b->iok ||
	    !b->reuse)
		return -ENOMEM;
	return 0;
}

/*
 * The tasks in r->objs (weak references first, then nweak.. plain members) into r->cur, in
 * four batched reads whatever their number: the references, the tasks, their coroutines, and
 * the innermost coroutine of each cached chain. Only tasks that ran since the last scan cost
 * more (their chain is walked again).
 */
static int read_tasks(struct asyncio_reader *r, size_t nweak, size_t nobjs)
{
	const struct pyi_asyncio_layout *a = r->a;
	size_t tlen = (size_t)a->task_size, clen = (size_t)a->gen_iframe + FRAME_HEAD, i, w;
	struct batch b = { 0 };
	int err;

	r->ncur = 0;
	err = batch_alloc(&b, nobjs, tlen > 8 ? tlen : 8, clen);
	if (!err)
		err = reserve_cur(r, nobjs ? nobjs : 1);
	if (err)
		goto out;
	/* weak references -> tasks */
	for (i = 0; i < nweak; i++)
		b.addr[i] = r->objs[i] + a->weakref_object;
	rd_batch(r, b.addr, nweak, 8, b.tbuf, b.tok);
	for (i = 0; i < nobjs; i++)
		b.addr[i] = i < nweak ? (b.tok[i] ? get_u64(b.tbuf + i * 8, 8, 0) : 0) : r->objs[i];
	memcpy(r->objs, b.addr, nobjs * sizeof(*r->objs));	/* the tasks themselves */
	/* in address order, each once (a task moving between the sets may be in both): the
	 * cache is searched by address, and nothing bigger than an address is ever sorted */
	qsort(r->objs, nobjs, sizeof(*r->objs), cmp_addr);
	for (i = 0, w = 0; i < nobjs; i++) {
		if (r->objs[i] && (!w || r->objs[w - 1] != r->objs[i]))
			r->objs[w++] = r->objs[i];
	}
	nobjs = w;
	rd_batch(r, r->objs, nobjs, tlen, b.tbuf, b.tok);
	for (i = 0; i < nobjs; i++)
		b.addr[i] = b.tok[i] ? get_u64(b.tbuf + i * tlen, tlen, a->task_coro) : 0;
	rd_batch(r, b.addr, nobjs, clen, b.cbuf, b.cok);
	for (i = 0; i < nobjs; i++) {
		struct cached_task *c = &r->cur[r->ncur];

		b.addr[i] = 0;
		if (!b.tok[i] || !task_from_bufs(r, r->objs[i], b.tbuf + i * tlen,
						 b.cbuf + i * clen, b.cok[i], c, &b.reuse[r->ncur]))
			continue;
		if (b.reuse[r->ncur])
			b.addr[r->ncur] = b.reuse[r->ncur]->inner;
		r->ncur++;
	}
	/* a reused chain must also end where it did: its innermost coroutine has not moved */
	rd_batch(r, b.addr, r->ncur, clen, b.ibuf, b.iok);
	for (i = 0; i < r->ncur; i++) {
		struct cached_task *c = &r->cur[i], *old = b.reuse[i];
		struct coro_head ih;

		if (!old)
			continue;
		if (old->inner) {
			coro_from_buf(r, old->inner, b.ibuf + i * clen, &ih);
			if (!b.iok[i] || ih.instr != old->inner_instr ||
			    !suspended_in_await(a, ih.state)) {
				task_name(r, c->name_obj, c->t.name, sizeof(c->t.name));
				walk_chain(r, c, c->coro);
				continue;
			}
		}
		c->t = old->t;
		c->t.indicator = old->t.indicator;
		c->inner = old->inner;
		c->inner_instr = old->inner_instr;
		c->t.chain_reused = true;
		r->st.chains_reused++;
	}
out:
	batch_free(&b);
	return err;
}

/* ---- 3.14: per-thread task lists and the published offsets ------------------------------ */

/*
 * 3.14's _asyncio publishes its offsets in an ELF section of its own (.AsyncioDebug, a
 * _Py_AsyncioModuleDebugOffsets: the Task's size, name, coroutine and list node, and where the
 * interpreter and each thread keep their task lists). They overlay the generated ones.
 */
struct asyncio_debug_offsets {
	uint64_t task_size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set;
	uint64_t task_coro, task_node;
	uint64_t interp_size, interp_tasks_head;
	uint64_t tstate_size, tstate_running_loop, tstate_running_task, tstate_tasks_head;
};

static int section_from_file(int fd, const char *want, void *out, size_t len)
{
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int err = -ENOENT;

	if (!e || elf_getshdrstrndx(e, &shstrndx))
		goto out;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(name, want))
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf && d->d_size >= len) {
			memcpy(out, d->d_buf, len);
			err = 0;
		}
		break;
	}
out:
	if (e)
		elf_end(e);
	return err;
}

/* The _asyncio extension mapped in the target ("/usr/lib/.../_asyncio.cpython-314-...so"). */
static int asyncio_debug_offsets(struct asyncio_reader *r, struct asyncio_debug_offsets *d)
{
	char path[64], line[PATH_MAX + 128];
	int err = -ENOENT, fd;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", r->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (err == -ENOENT && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), *nl;

		if (!p || !strstr(p, "/_asyncio."))
			continue;
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		/* the mapping itself (its path is as we see it, not as the target does); without
		 * the capability map_files needs, the path below the target's root */
		unsigned long long lo, hi;
		char link[96];

		fd = -1;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
			snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", r->pid, lo,
				 hi);
			fd = open(link, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0)
			fd = proc_open_in_root(r->pid, p);
		if (fd < 0)
			continue;
		err = section_from_file(fd, ".AsyncioDebug", d, sizeof(*d));
		close(fd);
	}
	fclose(f);
	return err;
}

/* Whether to look again for an asyncio that was not there: 50 times a second at first, then
 * less often (down to once a second) while the looks find nothing new. With many targets that
 * never import asyncio, a read per target every 20 ms (process_vm_readv, or /proc/PID/maps on
 * 3.14+) was most of the profiler's CPU in continuous mode. */
static bool look_due(struct asyncio_reader *r, double *now)
{
	*now = monotonic_s();
	if (!r->find_every)
		r->find_every = FIND_RETRY_S;
	if (r->last_find && *now - r->last_find < r->find_every)
		return false;
	r->last_find = *now;
	return true;
}

static void look_later(struct asyncio_reader *r)
{
	r->find_every = r->find_every * 2 > FIND_RETRY_MAX_S ? FIND_RETRY_MAX_S :
			r->find_every * 2;
}

/* Reads the published offsets once _asyncio is loaded; false while it is not (yet). */
static bool overlay_published(struct asyncio_reader *r)
{
	struct asyncio_debug_offsets d;

	double now;
	int err;

	if (r->published)
		return true;
	if (!look_due(r, &now))
		return false;
	elf_version(EV_CURRENT);
	err = asyncio_debug_offsets(r, &d);
	if (err) {
		look_later(r);
		r->gone = !proc_exists(r->pid);
		return false;
	}
	if (d.task_size < 64 || d.task_size > 512 || d.task_coro >= d.task_size ||
	    d.task_name >= d.task_size || d.task_node >= d.task_size ||
	    d.interp_tasks_head >= d.interp_size || d.tstate_tasks_head >= d.tstate_size)
		return false;	/* not a layout this reader can use: nothing is read */
	r->own.task_size = (int32_t)d.task_size;
	r->own.task_name = (int32_t)d.task_name;
	r->own.task_coro = (int32_t)d.task_coro;
	r->own.task_node = (int32_t)d.task_node;
	r->own.interp_tasks_head = (int32_t)d.interp_tasks_head;
	r->own.tstate_tasks_head = (int32_t)d.tstate_tasks_head;
	r->published = true;
	return true;
}

/* Appends the tasks of one list (an llist_node head; next is its first member). */
static int list_members(struct asyncio_reader *r, uint64_t head, size_t *n, size_t max)
{
	uint64_t node = rd_ptr(r, head);

	for (size_t i = 0; node && node != head && i < MAX_LIST_TASKS && *n < max; i++) {
		if (objs_reserve(r, *n + 1))
			return -ENOMEM;
		r->objs[(*n)++] = node - r->a->task_node;
		node = rd_ptr(r, node);
	}
	return 0;
}

/* 3.14: every thread's list, and the interpreter's (tasks of threads that have exited). */
static int list_tasks(struct asyncio_reader *r, size_t *n, size_t max)
{
	const struct pyi_offsets *o = &r->lay->off;
	uint64_t ts = rd_ptr(r, r->interp + o->interp_tstate_head);
	int err = list_members(r, r->interp + r->a->interp_tasks_head, n, max);

	for (int i = 0; !err && ts && i < MAX_THREADS && *n < max; i++) {
		err = list_members(r, ts + r->a->tstate_tasks_head, n, max);
		ts = rd_ptr(r, ts + o->tstate_next);
	}
	return err;
}

/* The sets, found once asyncio is imported (sys.modules searched only when it changed). */
static bool have_task_sets(struct asyncio_reader *r)
{
	uint64_t used;
	double now;

	if (r->tasks_set)
		return true;
	if (!look_due(r, &now))
		return false;
	used = rd_ptr(r, rd_ptr(r, r->interp + r->a->interp_modules) + r->a->dict_used);
	r->gone = !used && !proc_exists(r->pid);
	if (used && used == r->modules_used) {
		look_later(r);
		/* sys.modules as it was: searched once more a second after it last changed (a
		 * search can miss what is there: _asyncio is in sys.modules before its module code
		 * has made its sets, and a dict may be read while it is resized), then no more
		 * until it changes (a search reads the whole dict: once a second for each of many
		 * targets, it was a good part of continuous mode's CPU) */
		if (r->searched_again || now - r->last_search < SEARCH_AGAIN_S)
			return false;
		r->searched_again = true;
	} else {
		r->find_every = FIND_RETRY_S;	/* imports are going on: asyncio may be next */
		r->searched_again = false;
	}
	r->last_search = now;
	if (find_task_sets(r)) {
		r->modules_used = used;
		return false;
	}
	return true;
}

int asyncio_reader_count(struct asyncio_reader *r, int max)
{
	size_t n = 0;
	int err;

	if (r->a->interp_tasks_head >= 0) {
		if (!overlay_published(r))
			return r->gone ? -ESRCH : 0;
		err = list_tasks(r, &n, (size_t)max);
		return err ? err : (int)n;
	}
	if (!have_task_sets(r))
		return r->gone ? -ESRCH : 0;
	n = rd_ptr(r, r->tasks_set + r->a->set_used);
	if (r->eager_set)
		n += rd_ptr(r, r->eager_set + r->a->set_used);
	return n > (size_t)max ? max : (int)n;
}

int asyncio_reader_scan(struct asyncio_reader *r, const struct asyncio_task *const **tasks)
{
	size_t nweak = 0, n = 0, i;
	struct cached_task *swap;
	size_t swap_cap;
	int err;

	*tasks = NULL;
	r->st.scans++;
	if (r->a->interp_tasks_head >= 0) {
		if (!overlay_published(r))
			return r->gone ? -ESRCH : 0;
		err = list_tasks(r, &nweak, SIZE_MAX);
		if (err)
			return err;
		n = nweak;
		nweak = 0;	/* the lists hold the tasks themselves */
		goto read;
	}
	if (!have_task_sets(r))
		return r->gone ? -ESRCH : 0;
	err = set_members(r, r->tasks_set, &nweak);
	if (err) {
		r->tasks_set = 0;	/* asyncio was torn down (or never was): look again */
		return proc_exists(r->pid) ? 0 : -ESRCH;
	}
	n = nweak;
	if (r->eager_set && set_members(r, r->eager_set, &n))
		n = nweak;
read:
	/* this scan's tasks become the cache of the next one */
	swap = r->prev;
	swap_cap = r->cap_prev;
	r->prev = r->cur;
	r->nprev = r->ncur;
	r->cap_prev = r->cap_cur;
	r->cur = swap;
	r->cap_cur = swap_cap;
	err = read_tasks(r, nweak, n);
	if (err)
		return err;
	if (r->out_cap < r->ncur) {
		const struct asyncio_task **p = realloc(r->out, r->ncur * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->out = p;
		r->out_cap = r->ncur;
	}
	for (i = 0; i < r->ncur; i++)
		r->out[i] = &r->cur[i].t;
	*tasks = r->out;
	return (int)r->ncur;
}

struct asyncio_reader *asyncio_reader__new(int pid, const struct pyi_layout *lay, uint64_t interp)
{
	const struct pyi_asyncio_layout *a = asyncio_layout_find(lay->off.version_hex);
	struct asyncio_reader *r;

	if (!a)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->pid = pid;
	r->lay = lay;
	r->own = *a;
	r->a = &r->own;
	r->interp = interp;
	return r;
}

void asyncio_reader__free(struct asyncio_reader *r)
{
	if (!r)
		return;
	free(r->cur);
	free(r->prev);
	free(r->out);
	free(r->objs);
	free(r);
}

int asyncio_reader_code_name(struct asyncio_reader *r, uint64_t code, char *out, size_t outsz)
{
	return read_str(r, rd_ptr(r, code + r->lay->off.code_name), out, outsz);
}

void asyncio_reader_stats(const struct asyncio_reader *r, struct asyncio_reader_stats *st)
{
	*st = r->st;
}
