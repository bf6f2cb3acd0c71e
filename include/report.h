/* SPDX-License-Identifier: MIT */
/* Writes a session with the renderer the user asked for (or guessed from the file name). */
#ifndef PYINST_REPORT_H
#define PYINST_REPORT_H

#include <stdbool.h>
#include <stddef.h>

struct session;

#define REPORT_MAX_OPTIONS 64

struct report_opts {
	const char *renderer;		/* NULL: from outfile's extension, else "text" */
	const char *outfile;		/* NULL: stdout */
	const char *options[REPORT_MAX_OPTIONS];	/* renderer options, pyinstrument's -p syntax */
	size_t noptions;
	bool unicode_set, unicode, color_set, color;
	const char *version;		/* in the console header; NULL: ours */
	/* for the HTML header: what is known only while collecting */
	const char *mode;
	unsigned long long lost_samples;
	const int *pids;		/* the profiled pids, for sessions without process roots */
	size_t npids;
};

/* Translates a shell glob to a regular expression, as Python's fnmatch.translate does. */
int report_glob_to_regex(const char *glob, char *out, size_t outlen);

/* The renderer name for a file name, or NULL when the extension says nothing. */
const char *report_guess_renderer(const char *outfile);

/*
 * Checks the renderer name, its options (regexes compile) and the output before any profiling:
 * a new file's directory takes files, an existing output is a regular file, a character device
 * or a FIFO, never a symbolic link. 0 or -errno (reported).
 */
int report_check(const struct report_opts *o);

/* The output part of report_check, for each file --per-process will write. */
int report_check_output(const char *path);

/*
 * Renders s. A file is written to a temporary name beside it and renamed when complete, so a
 * report is whole or absent; "-", /dev/stdout, /dev/stderr, character devices and FIFOs are
 * written as streams, never replaced; symbolic links are not followed. Returns 0 or -errno
 * (reported with a one-line message).
 */
int report_write(struct session *s, const struct report_opts *o);

/* Renders s into out with the renderer and options of o (continuous mode's files). */
#include <stdio.h>
int report_render(struct session *s, const struct report_opts *o, FILE *out);

#endif
