// SPDX-License-Identifier: MIT
/*
 * pyinstrument's PstatsRenderer (renderers/pstatsrenderer.py): cProfile's stats dict, written
 * in Python's marshal format (version 4) so that pstats.Stats(path), snakeviz and gprof2dot
 * load it:
 *
 *	{(file, line, function): (cc, nc, tt, ct, {(caller key): (cc, nc, tt, ct)})}
 *
 * Call counts are unknown to a sampler, so cc = nc = -1 as in pyinstrument. We never emit
 * marshal's back-references (FLAG_REF); they only save space. Names that are not UTF-8 have
 * each bad byte replaced by U+FFFD: marshal's unicode type must decode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "frame_tree.h"
#include "processors.h"
#include "render.h"
#include "utf8.h"

/* marshal.c type codes */
#define TYPE_INT 'i'
#define TYPE_LONG 'l'
#define TYPE_BINARY_FLOAT 'g'
#define TYPE_UNICODE 'u'
#define TYPE_ASCII 'a'
#define TYPE_SHORT_ASCII 'z'
#define TYPE_SMALL_TUPLE ')'
#define TYPE_DICT '{'
#define TYPE_NULL '0'	/* ends a dict */

#define NO_ENTRY UINT32_MAX

struct pstats_caller {
	uint32_t entry;		/* the caller's entry */
	double tt, ct;
};

/* One key of the dict: an identifier, and what was summed into it. */
struct pstats_entry {
	uint32_t ident;
	double tt, ct;
	struct pstats_caller *callers;
	uint32_t ncallers;
	size_t cap_callers;
};

struct pstats {
	struct frame_tree *t;
	struct pstats_entry *v;
	uint32_t n;
	uint32_t *slot;		/* identifier -> entry, NO_ENTRY until seen */
};

static void put_u32(FILE *out, uint32_t v)
{
	unsigned char b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	fwrite(b, 1, 4, out);
}

/* w_long / w_PyLong: 'i' when it fits 32 bits, else 'l' with 15-bit digits, sign on the count. */
static void put_int(FILE *out, long long v)
{
	unsigned long long mag;
	uint16_t digits[5];
	int32_t n = 0;

	if (v >= INT32_MIN && v <= INT32_MAX) {
		fputc(TYPE_INT, out);
		put_u32(out, (uint32_t)(int32_t)v);
		return;
	}
	mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	for (; mag; mag >>= 15)
		digits[n++] = mag & 0x7fff;
	fputc(TYPE_LONG, out);
	put_u32(out, (uint32_t)(v < 0 ? -n : n));
	for (int32_t i = 0; i < n; i++) {
		fputc(digits[i] & 0xff, out);
		fputc(digits[i] >> 8, out);
	}
}

static void put_float(FILE *out, double v)
{
	unsigned char b[8];
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(bits >> (8 * i));
	fputc(TYPE_BINARY_FLOAT, out);
	fwrite(b, 1, 8, out);
}

/* Length in bytes once each invalid byte becomes U+FFFD (3 bytes); *ascii if all below 0x80. */
static size_t utf8_fixed_len(const char *s, size_t len, bool *ascii)
{
	size_t off = 0, out = 0, n;
	uint32_t cp;

	*ascii = true;
	while (off < len) {
		n = utf8_decode((const unsigned char *)s + off, len - off, &cp);
		*ascii = *ascii && n == 1 && cp < 0x80;
		out += n ? n : 3;
		off += n ? n : 1;
	}
	return out;
}

static void put_str(FILE *out, const char *s)
{
	size_t len = strlen(s), off = 0, n, fixed;
	bool ascii;
	uint32_t cp;

	fixed = utf8_fixed_len(s, len, &ascii);
	if (ascii && fixed < 256) {
		fputc(TYPE_SHORT_ASCII, out);
		fputc((int)fixed, out);
	} else {
		fputc(ascii ? TYPE_ASCII : TYPE_UNICODE, out);
		put_u32(out, (uint32_t)fixed);
	}
	while (off < len) {
		n = utf8_decode((const unsigned char *)s + off, len - off, &cp);
		if (n)
			fwrite(s + off, 1, n, out);
		else
			fputs("\xef\xbf\xbd", out);
		off += n ? n : 1;
	}
}

