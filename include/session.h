/* SPDX-License-Identifier: MIT */
/*
 * The session model: what pyinstrument calls a Session, stored compactly.
 * Frames are pyinstrument frame_info strings: "name\0file\0firstline" followed by "\x01" attributes
 * (c = class name, l = current line, h = __tracebackhide__). A stack is (parent stack, frame).
 * Samples reference stacks; consecutive identical samples merge.
 * The collector produces through the functions below; processors and renderers read the tree built
 * from it (frame_tree.h). .pyisession is an import/export format, not the in-memory form.
 */
#ifndef PYINST_SESSION_H
#define PYINST_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SESSION_NO_STACK UINT32_MAX	/* the parent of a root frame */

struct session;

struct session *session__new(void);
void session__free(struct session *s);

/* Interns a frame_info string (it may contain NUL and \x01 bytes, hence len). Returns its id. */
uint32_t session_intern_frame(struct session *s, const char *info, size_t len);
/* The stack made of parent (or SESSION_NO_STACK) plus frame on top. Interned: same ids, same stack. */
uint32_t session_stack_push(struct session *s, uint32_t parent, uint32_t frame);
/* Appends a sample of weight seconds; merges with the previous sample if it had the same stack. */
int session_add_sample(struct session *s, uint32_t stack, double weight);

/* Header fields (pyinstrument's names, same meaning). */
void session_set_times(struct session *s, double start_time, double duration);
void session_set_interval(struct session *s, double min_interval, double max_interval);
void session_set_cpu_time(struct session *s, double cpu_time);
int session_set_target_description(struct session *s, const char *text);
int session_add_sys_path(struct session *s, const char *path);
int session_add_sys_prefix(struct session *s, const char *prefix);
uint64_t session_sample_count(const struct session *s);

/* .pyisession: pyinstrument's JSON, byte-compatible with Session.save(). */
int session_save(const struct session *s, FILE *out);
/* Loads ours or pyinstrument's; on failure returns -errno-like and a one-line reason in err. */
/*
 * --load takes regular files of at most SESSION_LOAD_MAX bytes: a FIFO, a device or /dev/zero is
 * refused. A file is mapped and streamed (memory does not grow with its size, a 10M-record
 * session is about 4 GB); one the kernel sizes as 0 is read into memory, at most
 * SESSION_READ_MAX bytes.
 */
#define SESSION_LOAD_MAX (16ULL << 30)
#define SESSION_READ_MAX (1ULL << 30)
int session_load(const char *path, struct session **out, char *err, size_t errlen);
/* SESSION_LOAD_PLAIN: without the loader's fast paths (frames recognized by their bytes in the
 * file), for checking that they build the same session. */
#define SESSION_LOAD_PLAIN 1u
int session_load_flags(const char *path, struct session **out, char *err, size_t errlen,
		       unsigned int flags);
/* Session.combine(dst, src) semantics; dst is updated in place. */
int session_combine(struct session *dst, const struct session *src);

/*
 * Additions below this line: the read side used by frame_tree, processors, renderers and the
 * .pyisession code, plus the pieces a lossless import needs.
 */
#define SESSION_NO_FRAME UINT32_MAX	/* session_intern_frame failed (see session_error) */
/* Deeper stacks are truncated: session_stack_push returns the parent unchanged. */
#define SESSION_MAX_DEPTH 10000

/* Synthetic identifiers, interned first by session__new so that their ids are fixed. */
enum session_fixed_ident {
	SESSION_IDENT_ROOT = 0,		/* "[root]" */
	SESSION_IDENT_SELF = 1,		/* "[self]" */
	SESSION_IDENT_AWAIT = 2,	/* "[await]" */
	SESSION_IDENT_OUT_OF_CONTEXT = 3,	/* "[out-of-context]" */
	SESSION_IDENT_FIRST_REAL = 4,
};

struct session_sample {
	uint32_t stack;		/* SESSION_NO_STACK: an empty stack, a record [[], t] */
	uint32_t bucket;	/* the session's own: its timeline bucket once coarsened */
	double weight;		/* seconds */
};

/*
 * The bound on records (docs/long-sessions.md). A session keeps every record as it comes
 * (consecutive samples of one stack merged) up to SESSION_MAX_RECORDS; past that its timeline
 * is coarsened: each thread's time is cut into buckets (1 ms times a power of two, doubled
 * whenever the bound is reached again) and the records of one stack in one bucket become one
 * record, in the place of the first, with the summed weight. Totals stay exact; only order
 * inside a bucket is lost. Memory is then the distinct stacks plus at most SESSION_MAX_RECORDS
 * records (or twice the distinct (thread, stack) pairs, when there are more of those).
 * Reports are written from at most SESSION_REPORT_RECORDS records (session_limit_records).
 */
