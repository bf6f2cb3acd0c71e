// SPDX-License-Identifier: MIT
/*
 * The eight processors of pyinstrument 5.1.2 (processors.py), same order of operations so that
 * floating-point sums and sibling order come out the same. Where pyinstrument removes children
 * one by one (list.remove, quadratic on wide nodes) we compact the array once.
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "processors.h"

static const char *const names[PROC__COUNT] = {
	[PROC_REMOVE_IMPORTLIB] = "remove_importlib",
	[PROC_REMOVE_TRACEBACKHIDE] = "remove_tracebackhide",
	[PROC_MERGE_CONSECUTIVE_SELF_TIME] = "merge_consecutive_self_time",
	[PROC_AGGREGATE_REPEATED_CALLS] = "aggregate_repeated_calls",
	[PROC_REMOVE_IRRELEVANT_NODES] = "remove_irrelevant_nodes",
	[PROC_REMOVE_UNNECESSARY_SELF_TIME_NODES] = "remove_unnecessary_self_time_nodes",
	[PROC_REMOVE_FIRST_PYINSTRUMENT_FRAMES] = "remove_first_pyinstrument_frames_processor",
	[PROC_GROUP_LIBRARY_FRAMES] = "group_library_frames_processor",
};

const char *processor_name(enum processor p)
{
	return p < PROC__COUNT ? names[p] : "?";
}

void processor_list_remove(struct processor_list *l, enum processor p)
{
	size_t o = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] != p)
			l->v[o++] = l->v[i];
	l->n = o;
}

void processors_default(enum processor_renderer r, bool show_all, bool timeline,
			struct processor_list *out)
{
	/* console.py:298, jsonrenderer.py:78, pstatsrenderer.py:87, speedscope.py:229 */
	static const enum processor full[] = {
		PROC_REMOVE_IMPORTLIB,
		PROC_REMOVE_TRACEBACKHIDE,
		PROC_MERGE_CONSECUTIVE_SELF_TIME,
		PROC_AGGREGATE_REPEATED_CALLS,
		PROC_REMOVE_IRRELEVANT_NODES,
		PROC_REMOVE_UNNECESSARY_SELF_TIME_NODES,
		PROC_REMOVE_FIRST_PYINSTRUMENT_FRAMES,
		PROC_GROUP_LIBRARY_FRAMES,
	};

	out->n = 0;
	if (r == PROC_FOR_HTML)
		return;
	for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++)
		out->v[out->n++] = full[i];
	if (r == PROC_FOR_PSTATS || r == PROC_FOR_SPEEDSCOPE)
		processor_list_remove(out, PROC_GROUP_LIBRARY_FRAMES);
	if (r == PROC_FOR_SPEEDSCOPE)
		processor_list_remove(out, PROC_AGGREGATE_REPEATED_CALLS);
	if (show_all) {
		processor_list_remove(out, PROC_GROUP_LIBRARY_FRAMES);
		processor_list_remove(out, PROC_REMOVE_IMPORTLIB);
		processor_list_remove(out, PROC_REMOVE_IRRELEVANT_NODES);
		processor_list_remove(out, PROC_REMOVE_TRACEBACKHIDE);
	}
	if (timeline)
		processor_list_remove(out, PROC_AGGREGATE_REPEATED_CALLS);
}

/* Drops the children whose parent link was cleared, keeping the order of the others. */
static void compact_children(struct frame_node *n)
{
	uint32_t o = 0;

	for (uint32_t i = 0; i < n->nchildren; i++)
		if (n->children[i]->parent == n)
			n->children[o++] = n->children[i];
	n->nchildren = o;
}

static struct frame_node **copy_children(const struct frame_node *n)
{
	struct frame_node **v = malloc((n->nchildren + 1) * sizeof(*v));

	if (v && n->nchildren)
		memcpy(v, n->children, n->nchildren * sizeof(*v));
	return v;
}

