// SPDX-License-Identifier: MIT
/*
 * pyinstrument's frame tree. build_frame_tree makes a time-ordered tree: consecutive samples
 * that share a prefix share nodes, every sample adds a [self] leaf, and processors later merge
 * and aggregate. Paths are shortened once per identifier, as Session.shorten_path caches them.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame_tree.h"

#define CHUNK_NODES 1024

struct node_chunk {
	struct node_chunk *next;
	uint32_t used;
	struct frame_node nodes[CHUNK_NODES];
};

struct path_parts {
	char *buf;
	char **v;
	size_t n;
};

struct frame_node *frame_tree_new_node(struct frame_tree *t, uint32_t ident, double time)
{
	struct node_chunk *c = t->chunks;
	struct frame_node *n;

	if (!c || c->used == CHUNK_NODES) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		t->chunks = c;
	}
	n = &c->nodes[c->used++];
	memset(n, 0, sizeof(*n));
	n->ident = ident;
	n->time = time;
	return n;
}

static void free_idents(struct frame_tree *t)
{
	for (uint32_t i = 0; i < t->nidents; i++)
		free(t->idents[i].file_path_short);
	free(t->idents);
}

void frame_tree__free(struct frame_tree *t)
{
	struct node_chunk *c, *next;

	if (!t)
		return;
	for (c = t->chunks; c; c = next) {
		next = c->next;
		for (uint32_t i = 0; i < c->used; i++) {
			free(c->nodes[i].children);
			free(c->nodes[i].attrs);
		}
		free(c);
	}
	for (uint32_t i = 0; i < t->ngroups; i++) {
		free(t->groups[i]->frames);
		free(t->groups[i]);
	}
	free(t->groups);
	free_idents(t);
	free(t->scratch);
	free(t);
}

/* The components of os.path.abspath(p), normalised as os.path.normpath does. */
static int split_abspath(const char *cwd, const char *p, struct path_parts *out)
{
	bool rel = p[0] != '/';
	size_t len = (rel ? strlen(cwd) + 1 : 0) + strlen(p) + 1;
	char *tok, *save = NULL;

	out->n = 0;
	out->buf = malloc(len);
	out->v = malloc(len * sizeof(*out->v));
	if (!out->buf || !out->v)
		return -ENOMEM;
	snprintf(out->buf, len, "%s%s%s", rel ? cwd : "", rel ? "/" : "", p);
	for (tok = strtok_r(out->buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (out->n)
				out->n--;
			continue;
		}
		out->v[out->n++] = tok;
	}
	return 0;
}

static size_t count_components(const char *p)
{
	size_t n = 1;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

/* os.path.relpath(path, start) as a new string, and its number of components. */
static char *relpath(const char *cwd, const char *path, const char *start, size_t *ncomp)
{
	struct path_parts a = { 0 }, b = { 0 };
	size_t common = 0, len = 2;
	char *out = NULL, *o;

	if (split_abspath(cwd, start, &a) || split_abspath(cwd, path, &b))
		goto out;
	while (common < a.n && common < b.n && !strcmp(a.v[common], b.v[common]))
		common++;
	for (size_t i = common; i < b.n; i++)
		len += strlen(b.v[i]) + 1;
	len += 3 * (a.n - common);
	out = o = malloc(len);
	if (!out)
		goto out;
	*ncomp = 0;
	for (size_t i = common; i < a.n; i++, (*ncomp)++)
		o += sprintf(o, *ncomp ? "/.." : "..");
	for (size_t i = common; i < b.n; i++, (*ncomp)++)
		o += sprintf(o, "%s%s", *ncomp ? "/" : "", b.v[i]);
	if (!*ncomp) {
		strcpy(out, ".");
		*ncomp = 1;
	}
out:
	free(a.buf);
	free(a.v);
	free(b.buf);
	free(b.v);
	return out;
}

/* Session.shorten_path: the candidate relative to a sys.path entry with fewest components. */
static char *shorten_path(const struct session *s, const char *cwd, const char *path)
{
	size_t n, best = count_components(path), ncomp;
	const char *const *sys_path = session_sys_path(s, &n);
	char *result = NULL, *cand;

	if (!strchr(path, '/'))
		return strdup(path);
	for (size_t i = 0; i < n; i++) {
		cand = relpath(cwd, path, sys_path[i], &ncomp);
		if (!cand)
			goto err;
		if (ncomp < best) {
			free(result);
			result = cand;
			best = ncomp;
		} else {
			free(cand);
		}
	}
	return result ? result : strdup(path);
err:
	free(result);
	return NULL;
}

static long parse_line(const char *p)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(p, &end, 10);
	if (end == p || *end || errno)
		return 0;
	return v;
}

