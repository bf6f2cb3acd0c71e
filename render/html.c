// SPDX-License-Identifier: MIT
/*
 * The HTML report: the embedded viewer page (html_assets.h) around the session as a payload,
 * docs/html-report.md version 1. The payload's tables (html_payload.h) are built once in
 * memory, then written here as JSON through the sink (html_sink.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "html_assets.h"
#include "html_payload.h"
#include "html_sink.h"
#include "render.h"

#define HTML_FAST_DEFLATE 100000	/* records past which deflate trades size for speed */
/*
 * The timeline's budget: bytes of the report (deflated and base64) its samples may take.
 * Past it the session's timeline is coarsened until they fit, so a report's size stops
 * growing with the session's length once a busy server has run for about 15 s
 * (docs/long-sessions.md). Smaller sessions are written exactly as they are.
 */
#define HTML_TIMELINE_BUDGET (256 * 1024)
#define HTML_RECORD_MAX_BYTES 80	/* a record's JSON (55 bytes), deflated, base64: at worst */
#define HTML_FIT_PASSES 8
#define HTML_FIT_EXACT 65536	/* records counted exactly; past that, estimated from a part */
#define HTML_FIT_RUNS 16

static void put_key(struct sink *k, const char *key)
{
	sink_put(k, ",\"");
	sink_put(k, key);
	sink_put(k, "\":");
}

static void put_str_list(struct sink *k, const char *const *v, size_t n)
{
	sink_put(k, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sink_put(k, ",");
		sink_put_cstr(k, v[i]);
	}
	sink_put(k, "]");
}

/* pyinstrument's HTML precision: ceil(-log10(min(max(1e-9, interval), 1))) */
static int precision(double interval)
{
	double v = fmin(fmax(1e-9, interval), 1);

	return (int)fmax(0, ceil(-log10(v)));
}

/* The session's own pid (kept in .pyisession), else the ones profiled, else process roots'. */
static void write_pids(struct sink *k, const struct payload *pl)
{
	int pid = session_get_origin(pl->s)->pid;
	bool first = true;

	sink_put(k, "[");
	if (pid) {
		sink_put_int(k, pid);
		sink_put(k, "]");
		return;
	}
	for (size_t i = 0; i < pl->o->npids; i++) {
		sink_put(k, i ? "," : "");
		sink_put_int(k, pl->o->pids[i]);
	}
	for (uint32_t i = 0; !pl->o->npids && i < pl->nprocs; i++) {
		if (pl->procs[i].pid <= 0)
			continue;
		sink_put(k, first ? "" : ",");
		sink_put_int(k, pl->procs[i].pid);
		first = false;
	}
	sink_put(k, "]");
}

/*
 * Mode and lost samples: the session's (kept in .pyisession), else the options' while profiling.
 * A session from elsewhere is pyinstrument's, wall clock, with no count of lost samples: null.
 */
static void write_origin(struct sink *k, const struct payload *pl)
{
	const struct session_origin *o = session_get_origin(pl->s);
	const char *mode = session_mode_name(o->mode);

	if (!mode)
		mode = pl->o->mode && !strcmp(pl->o->mode, "cpu") ? "cpu" : "wall";
	put_key(k, "mode");
	sink_put_cstr(k, mode);
	put_key(k, "lost_samples");
	if (o->lost_samples >= 0)
		sink_put_int(k, (long long)o->lost_samples);
	else if (pl->o->lost_samples)
		sink_put_int(k, (long long)pl->o->lost_samples);
	else
		sink_put(k, "null");
}

static void write_meta(struct sink *k, const struct payload *pl)
{
	const struct session_header *h = session_get_header(pl->s);
	const char *const *list;
	char host[256] = "";
	size_t n;

	gethostname(host, sizeof(host) - 1);
	sink_put(k, "\"meta\":{\"target_description\":");
	sink_put_cstr(k, h->target_description);
	put_key(k, "host");
	sink_put_cstr(k, host);
	put_key(k, "pids");
	write_pids(k, pl);
	put_key(k, "start_time");
	sink_put_float(k, h->start_time);
	put_key(k, "duration");
	sink_put_float(k, h->duration);
	put_key(k, "sample_count");
	sink_put_int(k, (long long)(h->sample_count ?: session_sample_count(pl->s)));
	put_key(k, "cpu_time");
	sink_put_float(k, h->cpu_time);
	put_key(k, "interval");
	sink_put_float(k, h->max_interval);
	write_origin(k, pl);
	list = session_sys_path(pl->s, &n);
	put_key(k, "sys_path");
	put_str_list(k, list, n);
	list = session_sys_prefixes(pl->s, &n);
	put_key(k, "sys_prefixes");
	put_str_list(k, list, n);
	put_key(k, "precision");
	sink_put_int(k, precision(h->max_interval));
	put_key(k, "resolution");
	sink_put_float(k, session_resolution(pl->s));
	sink_put(k, "}");
}

