/* SPDX-License-Identifier: MIT */
/*
 * pyinstrument's Frame model (frame.py, frame_ops.py), built from a session's samples.
 * Processors (processors.h) reshape it; renderers walk it read-only:
 *
 *	for (uint32_t i = 0; i < node->nchildren; i++) visit(tree, node->children[i]);
 *
 * and read a node through the frame_*() accessors below. Nodes, groups and strings belong to
 * the tree and live until frame_tree__free(), even once detached by a processor.
 */
#ifndef PYINST_FRAME_TREE_H
#define PYINST_FRAME_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* One observed attribute value ("cWorker", "l27", "h1": marker then data) and its seconds. */
struct frame_attr {
	uint32_t attr;		/* session_attr() id */
	double time;
};

struct frame_node {
	struct frame_node *parent;	/* NULL for the root and for detached nodes */
	struct frame_node **children;	/* in order: time order, or by time once aggregated */
	uint32_t nchildren;
	uint32_t cap_children;
	uint32_t ident;			/* session_ident() id; SESSION_IDENT_* if synthetic */
	uint32_t nattrs;
	uint32_t cap_attrs;
	struct frame_attr *attrs;	/* first-seen order, as Python's dict */
	double time;			/* inclusive seconds */
	double absorbed_time;		/* seconds of descendants deleted without replacement */
	struct frame_group *group;	/* library group, or NULL */
};

/* pyinstrument's FrameGroup. Renderers that need a uuid derive one from id. */
struct frame_group {
	uint32_t id;			/* creation order within the tree */
	struct frame_node *root;
	struct frame_node **frames;	/* members in the order they were added */
	uint32_t nframes;
	uint32_t cap_frames;
};

/*
 * What code a file holds: pyinstrument's Frame.is_application_code for one frame, the library
 * rule of every report (the text and json reports, library grouping, the HTML payload's flag).
 */
enum frame_file_kind {
	FRAME_FILE_LIBRARY,	/* no file, under a sys_prefixes entry, <built-in>, <frozen ...> */
	FRAME_FILE_APP,		/* any other path, <ipython-input-...>, our <wait> and <idle> */
	FRAME_FILE_CALLER,	/* <string>, <stdin>: exec'd code is its caller's (root: app) */
};

/* The kind of file (NULL or "" for none) in session s, whose sys_prefixes decide. */
enum frame_file_kind frame_file_kind(const struct session *s, const char *file);

/* The parts of one identifier "function\0file\0line", parsed once per tree. */
struct frame_ident {
	const char *function;
	const char *file_path;		/* NULL when absent or empty */
	long line_no;			/* 0 when absent or not a number */
	char *file_path_short;		/* shorten_path(file_path); NULL with no file path */
	enum frame_file_kind kind;	/* frame_file_kind(file_path) */
};

struct node_chunk;

struct frame_tree {
	const struct session *session;
	struct frame_node *root;	/* NULL when the session has no samples */
	struct frame_ident *idents;	/* indexed by identifier id */
	uint32_t nidents;
	struct frame_group **groups;
	uint32_t ngroups;
	uint32_t cap_groups;
	struct node_chunk *chunks;	/* node storage */
	struct frame_node **scratch;	/* nidents entries, all NULL between uses */
};

/* Session.root_frame(trim_stem): build_frame_tree, then _trim_stem. NULL and errno on error. */
struct frame_tree *frame_tree__new(const struct session *s, bool trim_stem);
void frame_tree__free(struct frame_tree *t);
/*
 * For renderers that aggregate repeated calls (text, json, pstats, folded): the same tree
 * once aggregated, built from one record per stack when the session is coarsened or has more
 * than FRAME_TREE_ORDERED_MAX records, so that its size follows distinct stacks. Totals are
 * the same sums in another order (last-digit float differences); smaller sessions are built
 * record by record, byte-identical to pyinstrument.
 */
#define FRAME_TREE_ORDERED_MAX 100000
struct frame_tree *frame_tree__new_aggregated(const struct session *s, bool trim_stem);

/* Node accessors, with Frame's property names and semantics. */
const char *frame_function(const struct frame_tree *t, const struct frame_node *n);
const char *frame_file_path(const struct frame_tree *t, const struct frame_node *n);
long frame_line_no(const struct frame_tree *t, const struct frame_node *n);
/* Synthetic frames show their parent's path (so "[self]" prints as "demo.py"). */
const char *frame_file_path_short(const struct frame_tree *t, const struct frame_node *n);
/* The most time-weighted value of an attribute marker, without the marker; NULL if none. */
const char *frame_attribute_value(const struct frame_tree *t, const struct frame_node *n,
				  char marker);
const char *frame_class_name(const struct frame_tree *t, const struct frame_node *n);
bool frame_has_tracebackhide(const struct frame_tree *t, const struct frame_node *n);
bool frame_is_synthetic(const struct frame_node *n);
bool frame_is_synthetic_leaf(const struct frame_node *n);
bool frame_is_application_code(const struct frame_tree *t, const struct frame_node *n);
/* time minus the time of non-synthetic children ([self], [await] count as self time) */
double frame_total_self_time(const struct frame_node *n);
double frame_await_time(const struct frame_node *n);
double frame_proportion_of_parent(const struct frame_node *n);
/* A member of g with at least one child outside g. */
bool frame_group_is_exit_frame(const struct frame_group *g, const struct frame_node *n);

/* Tree surgery (frame_ops.py), used by processors. Return 0 or -ENOMEM. */
enum frame_replace {
	FRAME_REPLACE_CHILDREN,		/* splice the children in its place */
	FRAME_REPLACE_SELF_TIME,	/* put a [self] of its time in its place */
	FRAME_REPLACE_NOTHING,		/* its time goes to the parent's absorbed_time */
};
struct frame_node *frame_tree_new_node(struct frame_tree *t, uint32_t ident, double time);
/* Detaches child from its parent, then inserts it after `after` (NULL: appends). */
int frame_node_add_child(struct frame_node *parent, struct frame_node *child,
			 struct frame_node *after);
void frame_node_remove_from_parent(struct frame_node *n);
int frame_tree_delete_frame(struct frame_tree *t, struct frame_node *n, enum frame_replace with);
/* Sums frame's time, absorbed time and attributes into `into` and moves its children there. */
int frame_tree_combine_frames(struct frame_tree *t, struct frame_node *frame,
			      struct frame_node *into);
int frame_node_add_attr(struct frame_node *n, uint32_t attr, double time);
struct frame_group *frame_tree_new_group(struct frame_tree *t, struct frame_node *root);
int frame_group_add_frame(struct frame_group *g, struct frame_node *n);
void frame_tree_remove_from_groups(struct frame_node *n, bool recursive);

#endif /* PYINST_FRAME_TREE_H */
