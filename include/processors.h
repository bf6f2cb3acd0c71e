/* SPDX-License-Identifier: MIT */
/*
 * pyinstrument's processors (processors.py): each reshapes a frame tree in place and may pick a
 * new root (tree->root). Renderers choose a list with processors_default() and run it.
 */
#ifndef PYINST_PROCESSORS_H
#define PYINST_PROCESSORS_H

#include <stdbool.h>
#include <stddef.h>

#include "frame_tree.h"

enum processor {
	PROC_REMOVE_IMPORTLIB,
	PROC_REMOVE_TRACEBACKHIDE,
	PROC_MERGE_CONSECUTIVE_SELF_TIME,
	PROC_AGGREGATE_REPEATED_CALLS,
	PROC_REMOVE_IRRELEVANT_NODES,
	PROC_REMOVE_UNNECESSARY_SELF_TIME_NODES,
	PROC_REMOVE_FIRST_PYINSTRUMENT_FRAMES,
	PROC_GROUP_LIBRARY_FRAMES,
	PROC__COUNT,
};

/* pyinstrument's processor_options. Regexes use Python's re.match semantics (anchored at the
 * start only) on POSIX extended syntax; see processors.c for the dialect translation. */
struct processor_options {
	double filter_threshold;	/* remove_irrelevant_nodes; pyinstrument's default 0.01 */
	const char *hide_regex;		/* NULL: none */
	const char *show_regex;		/* NULL: none; beats hide_regex */
};
#define PROCESSOR_OPTIONS_INIT { .filter_threshold = 0.01 }

/* Whose default list (console and json share one). */
enum processor_renderer {
	PROC_FOR_CONSOLE,
	PROC_FOR_JSON,
	PROC_FOR_PSTATS,
	PROC_FOR_SPEEDSCOPE,
	PROC_FOR_HTML,		/* none: the browser app processes */
};

struct processor_list {
	enum processor v[PROC__COUNT];
	size_t n;
};

/* The renderer's default_processors() in pyinstrument's order, after FrameRenderer's removals:
 * show_all drops grouping, importlib, irrelevant-node and tracebackhide removal; timeline drops
 * aggregation. */
void processors_default(enum processor_renderer r, bool show_all, bool timeline,
			struct processor_list *out);
void processor_list_remove(struct processor_list *l, enum processor p);
const char *processor_name(enum processor p);
/* Runs one processor / a list; NULL options mean the defaults. 0, -ENOMEM, or -EINVAL for a
 * regex that does not compile (logged). An empty tree (root NULL) is left alone. */
int processor_run(struct frame_tree *t, enum processor p, const struct processor_options *o);
/* 0, or -EINVAL (logged, naming the option) when a regex does not compile. */
int processor_options_check(const struct processor_options *o);
int processors_run(struct frame_tree *t, const struct processor_list *l,
		   const struct processor_options *o);

#endif /* PYINST_PROCESSORS_H */
