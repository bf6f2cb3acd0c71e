// SPDX-License-Identifier: MIT
/*
 * Collapsed stacks for flamegraph.pl and inferno: one line per distinct stack, root first,
 *
 *	<module> (demo.py:1);main (demo.py:53);Worker.compute (demo.py:24) 66166
 *
 * Frames are named as the console names them, "Class.function (file_path_short:line)", the
 * line left out when it is 0. The count is the stack's own time in microseconds, so that the
 * counts add up to the profile's total time: each line gets round(running total) minus
 * round(running total before it), which keeps the rounding error from piling up.
 *
 * The tree gets the console's processors without the ones that drop or hide time (irrelevant
 * nodes, library grouping) and always aggregated, so every stack appears once. [self] time is
 * the parent's own time; [await] and [out-of-context] stay as leaf frames; [root] is left out.
 * ';' would split a frame and controls or bad UTF-8 would break the line, so those bytes are
 * written as \xNN, as the console writes controls.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "frame_tree.h"
#include "processors.h"
#include "render.h"
#include "utf8.h"

struct folded {
	struct frame_tree *t;
	FILE *out;
	char *prefix;		/* the names of the frames above, joined with ';' */
	size_t cap;
	double running;		/* seconds written so far */
	long long written;	/* microseconds written so far */
	int err;
};

/* Appends s to the prefix at `at`, escaping if asked; returns the new length (f->err on ENOMEM). */
static size_t append(struct folded *f, size_t at, const char *s, bool escape)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	size_t need = at + 4 * (size_t)(end - p) + 1, n;
	uint32_t cp;

	if (f->err)
		return at;
	if (array_reserve(&f->prefix, &f->cap, need, 1)) {
		f->err = -ENOMEM;
		return at;
	}
	for (; p < end; p += n) {
		n = utf8_decode(p, (size_t)(end - p), &cp);
		if (!escape || (n && cp >= 0x20 && cp != 0x7f && cp != ';' &&
				(cp < 0x80 || cp >= 0xa0))) {
			n = n ? n : 1;
			memcpy(f->prefix + at, p, n);
			at += n;
			continue;
		}
		n = n ? n : 1;
		for (size_t i = 0; i < n; i++)
			at += (size_t)sprintf(f->prefix + at, "\\x%02x", p[i]);
	}
	f->prefix[at] = '\0';
	return at;
}

/* Appends "Class.function (file:line)", after a ';' unless it is the first frame. */
static size_t put_frame(struct folded *f, size_t at, const struct frame_node *n)
{
	const char *cls = frame_class_name(f->t, n), *fps = frame_file_path_short(f->t, n);
	long line = frame_line_no(f->t, n);
	char num[32];

	if (at)
		at = append(f, at, ";", false);
	if (cls) {
		at = append(f, at, cls, true);
		at = append(f, at, ".", false);
	}
	at = append(f, at, frame_function(f->t, n), true);
	if (!fps || frame_is_synthetic(n))
		return at;
	at = append(f, at, " (", false);
	at = append(f, at, fps, true);
	snprintf(num, sizeof(num), line ? ":%ld)" : ")", line);
	return append(f, at, num, false);
}

/* Longer than any profile (a thousand years): a loaded session's weight beyond it is left out. */
#define WEIGHT_MAX_S 3e10

static void put_line(struct folded *f, size_t len, double seconds)
{
	long long total, count;
	double us;

	/* a loaded session may hold any weight, negative or huge: the counts may not overflow */
	if (!isfinite(seconds) || fabs(seconds) > WEIGHT_MAX_S)
		return;
	f->running += seconds;
	us = f->running * 1e6;
	if (!(us >= (double)f->written + 0.5) || us > 9e18 || !len)
		return;
	total = llround(us);
	count = total - f->written;
	if (count <= 0)
		return;
	f->written = total;
	fwrite(f->prefix, 1, len, f->out);
	fprintf(f->out, " %lld\n", count);
}

static int walk(struct folded *f, const struct frame_node *n, size_t base)
{
	double own = n->time;
	size_t len = base;
	int err = 0;

	if (n->ident != SESSION_IDENT_ROOT)
		len = put_frame(f, base, n);
	if (f->err)
		return f->err;
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (n->children[i]->ident != SESSION_IDENT_SELF)
			own -= n->children[i]->time;
	put_line(f, len, own);
	for (uint32_t i = 0; i < n->nchildren && !err; i++)
		if (n->children[i]->ident != SESSION_IDENT_SELF)
			err = walk(f, n->children[i], len);
	return err;
}

int render_folded(struct session *s, const struct render_opts *o, FILE *out)
{
	struct folded f = { .out = out };
	struct processor_list procs;
	int err = -ENOMEM;

	f.t = frame_tree__new_aggregated(s, true);
	if (!f.t)
		goto out;
	processors_default(PROC_FOR_CONSOLE, o->show_all, false, &procs);
	processor_list_remove(&procs, PROC_REMOVE_IRRELEVANT_NODES);
	processor_list_remove(&procs, PROC_GROUP_LIBRARY_FRAMES);
	err = processors_run(f.t, &procs, &o->processor_options);
	if (err || !f.t->root)
		goto out;
	err = walk(&f, f.t->root, 0);
	if (!err && ferror(out))
		err = -EIO;
out:
	free(f.prefix);
	frame_tree__free(f.t);
	return err;
}
