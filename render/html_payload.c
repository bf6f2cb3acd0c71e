// SPDX-License-Identifier: MIT
/*
 * The HTML payload's tables (html_payload.h): interned strings, frames and stacks, the threads
 * and processes their roots stand for, and the records with the time each thread had reached.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "html_payload.h"

static uint64_t str_hash_of(const void *ctx, uint32_t idx)
{
	const struct ostr *a = &((const struct payload *)ctx)->strs[idx];

	return hash_bytes(a->p, a->n);
}

uint32_t payload_intern_str(struct payload *pl, const char *p, size_t n)
{
	uint32_t id, pos;
	char *copy;

	if (hash_index_reserve(&pl->str_tab, str_hash_of, pl))
		goto nomem;
	for (id = hash_index_first(&pl->str_tab, hash_bytes(p, n), &pos); id != HASH_INDEX_NONE;
	     id = hash_index_next(&pl->str_tab, &pos))
		if (pl->strs[id].n == n && !memcmp(pl->strs[id].p, p, n))
			return id;
	if (array_reserve(&pl->strs, &pl->cap_strs, (size_t)pl->nstrs + 1, sizeof(*pl->strs)))
		goto nomem;
	copy = malloc(n + 1);
	if (!copy)
		goto nomem;
	memcpy(copy, p, n);
	copy[n] = '\0';
	pl->strs[pl->nstrs] = (struct ostr){ copy, n };
	hash_index_put(&pl->str_tab, pos, pl->nstrs);
	return pl->nstrs++;
nomem:
	pl->err = -ENOMEM;
	return 0;
}

static uint64_t frame_hash_key(const struct oframe *f)
{
	uint64_t h = hash_combine(f->function, f->file);

	h = hash_combine(h, f->cls);
	h = hash_combine(h, f->flags);
	return hash_combine(h, (uint64_t)f->line);
}

static uint64_t frame_hash_of(const void *ctx, uint32_t idx)
{
	return frame_hash_key(&((const struct payload *)ctx)->frames[idx]);
}

uint32_t payload_intern_frame(struct payload *pl, const struct oframe *f)
{
	uint32_t id, pos;
	const struct oframe *a;

	if (hash_index_reserve(&pl->frame_tab, frame_hash_of, pl))
		goto nomem;
	for (id = hash_index_first(&pl->frame_tab, frame_hash_key(f), &pos);
	     id != HASH_INDEX_NONE; id = hash_index_next(&pl->frame_tab, &pos)) {
		a = &pl->frames[id];
		if (a->function == f->function && a->file == f->file && a->cls == f->cls &&
		    a->flags == f->flags && a->line == f->line)
			return id;
	}
	if (array_reserve(&pl->frames, &pl->cap_frames, (size_t)pl->nframes + 1,
			  sizeof(*pl->frames)))
		goto nomem;
	pl->frames[pl->nframes] = *f;
	hash_index_put(&pl->frame_tab, pos, pl->nframes);
	return pl->nframes++;
nomem:
	pl->err = -ENOMEM;
	return 0;
}

static uint64_t stack_hash_key(uint32_t parent, uint32_t frame)
{
	return hash_u64((uint64_t)parent << 32 | frame);
}

static uint64_t stack_hash_of(const void *ctx, uint32_t idx)
{
	const struct ostack *a = &((const struct payload *)ctx)->stacks[idx];

	return stack_hash_key(a->parent, a->frame);
}

/* A new thread root stack under a process root: the payload's threads[] entry. */
static void add_thread(struct payload *pl, uint32_t stack)
{
	const struct ostack *st = &pl->stacks[stack];
	struct othread *t;

	if (array_reserve(&pl->threads, &pl->cap_threads, (size_t)pl->nthreads + 1,
			  sizeof(*pl->threads))) {
		pl->err = -ENOMEM;
		return;
	}
	t = &pl->threads[pl->nthreads];
	memset(t, 0, sizeof(*t));
	t->stack = stack;
	t->name = pl->frames[st->frame].function;
	t->pid = pl->procs[st->process].pid;
	t->head = t->tail = NONE;
	pl->stacks[stack].thread = pl->nthreads++;
}

static void add_process(struct payload *pl, uint32_t stack, const char *cmdline)
{
	struct oprocess *p;

	if (array_reserve(&pl->procs, &pl->cap_procs, (size_t)pl->nprocs + 1, sizeof(*pl->procs)) ||
	    !(cmdline = strdup(cmdline))) {
		pl->err = -ENOMEM;
		return;
	}
	p = &pl->procs[pl->nprocs];
	p->stack = stack;
	p->pid = pl->frames[pl->stacks[stack].frame].line;
	p->cmdline = (char *)cmdline;
	p->thread = NONE;
	pl->stacks[stack].process = pl->nprocs++;
}

