// SPDX-License-Identifier: MIT
/*
 * pyinstrument's ConsoleRenderer (renderers/console.py), byte for byte, with one deliberate
 * difference: pyinstrument prints names raw, so a function or file name holding ESC could drive
 * the terminal. We write C0 controls, DEL, C1 controls, bidi overrides and isolates (U+202E
 * would show a name reversed) and bytes that are not UTF-8 as \xNN (each byte of the
 * sequence); everything else, including non-ASCII text, is printed as is.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "frame_tree.h"
#include "log.h"
#include "processors.h"
#include "render.h"
#include "utf8.h"

#define LIBS_MAX_CHARS 40	/* util.truncate(", ".join(libraries), 40) */

struct colors {
	const char *red, *green, *yellow, *bright_green, *bg_dark_blue_255, *white_255;
	const char *faint, *end;
};

static const struct colors colors_on = {
	.red = "\033[31m",
	.green = "\033[32m",
	.yellow = "\033[33m",
	.bright_green = "\033[92m",
	.bg_dark_blue_255 = "\033[48;5;24m",
	.white_255 = "\033[38;5;15m",
	.faint = "\033[2m",
	.end = "\033[0m",
};

static const struct colors colors_off = {
	"", "", "", "", "", "", "", "",
};

struct glyphs {
	const char *tee, *bar, *corner, *blank;	/* ├ │ └ and spaces */
};

static const struct glyphs glyphs_unicode = { "├─ ", "│  ", "└─ ", "   " };
static const struct glyphs glyphs_ascii = { "|- ", "|  ", "`- ", "   " };
static const struct glyphs glyphs_group = { "      ", "      ", "      ", "      " };
static const struct glyphs glyphs_none = { "", "", "", "" };

struct text {
	struct frame_tree *t;
	const struct render_opts *o;
	const struct colors *c;
	FILE *out;
	int precision;
	bool *group_ignored;	/* by group id */
	char *indent;		/* the current child_indent, grown as the walk descends */
	size_t cap;
};

/* Writes bytes, escaping those that could control a terminal (see the top of this file). */
static void put_safe(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	size_t n;

	for (; p < end; p += n) {
		n = utf8_decode(p, (size_t)(end - p), &cp);
		if (n && !log_unsafe_codepoint(cp)) {
			fwrite(p, 1, n, out);
			continue;
		}
		n = n ? n : 1;
		for (size_t i = 0; i < n; i++)
			fprintf(out, "\\x%02x", p[i]);
	}
}

static void puts_safe(FILE *out, const char *s)
{
	put_safe(out, s, strlen(s));
}

static double proportion_of_total(const struct text *x, double time)
{
	double total = x->t->root->time;

	return total == 0 ? 1 : time / total;
}

static const char *time_color(const struct text *x, double time)
{
	double p = proportion_of_total(x, time);

	if (p > 0.6)
		return x->c->red;
	if (p > 0.2)
		return x->c->yellow;
	if (p > 0.05)
		return x->c->green;
	return NULL;	/* bright green + faint: two strings */
}

static void put_time(const struct text *x, double time)
{
	const char *color = time_color(x, time);

	if (color)
		fputs(color, x->out);
	else
		fprintf(x->out, "%s%s", x->c->bright_green, x->c->faint);
	if (x->o->time == RENDER_TIME_PERCENT_OF_TOTAL)
		fprintf(x->out, "%.1f%%", proportion_of_total(x, time) * 100);
	else
		fprintf(x->out, "%.*f", x->precision, time);
	fputs(x->c->end, x->out);
}

/* frame_description: "{time} {Class.function}  {file_path_short:line}" */
static void put_description(const struct text *x, const struct frame_node *n, double time)
{
	const char *cls = frame_class_name(x->t, n), *fps = frame_file_path_short(x->t, n);
	long line = frame_line_no(x->t, n);
	FILE *out = x->out;

	put_time(x, time);
	fputc(' ', out);
	if (frame_is_application_code(x->t, n))
		fprintf(out, "%s%s", x->c->bg_dark_blue_255, x->c->white_255);
	if (cls) {
		puts_safe(out, cls);
		fputc('.', out);
	}
	puts_safe(out, frame_function(x->t, n));
	fprintf(out, "%s  ", x->c->end);
	if (!fps)
		return;
	fputs(x->c->faint, out);
	puts_safe(out, fps);
	if (line)
		fprintf(out, ":%ld", line);
	fputs(x->c->end, out);
}

static bool render_in_group(const struct text *x, const struct frame_node *n)
{
	return n->group->root == n || frame_total_self_time(n) > 0.2 * x->t->root->time ||
	       frame_group_is_exit_frame(n->group, n);
}

static bool should_render(const struct text *x, const struct frame_node *n)
{
	if (n->group && !x->group_ignored[n->group->id])
		return render_in_group(x, n);
	return true;
}

/* A group with fewer than two hidden frames is ignored: all of its frames are printed. */
static void compute_ignored_groups(struct text *x)
{
	for (uint32_t i = 0; i < x->t->ngroups; i++) {
		const struct frame_group *g = x->t->groups[i];
		uint32_t hidden = 0;

		for (uint32_t j = 0; j < g->nframes; j++)
			hidden += !render_in_group(x, g->frames[j]);
		x->group_ignored[i] = hidden < 2;
	}
}

