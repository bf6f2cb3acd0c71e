// SPDX-License-Identifier: MIT
/*
 * .pyisession export. Saving reproduces Python's json.dumps(session.to_json()) byte for byte:
 * keys in pyinstrument's order, ensure_ascii escapes, ", " and ": " separators, repr() of
 * floats, no trailing newline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "session.h"
#include "session_file.h"

static void write_float(FILE *out, const char *key, double v)
{
	char buf[48];

	session_format_float(v, buf, sizeof(buf));
	fprintf(out, "\"%s\": %s, ", key, buf);
}

/* Writes the frames of stack, root first, as a JSON list. */
static int write_stack(FILE *out, const struct session *s, uint32_t stack, uint32_t **buf,
		       size_t *cap)
{
	uint32_t depth = session_stack_depth(s, stack), i = depth;
	size_t len;
	const char *info;

	if (array_reserve(buf, cap, depth, sizeof(**buf)))
		return -ENOMEM;
	for (uint32_t st = stack; st != SESSION_NO_STACK; st = session_stack_parent(s, st))
		(*buf)[--i] = session_stack_frame(s, st);
	fputc('[', out);
	for (i = 0; i < depth; i++) {
		info = session_frame_info(s, (*buf)[i], &len);
		if (i)
			fputs(", ", out);
		session_json_write_string(out, info, len);
	}
	fputc(']', out);
	return 0;
}

static void write_strlist(FILE *out, const char *key, const char *const *v, size_t n)
{
	fprintf(out, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		session_json_write_string(out, v[i], strlen(v[i]));
	}
	fputs("], ", out);
}

/* Ours only (session.h): nothing when nothing is known, so pyinstrument's files round-trip. */
static void write_origin(FILE *out, const struct session_origin *o)
{
	const char *mode = session_mode_name(o->mode);

	if (!mode && !o->pid && o->lost_samples < 0)
		return;
	fprintf(out, "\"%s\": {", SESSION_ORIGIN_KEY);
	if (mode)
		fprintf(out, "\"mode\": \"%s\"%s", mode, o->pid || o->lost_samples >= 0 ? ", " : "");
	if (o->pid)
		fprintf(out, "\"pid\": %d%s", o->pid, o->lost_samples >= 0 ? ", " : "");
	if (o->lost_samples >= 0)
		fprintf(out, "\"lost_samples\": %lld", (long long)o->lost_samples);
	fputs("}, ", out);
}

static void write_header(FILE *out, const struct session *s, uint32_t **buf, size_t *cap,
			 int *err)
{
	const struct session_header *h = session_get_header(s);
	const char *const *v;
	size_t n;

	fputc('{', out);
	write_float(out, "start_time", h->start_time);
	write_float(out, "duration", h->duration);
	write_float(out, "min_interval", h->min_interval);
	write_float(out, "max_interval", h->max_interval);
	fprintf(out, "\"sample_count\": %llu, ", (unsigned long long)h->sample_count);
	fputs("\"start_call_stack\": ", out);
	*err = write_stack(out, s, h->start_call_stack, buf, cap);
	fputs(", \"target_description\": ", out);
	session_json_write_string(out, h->target_description, strlen(h->target_description));
	fputs(", ", out);
	write_float(out, "cpu_time", h->cpu_time);
	v = session_sys_path(s, &n);
	write_strlist(out, "sys_path", v, n);
	v = session_sys_prefixes(s, &n);
	write_strlist(out, "sys_prefixes", v, n);
	write_origin(out, session_get_origin(s));
}

int session_save(const struct session *s, FILE *out)
{
	const struct session_sample *smp;
	uint32_t *buf = NULL;
	size_t cap = 0, n;
	char num[48];
	int err = session_error(s);

	if (err)
		return err;
	write_header(out, s, &buf, &cap, &err);
	fputs("\"frame_records\": [", out);
	smp = session_samples(s, &n);
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			fputs(", ", out);
		fputc('[', out);
		err = write_stack(out, s, smp[i].stack, &buf, &cap);
		session_format_float(smp[i].weight, num, sizeof(num));
		fprintf(out, ", %s]", num);
	}
	fputs("]}", out);
	free(buf);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}

int session_save_path(const struct session *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	ret = session_save(s, f);
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-ret));
	return ret;
}