static void write_tables(struct sink *k, const struct payload *pl)
{
	put_key(k, "strings");
	sink_put(k, "[");
	for (uint32_t i = 0; i < pl->nstrs; i++) {
		sink_put(k, i ? "," : "");
		sink_put_str(k, pl->strs[i].p, pl->strs[i].n);
	}
	sink_put(k, "]");
	put_key(k, "frames");
	sink_put(k, "[");
	for (uint32_t i = 0; i < pl->nframes; i++) {
		const struct oframe *f = &pl->frames[i];
		char buf[128];

		sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%s[%u,%u,%lld,%lld,%u]",
			   i ? "," : "", f->function, f->file, f->line,
			   f->cls == NONE ? -1LL : (long long)f->cls, f->flags));
	}
	sink_put(k, "]");
	put_key(k, "stacks");
	sink_put(k, "[");
	for (uint32_t i = 0; i < pl->nstacks; i++) {
		const struct ostack *st = &pl->stacks[i];
		char buf[64];

		sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%s[%lld,%u]", i ? "," : "",
			   st->parent == NONE ? -1LL : (long long)st->parent, st->frame));
	}
	sink_put(k, "]");
}

/* The records i with i % every < chunk, in time order: all of them with every = chunk = 1. */
static void write_samples_part(struct sink *k, const struct payload *pl, size_t chunk,
			       size_t every)
{
	char buf[16];
	bool first = true;

	put_key(k, "samples");
	sink_put(k, "{\"stack\":[");
	for (size_t i = 0; i < pl->nrecs; i++)
		if (i % every < chunk) {
			sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%s%u",
				   first ? "" : ",", pl->recs[pl->order[i]].stack));
			first = false;
		}
	sink_put(k, "],\"weight\":[");
	first = true;
	for (size_t i = 0; i < pl->nrecs; i++)
		if (i % every < chunk) {
			sink_put(k, first ? "" : ",");
			sink_put_usec(k, pl->recs[pl->order[i]].weight);
			first = false;
		}
	sink_put(k, "],\"time\":[");
	first = true;
	for (size_t i = 0; i < pl->nrecs; i++)
		if (i % every < chunk) {
			sink_put(k, first ? "" : ",");
			sink_put_usec(k, pl->recs[pl->order[i]].time);
			first = false;
		}
	sink_put(k, "]}");
}

static void write_samples(struct sink *k, const struct payload *pl)
{
	write_samples_part(k, pl, 1, 1);
}

static ssize_t count_bytes(void *cookie, const char *buf, size_t n)
{
	(void)buf;
	*(size_t *)cookie += n;
	return (ssize_t)n;
}

/*
 * The bytes write_samples puts in the report at deflate level `level`: counted for up to
 * HTML_FIT_EXACT records, else estimated from runs of consecutive records spread over the
 * timeline (later times take more digits), so that fitting a long session costs little.
 */
static int samples_size(const struct payload *pl, int level, size_t *size)
{
	size_t chunk = 1, every = 1, part = pl->nrecs;
	cookie_io_functions_t io = { .write = count_bytes };
	struct sink k = { .level = level };
	int err;

	*size = 0;
	k.out = fopencookie(size, "w", io);
	k.buf = malloc(HTML_CHUNK);
	if (!k.out || !k.buf) {
		err = -ENOMEM;
		goto out;
	}
	if (pl->nrecs > HTML_FIT_EXACT) {
		chunk = HTML_FIT_EXACT / HTML_FIT_RUNS;
		every = pl->nrecs / HTML_FIT_RUNS;
		part = HTML_FIT_RUNS * chunk;
	}
	write_samples_part(&k, pl, chunk, every);
	sink_finish(&k);
	err = k.err;
	if (!err && fflush(k.out))
		err = -EIO;
	*size = (size_t)((double)*size * (double)pl->nrecs / (double)part);
out:
	if (k.zinit)
		deflateEnd(&k.z);
	free(k.buf);
	if (k.out && fclose(k.out) && !err)
		err = -EIO;
	return err;
}