/* The first path component of file_path_short: re.split(r"[\\/\.]", path, maxsplit=1)[0] */
static size_t library_len(const char *fps)
{
	return strcspn(fps, "\\/.");
}

/* Python's len(): code points, an undecodable byte counting as one. */
static size_t utf8_chars(const char *s, size_t len, size_t max_chars, size_t *bytes)
{
	size_t chars = 0, off = 0, n;
	uint32_t cp;

	while (off < len && chars < max_chars) {
		n = utf8_decode((const unsigned char *)s + off, len - off, &cp);
		off += n ? n : 1;
		chars++;
	}
	*bytes = off;
	return chars;
}

struct lib {
	const char *name;
	size_t len;
};

/* ", ".join of the ordered unique libraries of the hidden frames; *len gets its length. */
static char *hidden_libraries(const struct text *x, const struct frame_group *g, size_t *count,
			      size_t *len)
{
	struct lib *libs = calloc(g->nframes + 1, sizeof(*libs));
	size_t nlibs = 0, total = 1, j;
	char *joined = NULL, *o;

	*count = 0;
	if (!libs)
		return NULL;
	for (uint32_t i = 0; i < g->nframes; i++) {
		const char *fps = frame_file_path_short(x->t, g->frames[i]);
		size_t l = fps ? library_len(fps) : 0;

		if (should_render(x, g->frames[i]))
			continue;
		(*count)++;
		for (j = 0; j < nlibs; j++)
			if (libs[j].len == l && !memcmp(libs[j].name, fps, l))
				break;
		if (l && j == nlibs) {
			libs[nlibs++] = (struct lib){ .name = fps, .len = l };
			total += l + 2;
		}
	}
	joined = o = malloc(total);
	for (j = 0; joined && j < nlibs; j++)
		o += sprintf(o, "%s%.*s", j ? ", " : "", (int)libs[j].len, libs[j].name);
	if (joined) {
		*o = '\0';
		*len = (size_t)(o - joined);
	}
	free(libs);
	return joined;
}

static int put_group_line(const struct text *x, const struct frame_group *g)
{
	size_t count, len, nbytes;
	char *libs = hidden_libraries(x, g, &count, &len);

	if (!libs)
		return -ENOMEM;
	fprintf(x->out, "[%zu frames hidden]  %s", count, x->c->faint);
	if (utf8_chars(libs, len, LIBS_MAX_CHARS + 1, &nbytes) > LIBS_MAX_CHARS) {
		utf8_chars(libs, len, LIBS_MAX_CHARS - 3, &nbytes);
		put_safe(x->out, libs, nbytes);
		fputs("...", x->out);
	} else {
		put_safe(x->out, libs, len);
	}
	fprintf(x->out, "%s\n", x->c->end);
	free(libs);
	return 0;
}

/* Appends s at x->indent + at; returns the new length, or 0 on allocation failure. */
static size_t indent_put(struct text *x, size_t at, const char *s)
{
	size_t len = strlen(s);

	if (array_reserve(&x->indent, &x->cap, at + len + 1, 1))
		return 0;
	memcpy(x->indent + at, s, len + 1);
	return at + len;
}

/*
 * console.py render_frame. x->indent[0, base) is the parent's child_indent; this frame's line is
 * prefixed by it plus `line`, its children's by it plus `child`.
 */
static int render_frame(struct text *x, const struct frame_node *n, size_t base,
			const char *line, const char *child)
{
	const struct glyphs *g = &glyphs_none;
	size_t clen;
	int64_t last = -1;
	int err = 0;

	if (should_render(x, n)) {
		fwrite(x->indent, 1, base, x->out);
		fputs(line, x->out);
		put_description(x, n, n->time);
		fputc('\n', x->out);
		g = x->o->unicode ? &glyphs_unicode : &glyphs_ascii;
	}
	clen = indent_put(x, base, child);
	if (!clen && (base || *child))
		return -ENOMEM;
	if (g != &glyphs_none && n->group && n->group->root == n &&
	    !x->group_ignored[n->group->id]) {
		fwrite(x->indent, 1, clen, x->out);
		fputs("   ", x->out);
		err = put_group_line(x, n->group);
		g = &glyphs_group;
	}
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (should_render(x, n->children[i]))
			last = i;
	for (uint32_t i = 0; i < n->nchildren && !err; i++) {
		bool mid = (int64_t)i < last;

		err = render_frame(x, n->children[i], clen, mid ? g->tee : g->corner,
				   mid ? g->bar : g->blank);
	}
	return err;
}

struct flat_entry {
	uint32_t ident;
	uint32_t seq;		/* first-seen order, for a stable sort */
	double time;
	const struct frame_node *frame;	/* the last one visited */
};

struct flat {
	struct flat_entry *v;
	uint32_t n;
	uint32_t *slot;		/* ident -> index + 1 */
};