/* The interned stack (parent, frame); thread and process roots register themselves. */
uint32_t payload_push(struct payload *pl, uint32_t parent, uint32_t frame, const char *cmdline)
{
	struct ostack key = { parent, frame, NONE, NONE };
	uint32_t flags = pl->frames[frame].flags, id, pos;

	if (hash_index_reserve(&pl->stack_tab, stack_hash_of, pl))
		goto nomem;
	for (id = hash_index_first(&pl->stack_tab, stack_hash_key(parent, frame), &pos);
	     id != HASH_INDEX_NONE; id = hash_index_next(&pl->stack_tab, &pos))
		if (pl->stacks[id].parent == parent && pl->stacks[id].frame == frame)
			return id;
	if (array_reserve(&pl->stacks, &pl->cap_stacks, (size_t)pl->nstacks + 1,
			  sizeof(*pl->stacks)))
		goto nomem;
	id = pl->nstacks++;
	hash_index_put(&pl->stack_tab, pos, id);
	if (parent != NONE) {
		key.thread = pl->stacks[parent].thread;
		key.process = pl->stacks[parent].process;
	}
	pl->stacks[id] = key;
	if (flags & FLAG_PROCESS)
		add_process(pl, id, cmdline);
	else if (flags & FLAG_THREAD)
		add_thread(pl, id);
	return id;
nomem:
	pl->err = -ENOMEM;
	return 0;
}

/*
 * The session has no timestamps: a sample's time is the weight of the earlier samples of its
 * thread, as pyinstrument lays out its timeline. Past HTML_MERGE_THRESHOLD samples, a sample
 * with the stack of its thread's previous one extends it (exact but for ordering in a run).
 */
static int build_records(struct payload *pl)
{
	size_t n;
	const struct session_sample *smp = session_samples(pl->s, &n);
	bool merge = n > HTML_MERGE_THRESHOLD;

	pl->recs = malloc((n ? n : 1) * sizeof(*pl->recs));
	if (!pl->recs)
		return -ENOMEM;
	for (size_t i = 0; i < n && !pl->err; i++) {
		uint32_t st, r;
		struct othread *t;

		if (smp[i].stack == SESSION_NO_STACK)
			continue;
		st = payload_map_stack(pl, smp[i].stack);
		if (pl->stacks[st].thread == NONE)	/* a bare process root */
			st = payload_default_thread(pl, st);
		if (pl->err)
			break;
		t = &pl->threads[pl->stacks[st].thread];
		if (merge && t->tail != NONE && pl->recs[t->tail].stack == st) {
			pl->recs[t->tail].weight += smp[i].weight;
		} else {
			r = (uint32_t)pl->nrecs++;
			pl->recs[r] = (struct orecord){ t->elapsed, smp[i].weight, st, NONE };
			if (t->tail != NONE)
				pl->recs[t->tail].next = r;
			else
				t->head = r;
			t->tail = r;
		}
		t->elapsed += smp[i].weight;
	}
	return pl->err;
}

int payload_build(struct payload *pl)
{
	uint32_t n = session_stack_count(pl->s);
	int err;

	pl->default_proc = NONE;
	pl->stack_map = malloc((n ? n : 1) * sizeof(*pl->stack_map));
	if (!pl->stack_map)
		return -ENOMEM;
	memset(pl->stack_map, 0xff, (n ? n : 1) * sizeof(*pl->stack_map));
	payload_intern_str(pl, "", 0);	/* frames with no file point here */
	err = build_records(pl);
	return err ? err : payload_order_records(pl);
}

int payload_rebuild_records(struct payload *pl)
{
	int err;

	free(pl->recs);
	free(pl->order);
	pl->recs = NULL;
	pl->order = NULL;
	pl->nrecs = 0;
	for (uint32_t t = 0; t < pl->nthreads; t++) {
		pl->threads[t].elapsed = 0;
		pl->threads[t].head = pl->threads[t].tail = NONE;
	}
	err = build_records(pl);
	return err ? err : payload_order_records(pl);
}

void payload_free(struct payload *pl)
{
	for (uint32_t i = 0; i < pl->nstrs; i++)
		free(pl->strs[i].p);
	for (uint32_t i = 0; i < pl->nprocs; i++)
		free(pl->procs[i].cmdline);
	free(pl->strs);
	hash_index_free(&pl->str_tab);
	free(pl->frames);
	hash_index_free(&pl->frame_tab);
	free(pl->stacks);
	hash_index_free(&pl->stack_tab);
	free(pl->threads);
	free(pl->procs);
	free(pl->stack_map);
	free(pl->recs);
	free(pl->order);
}