/*
 * Keeps the timeline within HTML_TIMELINE_BUDGET: while its samples take more, the session's
 * timeline is coarsened (session_limit_records: per thread and bucket, one record per stack,
 * totals exact) to the share of records that should fit, and the payload built again.
 * Coarser buckets compress a little worse, hence the margin and the passes.
 */
static int fit_timeline(struct session *s, struct payload *pl, int level)
{
	size_t size, nrec, target;
	int err = 0;

	for (int pass = 0; pass < HTML_FIT_PASSES; pass++) {
		if (pl->nrecs <= HTML_TIMELINE_BUDGET / HTML_RECORD_MAX_BYTES)
			return 0;
		err = samples_size(pl, level, &size);
		if (err || size <= HTML_TIMELINE_BUDGET)
			return err;
		session_samples(s, &nrec);
		target = (size_t)((double)nrec * 0.9 * HTML_TIMELINE_BUDGET / (double)size);
		err = session_limit_records(s, target ? target : 1);
		if (err)
			return err;
		session_samples(s, &size);
		if (size == nrec)
			return 0;	/* one record per stack already: nothing to merge */
		err = payload_rebuild_records(pl);
		if (err)
			return err;
	}
	return 0;
}

static void write_roots(struct sink *k, const struct payload *pl)
{
	put_key(k, "threads");
	sink_put(k, "[");
	for (uint32_t i = 0; i < pl->nthreads; i++) {
		const struct othread *t = &pl->threads[i];

		sink_put(k, i ? ",{\"stack_prefix\":" : "{\"stack_prefix\":");
		sink_put_int(k, t->stack);
		sink_put(k, ",\"name\":");
		sink_put_str(k, pl->strs[t->name].p, pl->strs[t->name].n);
		/* a session records no kernel tid (pyinstrument's neither): 0 */
		sink_put(k, ",\"tid\":0,\"pid\":");
		sink_put_int(k, t->pid);
		sink_put(k, "}");
	}
	sink_put(k, "]");
	put_key(k, "processes");
	sink_put(k, "[");
	for (uint32_t i = 0; i < pl->nprocs; i++) {
		sink_put(k, i ? ",{\"pid\":" : "{\"pid\":");
		sink_put_int(k, pl->procs[i].pid);
		sink_put(k, ",\"cmdline\":");
		sink_put_cstr(k, pl->procs[i].cmdline);
		sink_put(k, ",\"python\":\"\"}");
	}
	sink_put(k, "]");
}

static void write_payload(struct sink *k, const struct payload *pl)
{
	sink_put(k, "{\"version\":1,");
	write_meta(k, pl);
	write_tables(k, pl);
	write_samples(k, pl);
	write_roots(k, pl);
	sink_put(k, "}");
}

int render_html(struct session *s, const struct render_opts *o, FILE *out)
{
	static const struct render_opts no_opts;
	struct payload pl = { .s = s, .o = o ? o : &no_opts };
	struct sink k = { .out = out, .level = 6 };
	const char *head, *tail;
	size_t hlen, tlen, nrec;
	int err;

	/* level 6 takes ~6x level 3's time on a big payload for ~10 % less: a long session's
	 * report is written within seconds of sampling stopping (docs/long-sessions.md) */
	session_samples(s, &nrec);
	if (nrec > HTML_FAST_DEFLATE)
		k.level = 3;
	head = html_assets_report_head(&hlen);
	tail = html_assets_report_tail(&tlen);
	err = payload_build(&pl);
	if (!err)
		err = fit_timeline(s, &pl, k.level);
	if (err)
		goto out;
	k.buf = malloc(HTML_CHUNK);
	if (!k.buf) {
		err = -ENOMEM;
		goto out;
	}
	fwrite(head, 1, hlen, out);
	write_payload(&k, &pl);
	sink_finish(&k);
	fwrite(tail, 1, tlen, out);
	err = k.err ? k.err : (ferror(out) ? -EIO : 0);
out:
	if (k.zinit)
		deflateEnd(&k.z);
	free(k.buf);
	payload_free(&pl);
	return err;	/* report_write logs it */
}