/* Post-order: delete every frame matching pred, splicing its children in its place. */
static int remove_matching(struct frame_tree *t, struct frame_node *n,
			   bool (*pred)(const struct frame_tree *t, const struct frame_node *n))
{
	struct frame_node **kids = copy_children(n);
	uint32_t count = n->nchildren;
	int err = kids ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < count && !err; i++) {
		err = remove_matching(t, kids[i], pred);
		if (!err && pred(t, kids[i]))
			err = frame_tree_delete_frame(t, kids[i], FRAME_REPLACE_CHILDREN);
	}
	free(kids);
	return err;
}

static bool is_importlib(const struct frame_tree *t, const struct frame_node *n)
{
	const char *path = frame_file_path(t, n);

	/* also matches <frozen importlib._bootstrap_external> */
	return path && strstr(path, "<frozen importlib._bootstrap");
}

static int merge_consecutive_self_time(struct frame_node *n)
{
	struct frame_node *prev = NULL;
	int err = 0;

	for (uint32_t i = 0; i < n->nchildren; i++) {
		struct frame_node *c = n->children[i];

		if (c->ident != SESSION_IDENT_SELF) {
			prev = NULL;
		} else if (prev) {
			/* pyinstrument sums time only and leaves group membership alone */
			prev->time += c->time;
			c->parent = NULL;
		} else {
			prev = c;
		}
	}
	compact_children(n);
	for (uint32_t i = 0; i < n->nchildren && !err; i++)
		err = merge_consecutive_self_time(n->children[i]);
	return err;
}

