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
int session_load(const char *path, struct session **out, char *err, size_t errlen);
/* Session.combine(dst, src) semantics; dst is updated in place. */
int session_combine(struct session *dst, const struct session *src);

#endif /* PYINST_SESSION_H */