#define SESSION_MAX_RECORDS (1u << 19)
#define SESSION_REPORT_RECORDS (1u << 18)
#define SESSION_MIN_BUCKET 0.001	/* seconds */
#define SESSION_REPORT_STEP 1.189207115002721	/* 2^(1/4): report bucket widths */

/* Coarsens the timeline (as above, in finer steps) until at most max records remain. */
int session_limit_records(struct session *s, size_t max);
/* The timeline's bucket width in seconds; 0 while every record is kept as it came. */
double session_resolution(const struct session *s);

struct session_header {
	double start_time;
	double duration;
	double min_interval;
	double max_interval;
	double cpu_time;
	uint64_t sample_count;
	const char *target_description;	/* never NULL */
	uint32_t start_call_stack;	/* SESSION_NO_STACK when the list is empty */
};

/* 0, or the first -errno a producer call hit (allocation failure): checked once at the end. */
int session_error(const struct session *s);
/* Appends one record as is, never merging (load and combine keep records exactly), until the
 * bound above makes the session coarsen its timeline. */
int session_add_record(struct session *s, uint32_t stack, double weight);
void session_set_sample_count(struct session *s, uint64_t count);
/* The stack that started profiling, root first; used to trim the tree's stem. */
void session_set_start_call_stack(struct session *s, uint32_t stack);

const struct session_header *session_get_header(const struct session *s);
const char *const *session_sys_path(const struct session *s, size_t *n);
const char *const *session_sys_prefixes(const struct session *s, size_t *n);
const struct session_sample *session_samples(const struct session *s, size_t *n);

/* Frames (full frame_info), identifiers (frame_info up to the first \x01) and attributes
 * (marker + data) are interned separately; every string is also NUL-terminated. */
uint32_t session_frame_count(const struct session *s);
const char *session_frame_info(const struct session *s, uint32_t frame, size_t *len);
uint32_t session_frame_ident(const struct session *s, uint32_t frame);
const uint32_t *session_frame_attrs(const struct session *s, uint32_t frame, uint32_t *n);
uint32_t session_ident_count(const struct session *s);
const char *session_ident(const struct session *s, uint32_t ident, size_t *len);
const char *session_attr(const struct session *s, uint32_t attr, size_t *len);
uint32_t session_stack_count(const struct session *s);
uint32_t session_stack_parent(const struct session *s, uint32_t stack);
uint32_t session_stack_frame(const struct session *s, uint32_t stack);
uint32_t session_stack_depth(const struct session *s, uint32_t stack);	/* root frame: 1 */
/* Saves to a path (truncating); the counterpart of session_load. */
int session_save_path(const struct session *s, const char *path, char *err, size_t errlen);

/*
 * The session's start as local time, for headers. False when start_time is not a time a
 * calendar can hold (a hostile or corrupt file): renderers then leave the field empty.
 */
struct tm;
bool session_start_localtime(const struct session *s, struct tm *tm);
/* Seconds as nanoseconds, 0 when negative, not finite or past what 64 bits hold. */
uint64_t session_seconds_to_ns(double seconds);

/* JSON helpers shared with the renderers that write JSON like Python's json module. */
/* Python's repr(float) (json.dumps spelling for non-finite values); returns the length. */
size_t session_format_float(double v, char *buf, size_t len);
/* A JSON string with ensure_ascii escapes; undecodable bytes become \udcXX (surrogateescape). */
void session_json_write_string(FILE *out, const char *str, size_t len);

/*
 * What pyinst-bpf knows of a recording and pyinstrument's format has no field for. Saved in a
 * .pyisession as one extra key, "pyinst_bpf": {"mode": "cpu", "pid": 4242, "lost_samples": 0}
 * (pyinstrument's loader ignores it), only when something is known: pyinstrument's own sessions
 * load and save unchanged.
 */
enum session_mode {
	SESSION_MODE_UNKNOWN = 0,	/* not recorded here: pyinstrument's sessions are wall clock */
	SESSION_MODE_WALL,
	SESSION_MODE_CPU,
	SESSION_MODE_MIXED,		/* sessions of both modes combined */
};

struct session_origin {
	enum session_mode mode;
	int pid;			/* the profiled process; 0: unknown, or several (then each
					   has its own process root frame) */
	int64_t lost_samples;		/* records the kernel could not send; -1: unknown */
};

const struct session_origin *session_get_origin(const struct session *s);
void session_set_origin(struct session *s, const struct session_origin *o);
/* "wall", "cpu", "mixed", or NULL for SESSION_MODE_UNKNOWN (and what is not a mode). */
const char *session_mode_name(enum session_mode mode);
/* The mode named name, SESSION_MODE_UNKNOWN for any other text. */
enum session_mode session_mode_of(const char *name, size_t len);

#endif /* PYINST_SESSION_H */