/* console.py render_frame_flat's walk, quirks included (see pyinstrument.md 10.1). */
static void flat_walk(struct flat *f, const struct frame_node *n, bool self)
{
	uint32_t i = f->slot[n->ident];

	if (!i) {
		f->v[f->n] = (struct flat_entry){ .ident = n->ident, .seq = f->n };
		i = f->slot[n->ident] = ++f->n;
	}
	/* an operator-precedence slip makes "total" keep the last frame's time, not a sum */
	f->v[i - 1].time = self ? f->v[i - 1].time + frame_total_self_time(n) : n->time;
	f->v[i - 1].frame = n;
	for (uint32_t c = 0; c < n->nchildren; c++)
		flat_walk(f, n->children[c], self);
}

static int flat_cmp(const void *a, const void *b)
{
	const struct flat_entry *x = a, *y = b;

	/* descending; ties keep first-seen order, as Python's stable sort */
	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int render_flat(struct text *x)
{
	struct flat f = { 0 };
	double total = x->t->root->time;
	int err = -ENOMEM;

	f.v = calloc(x->t->nidents, sizeof(*f.v));
	f.slot = calloc(x->t->nidents, sizeof(*f.slot));
	if (!f.v || !f.slot)
		goto out;
	flat_walk(&f, x->t->root, x->o->flat_time == RENDER_FLAT_TIME_SELF);
	qsort(f.v, f.n, sizeof(*f.v), flat_cmp);
	for (uint32_t i = 0; i < f.n; i++) {
		/* below 0.1 % of the total is dropped; pyinstrument divides by zero here */
		if (!x->o->show_all && total != 0 && !(f.v[i].time / total > 0.001))
			continue;
		put_description(x, f.v[i].frame, f.v[i].time);
		fputc('\n', x->out);
	}
	err = 0;
out:
	free(f.v);
	free(f.slot);
	return err;
}

static void render_preamble(const struct session *s, const struct render_opts *o, FILE *out)
{
	const struct session_header *h = session_get_header(s);
	char recorded[32] = "", version[64];
	struct tm tm;

	if (o->short_mode) {
		fputs("\npyinstrument ........................................\n.\n.  ", out);
		puts_safe(out, h->target_description);
		fputs("\n.\n", out);
		return;
	}
	/* strftime('%X', localtime(start_time)); %X is %H:%M:%S in the C locale Python uses */
	if (session_start_localtime(s, &tm))
		strftime(recorded, sizeof(recorded), "%H:%M:%S", &tm);
	snprintf(version, sizeof(version), "v%s", o->version ? o->version : PYINST_VERSION);
	fprintf(out, "\n  _     ._   __/__   _ _  _  _ _/_   Recorded: %-9s Samples:  %llu\n",
		recorded, (unsigned long long)h->sample_count);
	fprintf(out, " /_//_/// /_\\ / //_// / //_'/ //     Duration: %-9.3f CPU time: %.3f\n",
		h->duration, h->cpu_time);
	fprintf(out, "/   _/        %20s\n\n", version);
	puts_safe(out, h->target_description);
	fputs("\n\n", out);
}

/* precision = ceil(-log10(min(max(1e-9, max_interval), 1))): 0.001 -> 3 decimals */
static int precision_for(double max_interval)
{
	double v = max_interval > 1e-9 ? max_interval : 1e-9;

	return (int)ceil(-log10(v < 1 ? v : 1));
}

static int render_body(struct text *x, const struct session *s)
{
	struct processor_list procs;
	int err;

	processors_default(PROC_FOR_CONSOLE, x->o->show_all, x->o->timeline, &procs);
	err = processors_run(x->t, &procs, &x->o->processor_options);
	if (err)
		return err;
	x->precision = precision_for(session_get_header(s)->max_interval);
	if (!x->t->root) {
		fprintf(x->out, "%sNo samples were recorded.\n", x->indent);
		return 0;
	}
	x->group_ignored = calloc(x->t->ngroups + 1, sizeof(*x->group_ignored));
	if (!x->group_ignored)
		return -ENOMEM;
	compute_ignored_groups(x);
	if (x->o->flat)
		return render_flat(x);
	return render_frame(x, x->t->root, strlen(x->indent), "", "");
}

int render_text(struct session *s, const struct render_opts *o, FILE *out)
{
	struct text x = { .o = o, .out = out, .c = o->color ? &colors_on : &colors_off };
	int err = -ENOMEM;

	if (o->flat && o->timeline)
		return -EINVAL;	/* report_check says so before anything is sampled */
	x.t = o->timeline ? frame_tree__new(s, true) :
			    frame_tree__new_aggregated(s, true);
	if (!x.t || !indent_put(&x, 0, o->short_mode ? ".  " : " "))
		goto out;
	if (!o->short_mode)
		x.indent[0] = '\0';
	render_preamble(s, o, out);
	err = render_body(&x, s);
	if (err)
		goto out;
	fprintf(out, "%s\n", o->short_mode ? ".  " : "");
	if (o->short_mode)
		fputs(".....................................................\n\n", out);
	if (ferror(out))
		err = -EIO;
out:
	free(x.group_ignored);
	free(x.indent);
	frame_tree__free(x.t);
	return err;
}