/* pyinstrument's rule: str.startswith, so an empty prefix holds every path. */
static bool starts_with_prefix(const struct session *s, const char *path)
{
	size_t n;
	const char *const *prefixes = session_sys_prefixes(s, &n);

	for (size_t i = 0; i < n; i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

enum frame_file_kind frame_file_kind(const struct session *s, const char *file)
{
	if (!file || !file[0] || starts_with_prefix(s, file))
		return FRAME_FILE_LIBRARY;
	if (file[0] != '<' || !strncmp(file, "<ipython-input-", 15))
		return FRAME_FILE_APP;
	/* pyinst-bpf's wall-mode reasons (waits.h): never folded into library groups */
	if (!strcmp(file, "<wait>") || !strcmp(file, "<idle>"))
		return FRAME_FILE_APP;
	if (!strcmp(file, "<string>") || !strcmp(file, "<stdin>"))
		return FRAME_FILE_CALLER;
	return FRAME_FILE_LIBRARY;
}

/* Splits "function\0file\0line" (Python's identifier.split("\x00")). */
static int ident_parse(const struct session *s, const char *cwd, uint32_t id,
		       struct frame_ident *fi)
{
	size_t len, off;
	const char *p = session_ident(s, id, &len);

	fi->function = p;
	off = strlen(p) + 1;
	if (off > len)
		return 0;
	fi->file_path = p[off] ? p + off : NULL;
	off += strlen(p + off) + 1;
	if (off <= len)
		fi->line_no = parse_line(p + off);
	fi->kind = frame_file_kind(s, fi->file_path);
	if (!fi->file_path)
		return 0;
	fi->file_path_short = shorten_path(s, cwd, fi->file_path);
	return fi->file_path_short ? 0 : -ENOMEM;
}

static int idents_init(struct frame_tree *t)
{
	uint32_t n = session_ident_count(t->session);
	char cwd[PATH_MAX];

	/* os.path.abspath resolves relative sys.path entries ('') against the current directory */
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	t->idents = calloc(n, sizeof(*t->idents));
	t->scratch = calloc(n, sizeof(*t->scratch));
	if (!t->idents || !t->scratch)
		return -ENOMEM;
	t->nidents = n;
	for (uint32_t i = 0; i < n; i++)
		if (ident_parse(t->session, cwd, i, &t->idents[i]))
			return -ENOMEM;
	return 0;
}

int frame_node_add_attr(struct frame_node *n, uint32_t attr, double time)
{
	struct frame_attr *a;

	for (uint32_t i = 0; i < n->nattrs; i++) {
		if (n->attrs[i].attr == attr) {
			n->attrs[i].time += time;
			return 0;
		}
	}
	if (n->nattrs == n->cap_attrs) {
		uint32_t cap = n->cap_attrs ? n->cap_attrs * 2 : 2;

		a = realloc(n->attrs, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		n->attrs = a;
		n->cap_attrs = cap;
	}
	n->attrs[n->nattrs++] = (struct frame_attr){ .attr = attr, .time = time };
	return 0;
}

static int reserve_children(struct frame_node *n, uint32_t extra)
{
	struct frame_node **v;
	uint32_t cap = n->cap_children ? n->cap_children : 4;

	if (n->nchildren + extra <= n->cap_children)
		return 0;
	while (cap < n->nchildren + extra)
		cap *= 2;
	v = realloc(n->children, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n->children = v;
	n->cap_children = cap;
	return 0;
}

static uint32_t child_index(const struct frame_node *parent, const struct frame_node *child)
{
	for (uint32_t i = 0; i < parent->nchildren; i++)
		if (parent->children[i] == child)
			return i;
	return UINT32_MAX;
}

void frame_node_remove_from_parent(struct frame_node *n)
{
	struct frame_node *p = n->parent;
	uint32_t i;

	if (!p)
		return;
	i = child_index(p, n);
	if (i != UINT32_MAX) {
		memmove(p->children + i, p->children + i + 1,
			(p->nchildren - i - 1) * sizeof(*p->children));
		p->nchildren--;
	}
	n->parent = NULL;
}

int frame_node_add_child(struct frame_node *parent, struct frame_node *child,
			 struct frame_node *after)
{
	uint32_t at;

	if (reserve_children(parent, 1))
		return -ENOMEM;
	frame_node_remove_from_parent(child);
	at = after ? child_index(parent, after) : UINT32_MAX;
	at = at == UINT32_MAX ? parent->nchildren : at + 1;
	memmove(parent->children + at + 1, parent->children + at,
		(parent->nchildren - at) * sizeof(*parent->children));
	parent->children[at] = child;
	parent->nchildren++;
	child->parent = parent;
	return 0;
}

/* The frame ids of stack, root first, into path (depth entries). */
static void stack_path(const struct session *s, uint32_t stack, uint32_t *path, uint32_t depth)
{
	for (uint32_t st = stack; st != SESSION_NO_STACK; st = session_stack_parent(s, st))
		path[--depth] = session_stack_frame(s, st);
}

struct builder {
	struct frame_tree *t;
	struct frame_node **stack;	/* frame_stack: the current path, [root] first */
	uint32_t nstack;
	uint32_t *path;
};

static int record_frame(const struct session *s, struct frame_node *n, uint32_t frame, double w)
{
	uint32_t nattrs;
	const uint32_t *attrs = session_frame_attrs(s, frame, &nattrs);

	n->time += w;
	for (uint32_t i = 0; i < nattrs; i++)
		if (frame_node_add_attr(n, attrs[i], w))
			return -ENOMEM;
	return 0;
}

/* One frame record, as frame_ops.build_frame_tree adds it. */
static int build_add_sample(struct builder *b, const struct session_sample *smp)
{
	const struct session *s = b->t->session;
	uint32_t depth = session_stack_depth(s, smp->stack);
	struct frame_node *n, *final;

	stack_path(s, smp->stack, b->path, depth);
	b->stack[0]->time += smp->weight;
	for (uint32_t d = 1; d <= depth; d++) {
		uint32_t ident = session_frame_ident(s, b->path[d - 1]);

		if (d < b->nstack && b->stack[d]->ident == ident) {
			n = b->stack[d];
		} else {
			n = frame_tree_new_node(b->t, ident, 0);
			if (!n || frame_node_add_child(b->stack[d - 1], n, NULL))
				return -ENOMEM;
			b->stack[d] = n;
			b->nstack = d + 1;
		}
		if (record_frame(s, n, b->path[d - 1], smp->weight))
			return -ENOMEM;
	}
	b->nstack = depth + 1;
	final = b->stack[depth];
	if (frame_is_synthetic_leaf(final))
		return 0;
	n = frame_tree_new_node(b->t, SESSION_IDENT_SELF, smp->weight);
	return !n || frame_node_add_child(final, n, NULL) ? -ENOMEM : 0;
}

static int build(struct frame_tree *t, const struct session_sample *smp, size_t nsamples)
{
	const struct session *s = t->session;
	struct builder b = { .t = t, .nstack = 1 };
	uint32_t maxdepth = 0;
	int err = -ENOMEM;

	if (!nsamples)
		return 0;
	for (uint32_t i = 0; i < session_stack_count(s); i++)
		if (session_stack_depth(s, i) > maxdepth)
			maxdepth = session_stack_depth(s, i);
	b.stack = calloc(maxdepth + 1, sizeof(*b.stack));
	b.path = calloc(maxdepth + 1, sizeof(*b.path));
	if (!b.stack || !b.path)
		goto out;
	b.stack[0] = frame_tree_new_node(t, SESSION_IDENT_ROOT, 0);
	if (!b.stack[0])
		goto out;
	for (size_t i = 0; i < nsamples; i++)
		if (build_add_sample(&b, &smp[i]))
			goto out;
	t->root = b.stack[0];
	/* A single thread (the usual case) becomes the root; several keep [root] above them. */
	if (t->root->nchildren == 1) {
		t->root = t->root->children[0];
		frame_node_remove_from_parent(t->root);
	}
	err = 0;
out:
	free(b.stack);
	free(b.path);
	return err;
}

/* Session._trim_stem: drop the frames above the one that started profiling. */
static int trim_stem(struct frame_tree *t)
{
	const struct session *s = t->session;
	uint32_t start = session_get_header(s)->start_call_stack;
	uint32_t depth = session_stack_depth(s, start), i = 1;
	struct frame_node *n = t->root;
	uint32_t *path;

	/* pyinstrument fails on an empty start_call_stack; we just keep the stem. */
	if (!n || start == SESSION_NO_STACK)
		return 0;
	path = malloc(depth * sizeof(*path));
	if (!path)
		return -ENOMEM;
	stack_path(s, start, path, depth);
	if (session_frame_ident(s, path[0]) == n->ident) {
		while (frame_total_self_time(n) == 0 && n->nchildren == 1) {
			if (i >= depth)
				break;
			if (n->children[0]->ident != session_frame_ident(s, path[i++]))
				break;
			n = n->children[0];
		}
		frame_node_remove_from_parent(n);
		t->root = n;
	}
	free(path);
	return 0;
}

/*
 * One record per stack with its summed weight, in the order stacks first appear. The tree
 * built from them has the same paths and totals as the one built from every record once
 * repeated calls are aggregated, with nodes for distinct stacks instead of for records.
 */
static struct session_sample *stack_totals(const struct session *s, size_t *n)
{
	size_t nrec, o = 0;
	const struct session_sample *v = session_samples(s, &nrec);
	uint32_t nstacks = session_stack_count(s), *at;
	struct session_sample *out = NULL;

	/* slot nstacks is the empty stack; at[] holds the output index + 1 */
	at = calloc((size_t)nstacks + 1, sizeof(*at));
	if (at)
		out = malloc(((size_t)nstacks + 1) * sizeof(*out));
	if (!out)
		goto out;
	for (size_t i = 0; i < nrec; i++) {
		uint32_t k = v[i].stack == SESSION_NO_STACK ? nstacks : v[i].stack;

		if (!at[k]) {
			out[o] = (struct session_sample){ .stack = v[i].stack };
			at[k] = (uint32_t)++o;
		}
		out[at[k] - 1].weight += v[i].weight;
	}
	*n = o;
out:
	free(at);
	return out;
}

static struct frame_tree *tree_new(const struct session *s, bool trim, bool aggregated)
{
	struct frame_tree *t = calloc(1, sizeof(*t));
	struct session_sample *totals = NULL;
	const struct session_sample *smp;
	size_t nsamples;
	int err = -ENOMEM;

	if (!t)
		goto err;
	t->session = s;
	err = session_error(s);
	if (err)
		goto err;
	smp = session_samples(s, &nsamples);
	if (aggregated) {
		smp = totals = stack_totals(s, &nsamples);
		if (!totals)
			err = -ENOMEM;
	}
	if (!err)
		err = idents_init(t);
	if (!err)
		err = build(t, smp, nsamples);
	free(totals);
	if (!err && trim)
		err = trim_stem(t);
	if (err)
		goto err;
	return t;
err:
	frame_tree__free(t);
	errno = -err;
	return NULL;
}

struct frame_tree *frame_tree__new(const struct session *s, bool trim)
{
	return tree_new(s, trim, false);
}

struct frame_tree *frame_tree__new_aggregated(const struct session *s, bool trim)
{
	size_t n;

	session_samples(s, &n);
	return tree_new(s, trim, session_resolution(s) > 0 || n > FRAME_TREE_ORDERED_MAX);
}

const char *frame_function(const struct frame_tree *t, const struct frame_node *n)
{
	return t->idents[n->ident].function;
}

const char *frame_file_path(const struct frame_tree *t, const struct frame_node *n)
{
	return t->idents[n->ident].file_path;
}

long frame_line_no(const struct frame_tree *t, const struct frame_node *n)
{
	return t->idents[n->ident].line_no;
}

const char *frame_file_path_short(const struct frame_tree *t, const struct frame_node *n)
{
	if (frame_is_synthetic(n) && n->parent)
		return frame_file_path_short(t, n->parent);
	return t->idents[n->ident].file_path_short;
}

const char *frame_attribute_value(const struct frame_tree *t, const struct frame_node *n,
				  char marker)
{
	const char *best = NULL, *a;
	double best_time = 0;
	size_t len;

	for (uint32_t i = 0; i < n->nattrs; i++) {
		a = session_attr(t->session, n->attrs[i].attr, &len);
		/* max() keeps the first of equal values */
		if (len && a[0] == marker && (!best || n->attrs[i].time > best_time)) {
			best = a + 1;
			best_time = n->attrs[i].time;
		}
	}
	return best;
}

const char *frame_class_name(const struct frame_tree *t, const struct frame_node *n)
{
	return frame_attribute_value(t, n, 'c');
}

bool frame_has_tracebackhide(const struct frame_tree *t, const struct frame_node *n)
{
	const char *v = frame_attribute_value(t, n, 'h');

	return v && !strcmp(v, "1");
}

bool frame_is_synthetic(const struct frame_node *n)
{
	return n->ident < SESSION_IDENT_FIRST_REAL;
}

bool frame_is_synthetic_leaf(const struct frame_node *n)
{
	return n->ident != SESSION_IDENT_ROOT && n->ident < SESSION_IDENT_FIRST_REAL;
}

bool frame_is_application_code(const struct frame_tree *t, const struct frame_node *n)
{
	for (; n; n = n->parent) {
		const struct frame_ident *fi = &t->idents[n->ident];

		if (frame_is_synthetic(n) || fi->kind == FRAME_FILE_LIBRARY)
			return false;
		if (fi->kind == FRAME_FILE_APP)
			return true;
		/* exec'd code belongs to whoever ran it; at the root it came from -c */
	}
	return true;
}

double frame_total_self_time(const struct frame_node *n)
{
	double self = n->time;

	for (uint32_t i = 0; i < n->nchildren; i++)
		if (!frame_is_synthetic(n->children[i]))
			self -= n->children[i]->time;
	return self;
}

double frame_await_time(const struct frame_node *n)
{
	double t = n->ident == SESSION_IDENT_AWAIT ? n->time : 0;

	for (uint32_t i = 0; i < n->nchildren; i++)
		t += frame_await_time(n->children[i]);
	return t;
}

double frame_proportion_of_parent(const struct frame_node *n)
{
	if (!n->parent)
		return 1.0;
	/* Python raises ZeroDivisionError and answers NaN */
	if (n->parent->time == 0)
		return NAN;
	return n->time / n->parent->time;
}

bool frame_group_is_exit_frame(const struct frame_group *g, const struct frame_node *n)
{
	if (n->group != g)
		return false;
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (n->children[i]->group != g)
			return true;
	return false;
}

struct frame_group *frame_tree_new_group(struct frame_tree *t, struct frame_node *root)
{
	struct frame_group *g, **v;

	if (t->ngroups == t->cap_groups) {
		uint32_t cap = t->cap_groups ? t->cap_groups * 2 : 8;

		v = realloc(t->groups, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->groups = v;
		t->cap_groups = cap;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->id = t->ngroups;
	g->root = root;
	t->groups[t->ngroups++] = g;
	if (frame_group_add_frame(g, root))
		return NULL;	/* g stays owned by the tree */
	return g;
}

static void group_remove_frame(struct frame_group *g, struct frame_node *n)
{
	for (uint32_t i = 0; i < g->nframes; i++) {
		if (g->frames[i] == n) {
			memmove(g->frames + i, g->frames + i + 1,
				(g->nframes - i - 1) * sizeof(*g->frames));
			g->nframes--;
			break;
		}
	}
	n->group = NULL;
}

int frame_group_add_frame(struct frame_group *g, struct frame_node *n)
{
	struct frame_node **v;

	if (g->nframes == g->cap_frames) {
		uint32_t cap = g->cap_frames ? g->cap_frames * 2 : 8;

		v = realloc(g->frames, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->frames = v;
		g->cap_frames = cap;
	}
	if (n->group)
		group_remove_frame(n->group, n);
	g->frames[g->nframes++] = n;
	n->group = g;
	return 0;
}

/* frame_ops.remove_frame_from_groups: a group left with one frame is dissolved. */
void frame_tree_remove_from_groups(struct frame_node *n, bool recursive)
{
	struct frame_group *g = n->group;

	if (recursive)
		for (uint32_t i = 0; i < n->nchildren; i++)
			frame_tree_remove_from_groups(n->children[i], true);
	if (!g)
		return;
	group_remove_frame(g, n);
	if (g->nframes == 1)
		group_remove_frame(g, g->frames[0]);
}

/* Moves all of src's children into dst right after `after` (NULL: at the end), in order. */
static int move_children(struct frame_node *dst, struct frame_node *src, struct frame_node *after)
{
	uint32_t at, n = src->nchildren;

	if (!n)
		return 0;
	if (reserve_children(dst, n))
		return -ENOMEM;
	at = after ? child_index(dst, after) : UINT32_MAX;
	at = at == UINT32_MAX ? dst->nchildren : at + 1;
	memmove(dst->children + at + n, dst->children + at,
		(dst->nchildren - at) * sizeof(*dst->children));
	for (uint32_t i = 0; i < n; i++) {
		dst->children[at + i] = src->children[i];
		src->children[i]->parent = dst;
	}
	dst->nchildren += n;
	src->nchildren = 0;
	return 0;
}

int frame_tree_delete_frame(struct frame_tree *t, struct frame_node *n, enum frame_replace with)
{
	struct frame_node *parent = n->parent, *self;

	if (!parent)
		return -EINVAL;	/* the root cannot be deleted */
	switch (with) {
	case FRAME_REPLACE_CHILDREN:
		if (move_children(parent, n, n))
			return -ENOMEM;
		break;
	case FRAME_REPLACE_SELF_TIME:
		self = frame_tree_new_node(t, SESSION_IDENT_SELF, n->time);
		if (!self || frame_node_add_child(parent, self, n))
			return -ENOMEM;
		break;
	case FRAME_REPLACE_NOTHING:
		parent->absorbed_time += n->time;
		break;
	}
	parent->absorbed_time += n->absorbed_time;
	frame_node_remove_from_parent(n);
	frame_tree_remove_from_groups(n, true);
	return 0;
}

int frame_tree_combine_frames(struct frame_tree *t, struct frame_node *frame,
			      struct frame_node *into)
{
	into->absorbed_time += frame->absorbed_time;
	into->time += frame->time;
	for (uint32_t i = 0; i < frame->nattrs; i++)
		if (frame_node_add_attr(into, frame->attrs[i].attr, frame->attrs[i].time))
			return -ENOMEM;
	if (move_children(into, frame, NULL))
		return -ENOMEM;
	frame_node_remove_from_parent(frame);
	frame_tree_remove_from_groups(frame, false);
	return 0;
}