/* Stable sort by time, largest first (Python's sort(reverse=True) keeps ties in order). */
static int sort_children_by_time(struct frame_node *n)
{
	struct frame_node **tmp, **a = n->children;
	uint32_t len = n->nchildren;

	if (len < 2)
		return 0;
	tmp = malloc(len * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (uint32_t width = 1; width < len; width *= 2) {
		for (uint32_t lo = 0; lo < len; lo += 2 * width) {
			uint32_t mid = lo + width < len ? lo + width : len;
			uint32_t hi = lo + 2 * width < len ? lo + 2 * width : len;
			uint32_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = a[j]->time > a[i]->time ? a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, len * sizeof(*a));
	}
	free(tmp);
	return 0;
}

/* Merges frame into `into` (frame_ops.combine_frames) but leaves the parent's array to the
 * caller, which compacts it once. */
static int merge_sibling(struct frame_tree *t, struct frame_node *frame, struct frame_node *into)
{
	into->absorbed_time += frame->absorbed_time;
	into->time += frame->time;
	for (uint32_t i = 0; i < frame->nattrs; i++)
		if (frame_node_add_attr(into, frame->attrs[i].attr, frame->attrs[i].time))
			return -ENOMEM;
	for (uint32_t i = 0; i < frame->nchildren; i++) {
		frame->children[i]->parent = NULL;	/* skips a search in add_child */
		if (frame_node_add_child(into, frame->children[i], NULL))
			return -ENOMEM;
	}
	frame->nchildren = 0;
	frame->parent = NULL;
	frame_tree_remove_from_groups(frame, false);
	return 0;
}

static int aggregate_repeated_calls(struct frame_tree *t, struct frame_node *n)
{
	uint32_t count = n->nchildren;
	int err = 0;

	for (uint32_t i = 0; i < count && !err; i++) {
		struct frame_node *c = n->children[i], **seen = &t->scratch[c->ident];

		if (*seen)
			err = merge_sibling(t, c, *seen);
		else
			*seen = c;
	}
	for (uint32_t i = 0; i < count; i++)
		t->scratch[n->children[i]->ident] = NULL;
	compact_children(n);
	for (uint32_t i = 0; i < n->nchildren && !err; i++)
		err = aggregate_repeated_calls(t, n->children[i]);
	return err ? err : sort_children_by_time(n);
}

static void remove_unnecessary_self_time_nodes(struct frame_tree *t, struct frame_node *n)
{
	if (n->nchildren == 1 && n->children[0]->ident == SESSION_IDENT_SELF)
		frame_tree_delete_frame(t, n->children[0], FRAME_REPLACE_NOTHING);
	for (uint32_t i = 0; i < n->nchildren; i++)
		remove_unnecessary_self_time_nodes(t, n->children[i]);
}

/* Deletes (replace_with nothing) children under threshold of the root's time, top-down. */
/*
 * pyinstrument profiles one thread: its threshold is a share of that thread's time. Here a
 * session may hold many threads (and processes), each under its own root. Taken against the
 * sum, 400 equal threads were each 0.25% and the report was empty. So when the sum would hide
 * a whole thread, a frame is judged against its own thread's time and a thread against the
 * busiest one; otherwise (one thread, or a few as in pyinstrument's combined sessions) the
 * threshold is pyinstrument's.
 */
static bool is_thread_root(const struct frame_tree *t, const struct frame_node *n)
{
	const char *path = frame_file_path(t, n);

	return path && !strcmp(path, "<thread>");
}

static bool is_process_root(const struct frame_tree *t, const struct frame_node *n)
{
	const char *path = frame_file_path(t, n);

	return path && !strcmp(path, "<process>");
}

/* The busiest thread's time, and the least busy one's in *least. */
static double busiest_thread(const struct frame_tree *t, const struct frame_node *n,
			     double *least)
{
	double most = 0, m;

	if (is_thread_root(t, n)) {
		*least = n->time < *least ? n->time : *least;
		return n->time;
	}
	if (n->ident != SESSION_IDENT_ROOT && !is_process_root(t, n))
		return 0;	/* thread roots sit under [root] and process roots only */
	for (uint32_t i = 0; i < n->nchildren; i++) {
		m = busiest_thread(t, n->children[i], least);
		most = m > most ? m : most;
	}
	return most;
}

static void remove_irrelevant_nodes(const struct frame_tree *t, struct frame_node *n,
				    double total, double busiest, double threshold)
{
	for (uint32_t i = 0; i < n->nchildren; i++) {
		struct frame_node *c = n->children[i];
		double base = is_thread_root(t, c) && busiest > 0 ? busiest : total;

		if (is_process_root(t, c) && busiest > 0)
			continue;	/* its threads are judged one by one */
		if (c->time / base < threshold) {
			n->absorbed_time += c->time;
			n->absorbed_time += c->absorbed_time;
			c->parent = NULL;
			frame_tree_remove_from_groups(c, true);
		}
	}
	compact_children(n);
	for (uint32_t i = 0; i < n->nchildren; i++) {
		struct frame_node *c = n->children[i];

		bool own = busiest > 0 && is_thread_root(t, c) && c->time > 0;

		remove_irrelevant_nodes(t, c, own ? c->time : total, busiest, threshold);
	}
}

/* re.match(r".*<a>[/\\]<b>", path) where <b> holds one '.' meaning any character. */
static bool path_has(const char *path, const char *a, bool slash, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);

	for (const char *p = strstr(path, a); p; p = strstr(p + 1, a)) {
		const char *q = p + alen;
		size_t i;

		if (slash) {
			if (*q != '/' && *q != '\\')
				continue;
			q++;
		}
		for (i = 0; i < blen && q[i] && (b[i] == '.' || q[i] == b[i]); i++)
			;
		if (i == blen)
			return true;
	}
	return false;
}

static bool is_runpy_frame(const struct frame_tree *t, const struct frame_node *n)
{
	const char *path = frame_file_path(t, n);

	return frame_proportion_of_parent(n) > 0.8 && path &&
	       (path_has(path, "runpy", false, ".py") || strstr(path, "<frozen runpy>")) &&
	       n->nchildren > 0;
}