/* (file_path or "", line_no or 0, function) */
static void put_key(FILE *out, const struct frame_tree *t, uint32_t ident)
{
	const struct frame_ident *id = &t->idents[ident];

	fputc(TYPE_SMALL_TUPLE, out);
	fputc(3, out);
	put_str(out, id->file_path ? id->file_path : "");
	put_int(out, id->line_no);
	put_str(out, id->function);
}

static void put_times(FILE *out, double tt, double ct)
{
	put_int(out, -1);
	put_int(out, -1);
	put_float(out, tt);
	put_float(out, ct);
}

static void put_stats(FILE *out, const struct pstats *p)
{
	fputc(TYPE_DICT, out);
	for (uint32_t i = 0; i < p->n; i++) {
		const struct pstats_entry *e = &p->v[i];

		put_key(out, p->t, e->ident);
		fputc(TYPE_SMALL_TUPLE, out);
		fputc(5, out);
		put_times(out, e->tt, e->ct);
		fputc(TYPE_DICT, out);
		for (uint32_t c = 0; c < e->ncallers; c++) {
			put_key(out, p->t, p->v[e->callers[c].entry].ident);
			fputc(TYPE_SMALL_TUPLE, out);
			fputc(4, out);
			put_times(out, e->callers[c].tt, e->callers[c].ct);
		}
		fputc(TYPE_NULL, out);
	}
	fputc(TYPE_NULL, out);
}

static uint32_t entry_for(struct pstats *p, uint32_t ident)
{
	if (p->slot[ident] == NO_ENTRY) {
		p->v[p->n] = (struct pstats_entry){ .ident = ident };
		p->slot[ident] = p->n++;
	}
	return p->slot[ident];
}

static int add_caller(struct pstats_entry *e, uint32_t caller, double tt, double ct)
{
	uint32_t i;

	for (i = 0; i < e->ncallers && e->callers[i].entry != caller; i++)
		;
	if (i == e->ncallers) {
		if (array_reserve(&e->callers, &e->cap_callers, (size_t)e->ncallers + 1,
				  sizeof(*e->callers)))
			return -ENOMEM;
		e->callers[e->ncallers++] = (struct pstats_caller){ .entry = caller };
	}
	e->callers[i].tt += tt;
	e->callers[i].ct += ct;
	return 0;
}

/* pstatsrenderer.py render_frame: synthetic children are skipped, their time is in tt. */
static int visit(struct pstats *p, const struct frame_node *n, uint32_t caller)
{
	uint32_t me = entry_for(p, n->ident);
	double tt = frame_total_self_time(n);
	int err = 0;

	p->v[me].tt += tt;
	p->v[me].ct += n->time;
	if (caller != NO_ENTRY)
		err = add_caller(&p->v[me], caller, tt, n->time);
	for (uint32_t i = 0; i < n->nchildren && !err; i++)
		if (!frame_is_synthetic(n->children[i]))
			err = visit(p, n->children[i], me);
	return err;
}

int render_pstats(struct session *s, const struct render_opts *o, FILE *out)
{
	struct pstats p = { 0 };
	struct processor_list procs;
	int err = -ENOMEM;

	p.t = o->timeline ? frame_tree__new(s, true) :
			    frame_tree__new_aggregated(s, true);
	if (!p.t)
		goto out;
	processors_default(PROC_FOR_PSTATS, o->show_all, o->timeline, &procs);
	err = processors_run(p.t, &procs, &o->processor_options);
	if (err)
		goto out;
	err = -ENOMEM;
	p.v = calloc(p.t->nidents + 1, sizeof(*p.v));
	p.slot = malloc((p.t->nidents + 1) * sizeof(*p.slot));
	if (!p.v || !p.slot)
		goto out;
	memset(p.slot, 0xff, (p.t->nidents + 1) * sizeof(*p.slot));
	err = p.t->root ? visit(&p, p.t->root, NO_ENTRY) : 0;
	if (err)
		goto out;
	put_stats(out, &p);
	err = ferror(out) ? -EIO : 0;
out:
	for (uint32_t i = 0; p.v && i < p.n; i++)
		free(p.v[i].callers);
	free(p.v);
	free(p.slot);
	frame_tree__free(p.t);
	return err;
}
