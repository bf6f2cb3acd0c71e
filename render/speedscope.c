// SPDX-License-Identifier: MIT
/*
 * pyinstrument's SpeedscopeRenderer (renderers/speedscope.py): an evented profile walked from
 * the processed, unaggregated tree, written as json.dumps writes it (", " and ": ", floats as
 * repr). One deliberate difference: "exporter" names us, "pyinst-bpf", not "pyinstrument".
 *
 * Frames are deduplicated by identifier, which is what pyinstrument's (name, file, line) key
 * amounts to: the three are parsed from the identifier. ("f\0a.py\0007" and "f\0a.py\07" would
 * be two frames here and one there; no interpreter writes a line number with leading zeros.)
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame_tree.h"
#include "processors.h"
#include "render.h"

#define NO_INDEX UINT32_MAX

struct speedscope {
	struct frame_tree *t;
	FILE *out;
	uint32_t *index;	/* identifier -> frame index, NO_INDEX until first seen */
	uint32_t *order;	/* frame index -> identifier */
	uint32_t nframes;
	double at;		/* the running clock, seconds */
	bool first_event;
};

static void put_float(FILE *out, double v)
{
	char buf[48];

	session_format_float(v, buf, sizeof(buf));
	fputs(buf, out);
}

static void put_event(struct speedscope *x, char type, uint32_t frame)
{
	fprintf(x->out, "%s{\"type\": \"%c\", \"at\": ", x->first_event ? "" : ", ", type);
	put_float(x->out, x->at);
	fprintf(x->out, ", \"frame\": %u}", frame);
	x->first_event = false;
}

static uint32_t frame_index(struct speedscope *x, const struct frame_node *n)
{
	if (x->index[n->ident] == NO_INDEX) {
		x->order[x->nframes] = n->ident;
		x->index[n->ident] = x->nframes++;
	}
	return x->index[n->ident];
}

/* speedscope.py render_frame: open, children, advance the clock, close. */
static void walk(struct speedscope *x, const struct frame_node *n)
{
	uint32_t frame = frame_index(x, n);

	put_event(x, 'O', frame);
	for (uint32_t i = 0; i < n->nchildren; i++)
		walk(x, n->children[i]);
	x->at += n->absorbed_time;
	if (frame_is_synthetic_leaf(n))
		x->at += n->time;
	put_event(x, 'C', frame);
}

/* {"name": function, "file": file_path|null, "line": line_no|null} */
static void put_frames(const struct speedscope *x)
{
	for (uint32_t i = 0; i < x->nframes; i++) {
		const struct frame_ident *id = &x->t->idents[x->order[i]];
		bool synthetic = x->order[i] < SESSION_IDENT_FIRST_REAL;

		fputs(i ? ", {\"name\": " : "{\"name\": ", x->out);
		session_json_write_string(x->out, id->function, strlen(id->function));
		fputs(", \"file\": ", x->out);
		if (id->file_path && !synthetic)
			session_json_write_string(x->out, id->file_path, strlen(id->file_path));
		else
			fputs("null", x->out);
		if (synthetic)
			fputs(", \"line\": null}", x->out);
		else
			fprintf(x->out, ", \"line\": %ld}", id->line_no);
	}
}

/* "CPU profile for '<target_description>' at <YYYY-MM-DDTHH-MM-SS, local time>" */
static char *profile_name(const struct session *s, const struct session_header *h)
{
	char when[64] = "";
	struct tm tm;
	char *name;

	if (session_start_localtime(s, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H-%M-%S", &tm);
	if (asprintf(&name, "CPU profile for '%s' at %s", h->target_description, when) < 0)
		return NULL;
	return name;
}

static void put_document(struct speedscope *x, const struct session_header *h, const char *name)
{
	FILE *out = x->out;

	fputs("{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\", \"name\": ",
	      out);
	session_json_write_string(out, name, strlen(name));
	fputs(", \"activeProfileIndex\": null, \"exporter\": \"pyinst-bpf\", \"profiles\": "
	      "[{\"type\": \"evented\", \"name\": ", out);
	session_json_write_string(out, name, strlen(name));
	fputs(", \"unit\": \"seconds\", \"startValue\": 0.0, \"endValue\": ", out);
	put_float(out, h->duration);
	fputs(", \"events\": [", out);
	if (x->t->root)
		walk(x, x->t->root);
	fputs("]}], \"shared\": {\"frames\": [", out);
	put_frames(x);
	fputs("]}}\n", out);
}

int render_speedscope(struct session *s, const struct render_opts *o, FILE *out)
{
	struct speedscope x = { .out = out, .first_event = true };
	struct processor_list procs;
	char *name = NULL;
	int err = -ENOMEM;

	x.t = frame_tree__new(s, true);
	if (!x.t)
		goto out;
	processors_default(PROC_FOR_SPEEDSCOPE, o->show_all, o->timeline, &procs);
	err = processors_run(x.t, &procs, &o->processor_options);
	if (err)
		goto out;
	err = -ENOMEM;
	name = profile_name(s, session_get_header(s));
	x.index = malloc((x.t->nidents + 1) * sizeof(*x.index));
	x.order = malloc((x.t->nidents + 1) * sizeof(*x.order));
	if (!name || !x.index || !x.order)
		goto out;
	memset(x.index, 0xff, (x.t->nidents + 1) * sizeof(*x.index));
	put_document(&x, session_get_header(s), name);
	err = ferror(out) ? -EIO : 0;
out:
	free(name);
	free(x.index);
	free(x.order);
	frame_tree__free(x.t);
	return err;
}