/* Skips the CLI's own frames: pyinstrument/__main__.py, the exec'd <string>, runpy. */
static void remove_first_pyinstrument_frames(struct frame_tree *t)
{
	struct frame_node *n = t->root;
	const char *path = frame_file_path(t, n);

	if (!path || !path_has(path, "pyinstrument", true, "__main__.py") || !n->nchildren)
		return;
	n = n->children[0];
	path = frame_file_path(t, n);
	if (!(frame_proportion_of_parent(n) > 0.8) || !path || !strstr(path, "<string>") ||
	    !n->nchildren)
		return;
	n = n->children[0];
	while (is_runpy_frame(t, n))
		n = n->children[0];
	frame_node_remove_from_parent(n);
	t->root = n;
}

struct pyregex {
	regex_t re;
	bool set;
};

/*
 * Python regex -> POSIX ERE, for the common cases only: \d, \D, \Z and the (?s: ... ) group
 * that fnmatch.translate emits. Other Python-only syntax (lazy quantifiers, lookarounds, named
 * groups, inline flags) is not translated and fails to compile or matches differently; glibc
 * provides \w \W \s \S \b \B itself.
 */
static char *translate_regex(const char *src)
{
	char *out = malloc(strlen(src) * 5 + 1), *o = out;
	const char *class_start = NULL;	/* a ']' right here is a literal */

	if (!out)
		return NULL;
	for (const char *p = src; *p; p++) {
		if (class_start) {
			*o++ = *p;
			if (*p == ']' && p != class_start)
				class_start = NULL;
		} else if (*p == '[') {
			*o++ = *p;
			if (p[1] == '^')
				*o++ = *++p;
			class_start = p + 1;
		} else if (!strncmp(p, "(?s:", 4) || !strncmp(p, "(?:", 3)) {
			*o++ = '(';
			p += p[2] == 's' ? 3 : 2;
		} else if (*p == '\\' && (p[1] == 'd' || p[1] == 'D' || p[1] == 'Z')) {
			o = stpcpy(o, p[1] == 'd' ? "[0-9]" : p[1] == 'D' ? "[^0-9]" : "$");
			p++;
		} else {
			if (*p == '\\' && p[1])
				*o++ = *p++;
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static int pyregex_compile(struct pyregex *r, const char *pattern, const char *what)
{
	char *ere, msg[128];
	int rc;

	if (!pattern)
		return 0;
	ere = translate_regex(pattern);
	if (!ere)
		return -ENOMEM;
	rc = regcomp(&r->re, ere, REG_EXTENDED);
	free(ere);
	if (rc) {
		regerror(rc, &r->re, msg, sizeof(msg));
		pr_err("%s '%s': %s", what, pattern, msg);
		return -EINVAL;
	}
	r->set = true;
	return 0;
}

/* re.match: some match must start at offset 0, and POSIX reports the leftmost one. */
static bool pyregex_match(const struct pyregex *r, const char *s)
{
	regmatch_t m;

	return r->set && !regexec(&r->re, s, 1, &m, 0) && m.rm_so == 0;
}

int processor_options_check(const struct processor_options *o)
{
	struct pyregex r = { 0 };
	int err;

	err = pyregex_compile(&r, o->hide_regex, "--hide-regex / hide_regex");
	if (r.set)
		regfree(&r.re);
	r.set = false;
	if (!err)
		err = pyregex_compile(&r, o->show_regex, "--show-regex / show_regex");
	if (r.set)
		regfree(&r.re);
	return err;
}

struct grouper {
	struct frame_tree *t;
	struct pyregex hide, show;
	signed char *verdict;	/* per identifier: -1 unknown, else the regex verdict */
};

/* 1 show, 2 hide, 0 neither: depends only on the file path, so cached per identifier. */
static int regex_verdict(struct grouper *g, const struct frame_node *n)
{
	const char *path;

	if (g->verdict[n->ident] < 0) {
		path = frame_file_path(g->t, n);
		path = path ? path : "";
		g->verdict[n->ident] = pyregex_match(&g->show, path) ? 1 :
				       pyregex_match(&g->hide, path) ? 2 : 0;
	}
	return g->verdict[n->ident];
}

static bool should_be_hidden(struct grouper *g, const struct frame_node *n)
{
	int v = regex_verdict(g, n);

	return v ? v == 2 : !frame_is_application_code(g->t, n);
}

static int add_frames_to_group(struct grouper *g, struct frame_node *n, struct frame_group *grp)
{
	if (frame_group_add_frame(grp, n))
		return -ENOMEM;
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (should_be_hidden(g, n->children[i]) &&
		    add_frames_to_group(g, n->children[i], grp))
			return -ENOMEM;
	return 0;
}

static bool any_child_hidden(struct grouper *g, const struct frame_node *n)
{
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (should_be_hidden(g, n->children[i]))
			return true;
	return false;
}

/* A hidden frame with a hidden child starts a group holding its hidden descendants. */
static int group_library_frames(struct grouper *g, struct frame_node *n)
{
	for (uint32_t i = 0; i < n->nchildren; i++) {
		struct frame_node *c = n->children[i];
		struct frame_group *grp;

		if (!c->group && should_be_hidden(g, c) && any_child_hidden(g, c)) {
			grp = frame_tree_new_group(g->t, c);
			if (!grp || add_frames_to_group(g, c, grp))
				return -ENOMEM;
		}
		if (group_library_frames(g, c))
			return -ENOMEM;
	}
	return 0;
}

static int run_grouping(struct frame_tree *t, const struct processor_options *o)
{
	struct grouper g = { .t = t };
	int err;

	g.verdict = malloc(t->nidents);
	err = g.verdict ? 0 : -ENOMEM;
	if (!err)
		memset(g.verdict, -1, t->nidents);
	if (!err)
		err = pyregex_compile(&g.hide, o->hide_regex, "hide_regex");
	if (!err)
		err = pyregex_compile(&g.show, o->show_regex, "show_regex");
	if (!err)
		err = group_library_frames(&g, t->root);
	if (g.hide.set)
		regfree(&g.hide.re);
	if (g.show.set)
		regfree(&g.show.re);
	free(g.verdict);
	return err;
}

int processor_run(struct frame_tree *t, enum processor p, const struct processor_options *o)
{
	static const struct processor_options defaults = PROCESSOR_OPTIONS_INIT;
	double total, busiest, least;

	o = o ? o : &defaults;
	if (!t->root)
		return 0;
	switch (p) {
	case PROC_REMOVE_IMPORTLIB:
		return remove_matching(t, t->root, is_importlib);
	case PROC_REMOVE_TRACEBACKHIDE:
		return remove_matching(t, t->root, frame_has_tracebackhide);
	case PROC_MERGE_CONSECUTIVE_SELF_TIME:
		return merge_consecutive_self_time(t->root);
	case PROC_AGGREGATE_REPEATED_CALLS:
		return aggregate_repeated_calls(t, t->root);
	case PROC_REMOVE_IRRELEVANT_NODES:
		total = t->root->time > 0 ? t->root->time : 1e-44;	/* no division by zero */
		least = INFINITY;
		busiest = is_thread_root(t, t->root) ? 0 : busiest_thread(t, t->root, &least);
		if (!(least / total < o->filter_threshold))
			busiest = 0;	/* no thread would vanish: pyinstrument's threshold */
		remove_irrelevant_nodes(t, t->root, total, busiest, o->filter_threshold);
		return 0;
	case PROC_REMOVE_UNNECESSARY_SELF_TIME_NODES:
		remove_unnecessary_self_time_nodes(t, t->root);
		return 0;
	case PROC_REMOVE_FIRST_PYINSTRUMENT_FRAMES:
		remove_first_pyinstrument_frames(t);
		return 0;
	case PROC_GROUP_LIBRARY_FRAMES:
		return run_grouping(t, o);
	case PROC__COUNT:
		break;
	}
	return -EINVAL;
}

int processors_run(struct frame_tree *t, const struct processor_list *l,
		   const struct processor_options *o)
{
	int err = 0;

	for (size_t i = 0; i < l->n && !err; i++)
		err = processor_run(t, l->v[i], o);
	return err;
}
