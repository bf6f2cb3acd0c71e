// SPDX-License-Identifier: MIT
/*
 * pyinstrument's JSONRenderer (renderers/jsonrenderer.py). The output is built by hand, as
 * pyinstrument builds it: "%f" floats, members joined with "," while each key is followed by
 * ": ", one line ending in "\n". Strings go through json.dumps' escaping (ensure_ascii), so no
 * name can break out of its string. Library groups get a fresh uuid4 each, like FrameGroup.id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "frame_tree.h"
#include "processors.h"
#include "render.h"

#define UUID_LEN 36

struct json {
	struct frame_tree *t;
	FILE *out;
	char (*group_uuid)[UUID_LEN + 1];	/* by group id */
};

static void put_string(FILE *out, const char *s)
{
	session_json_write_string(out, s ? s : "", s ? strlen(s) : 0);
}

/* uuid.uuid4(): 122 random bits, version 4, RFC 4122 variant. */
static int make_uuid4(char out[UUID_LEN + 1])
{
	unsigned char b[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}

/* FRAME = {"function", "file_path_short", "file_path", "line_no", "time", "await_time",
 * "is_application_code", "children", ["group_id"], ["class_name"]} */
static void render_frame(const struct json *j, const struct frame_node *n)
{
	const char *cls = frame_class_name(j->t, n);
	FILE *out = j->out;

	fputs("{\"function\": ", out);
	put_string(out, frame_function(j->t, n));
	fputs(",\"file_path_short\": ", out);
	put_string(out, frame_file_path_short(j->t, n));
	fputs(",\"file_path\": ", out);
	put_string(out, frame_file_path(j->t, n));
	fprintf(out, ",\"line_no\": %ld,\"time\": %f,\"await_time\": %f,", frame_line_no(j->t, n),
		n->time, frame_await_time(n));
	fprintf(out, "\"is_application_code\": %s,\"children\": [",
		frame_is_application_code(j->t, n) ? "true" : "false");
	for (uint32_t i = 0; i < n->nchildren; i++) {
		if (i)
			fputc(',', out);
		render_frame(j, n->children[i]);
	}
	fputc(']', out);
	if (n->group)
		fprintf(out, ",\"group_id\": \"%s\"", j->group_uuid[n->group->id]);
	if (cls) {
		fputs(",\"class_name\": ", out);
		put_string(out, cls);
	}
	fputc('}', out);
}

static int run_processors(struct frame_tree *t, const struct render_opts *o)
{
	struct processor_list procs;

	processors_default(PROC_FOR_JSON, o->show_all, o->timeline, &procs);
	return processors_run(t, &procs, &o->processor_options);
}

static int name_groups(struct json *j)
{
	int err;

	j->group_uuid = calloc(j->t->ngroups + 1, sizeof(*j->group_uuid));
	if (!j->group_uuid)
		return -ENOMEM;
	for (uint32_t i = 0; i < j->t->ngroups; i++) {
		err = make_uuid4(j->group_uuid[i]);
		if (err)
			return err;
	}
	return 0;
}

int render_json(struct session *s, const struct render_opts *o, FILE *out)
{
	const struct session_header *h = session_get_header(s);
	struct json j = { .out = out };
	int err = -ENOMEM;

	j.t = o->timeline ? frame_tree__new(s, true) :
			    frame_tree__new_aggregated(s, true);
	if (!j.t)
		goto out;
	err = run_processors(j.t, o);
	if (!err)
		err = name_groups(&j);
	if (err)
		goto out;
	fprintf(out, "{\"start_time\": %f,\"duration\": %f,\"sample_count\": %llu,", h->start_time,
		h->duration, (unsigned long long)h->sample_count);
	fputs("\"target_description\": ", out);
	put_string(out, h->target_description);
	fprintf(out, ",\"cpu_time\": %f,\"root_frame\": ", h->cpu_time);
	if (j.t->root)
		render_frame(&j, j.t->root);
	else
		fputs("null", out);
	fputs("}\n", out);
	if (ferror(out))
		err = -EIO;
out:
	free(j.group_uuid);
	frame_tree__free(j.t);
	return err;
}
