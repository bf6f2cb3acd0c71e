/* SPDX-License-Identifier: MIT */
/*
 * Renderers: pure functions of (session, options) writing to a FILE *, one per format,
 * render_<fmt>(session, opts, out). Options follow pyinstrument's renderer keyword arguments so
 * that `-p KEY=VALUE` means the same thing. A renderer returns 0 or -errno and logs nothing:
 * its caller (report.c) tells a failure once, naming the output.
 */
#ifndef PYINST_RENDER_H
#define PYINST_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "processors.h"
#include "session.h"

enum render_time {
	RENDER_TIME_SECONDS,
	RENDER_TIME_PERCENT_OF_TOTAL,
};

enum render_flat_time {
	RENDER_FLAT_TIME_SELF,
	RENDER_FLAT_TIME_TOTAL,
};

struct render_opts {
	/* FrameRenderer: every tree renderer */
	/* the CLI's --show-all also sets processor_options.show_regex to ".*" */
	bool show_all;
	bool timeline;
	struct processor_options processor_options;
	/* ConsoleRenderer */
	bool unicode;
	bool color;
	bool flat;
	enum render_time time;
	enum render_flat_time flat_time;
	bool short_mode;
	/* Shown as "v<version>" in the header; NULL means PYINST_VERSION. */
	const char *version;
	/* Strings render_opts_set copied; freed by render_opts_release. */
	char *owned_hide_regex;
	char *owned_show_regex;
	/* HTML report header: what only the collector knows (NULL / 0 when unknown) */
	const int *pids;		/* profiled pids, for sessions without process roots */
	size_t npids;
	const char *mode;		/* "wall" or "cpu" (the default) */
	unsigned long long lost_samples;
};

/* pyinstrument's defaults (everything off, seconds, self, filter_threshold 0.01). */
void render_opts_init(struct render_opts *o);
void render_opts_release(struct render_opts *o);
/*
 * One `-p` argument: "flag" sets true; "key=value" reads value as JSON, else as a plain string;
 * dotted keys reach processor options (processor_options.filter_threshold=0), and
 * processor_options={...} sets several. Unknown keys and bad values: -EINVAL, logged.
 */
int render_opts_set(struct render_opts *o, const char *key_value);

/* ConsoleRenderer. -EINVAL for flat with timeline or a bad regex, -ENOMEM. */
int render_text(struct session *s, const struct render_opts *o, FILE *out);

/* JSONRenderer, SpeedscopeRenderer and PstatsRenderer (marshal), as pyinstrument writes them. */
int render_json(struct session *s, const struct render_opts *o, FILE *out);
int render_speedscope(struct session *s, const struct render_opts *o, FILE *out);
int render_pstats(struct session *s, const struct render_opts *o, FILE *out);
/* Collapsed stacks (flamegraph.pl, inferno); counts are microseconds. */
int render_folded(struct session *s, const struct render_opts *o, FILE *out);
/* gzipped pprof profile.proto from the session's records. */
int render_pprof(struct session *s, const struct render_opts *o, FILE *out);
/* The self-contained HTML report (docs/html-report.md): viewer page plus session payload.
 * A long session's timeline is coarsened in place to the report's budget (render/html.c). */
int render_html(struct session *s, const struct render_opts *o, FILE *out);

#endif /* PYINST_RENDER_H */
