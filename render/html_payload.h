/* SPDX-License-Identifier: MIT */
/*
 * The HTML report's payload (docs/html-report.md version 1) as tables built once in memory:
 * strings, frames and stacks interned, threads and processes found from their root frames,
 * records with their times. html_payload.c builds the tables, html_convert.c turns session
 * frames and stacks into payload ones, html_order.c puts the records in time order, html.c
 * writes it all out.
 */
#ifndef PYINST_HTML_PAYLOAD_H
#define PYINST_HTML_PAYLOAD_H

#include <stdint.h>

#include "hash_index.h"
#include "render.h"

/* pyinstrument merges identical consecutive samples past a few million; so do we, per thread */
#define HTML_MERGE_THRESHOLD 2000000
#define NONE UINT32_MAX

enum frame_flag {
	FLAG_SYNTHETIC = 1,
	FLAG_APP = 2,
	FLAG_TRACEBACKHIDE = 4,
	FLAG_THREAD = 8,
	FLAG_PROCESS = 16,
	FLAG_IDLE = 32,
};

struct ostr {
	char *p;
	size_t n;
};

struct oframe {
	uint32_t function, file, cls;	/* string indices; cls NONE: -1 */
	uint32_t flags;
	long long line;
};

struct ostack {
	uint32_t parent;	/* NONE: -1 */
	uint32_t frame;
	uint32_t thread;	/* NONE: a process root */
	uint32_t process;
};

struct othread {
	uint32_t stack;
	uint32_t name;		/* string index */
	long long pid;
	double elapsed;		/* cumulative weight so far: the next sample's time */
	uint32_t head, tail;	/* this thread's records, in time order, linked by next */
};

struct oprocess {
	uint32_t stack;
	long long pid;
	char *cmdline;
	uint32_t thread;	/* synthetic thread for samples with no thread root, or NONE */
};

struct orecord {
	double time;
	double weight;
	uint32_t stack;
	uint32_t next;
};

struct payload {
	const struct session *s;
	const struct render_opts *o;
	struct ostr *strs;
	uint32_t nstrs;
	size_t cap_strs;
	struct hash_index str_tab;
	struct oframe *frames;
	uint32_t nframes;
	size_t cap_frames;
	struct hash_index frame_tab;
	struct ostack *stacks;
	uint32_t nstacks;
	size_t cap_stacks;
	struct hash_index stack_tab;
	struct othread *threads;
	uint32_t nthreads;
	size_t cap_threads;
	struct oprocess *procs;
	uint32_t nprocs;
	size_t cap_procs;
	uint32_t *stack_map;	/* session stack -> payload stack */
	uint32_t default_proc;	/* process root for sessions without one, or NONE */
	struct orecord *recs;
	size_t nrecs;
	uint32_t *order;	/* records by time */
	int err;
};

/* Builds every table from pl->s (and pl->o); 0 or -ENOMEM. payload_free in any case. */
int payload_build(struct payload *pl);
void payload_free(struct payload *pl);
/* The records again after the session's timeline was coarsened: its stacks are the same, so
 * the tables stay as they are (every stack keeps a record, in the same first place). */
int payload_rebuild_records(struct payload *pl);

/* Interning: the index of an equal entry, or of a new one. On ENOMEM pl->err is set. */
uint32_t payload_intern_str(struct payload *pl, const char *p, size_t n);
uint32_t payload_intern_frame(struct payload *pl, const struct oframe *f);
/* The stack (parent, frame); a new thread or process root registers itself (cmdline: the
 * process's command line, for a process root). */
uint32_t payload_push(struct payload *pl, uint32_t parent, uint32_t frame, const char *cmdline);

/* html_convert.c: the payload stack of a session stack (converted with its ancestors once). */
uint32_t payload_map_stack(struct payload *pl, uint32_t stack);
/* The thread root under a process root, for stacks recorded without one. */
uint32_t payload_default_thread(struct payload *pl, uint32_t proc_stack);

/* html_order.c: pl->order, the records by time (a k-way merge of the threads' lists). */
int payload_order_records(struct payload *pl);

#endif
