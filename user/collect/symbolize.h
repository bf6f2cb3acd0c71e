/* SPDX-License-Identifier: MIT */
/*
 * Code objects -> pyinstrument frame_info strings. The kernel describes each code object once
 * per CPU cache row and slot (struct pyi_code); this mirrors that cache exactly, so a sample's
 * frame is resolved with what the kernel knew when it took the sample, even if the object has
 * been freed or its address reused since.
 */
#ifndef PYINST_SYMBOLIZE_H
#define PYINST_SYMBOLIZE_H

#include <stdint.h>

#include "pyinst_abi.h"
#include "python_layouts.h"

struct session;
struct symbolizer;

/* The process a frame belongs to. */
struct sym_target {
	int pid;
	uint32_t version_hex;
	const struct pyi_layout *layout;
	const struct pyi_offsets *off;
	uint64_t type_type;	/* &PyType_Type in the target */
	uint64_t code_type;	/* &PyCode_Type in the target */
};

struct symbolizer *symbolizer__new(unsigned int rows);
void symbolizer__free(struct symbolizer *sy);

/* Takes a code record from the ring buffer. Returns 0 or -EINVAL for a malformed record. */
int symbolizer_add_code(struct symbolizer *sy, const struct pyi_code *rec);

/*
 * The session frame id of f, sampled on cache row `row` of process t; SESSION_NO_FRAME when
 * the frame is to be left out (a 3.11+ frame that has not started executing).
 */
uint32_t symbolizer_frame(struct symbolizer *sy, struct session *s, const struct sym_target *t,
			  uint32_t row, const struct pyi_frame *f);

/* Forgets what is known of a process (it exited or exec'd). */
void symbolizer_forget(struct symbolizer *sy, int pid);

/* Frame ids are per session: forgets them when the sessions are replaced (a new window). */
void symbolizer_forget_frames(struct symbolizer *sy);

struct symbolizer_stats {
	uint64_t codes;		/* code records taken */
	uint64_t unresolved;	/* frames whose code object was never described */
	uint64_t read_here;	/* code objects read from user space (not described in time) */
	uint64_t frame_cache_entries;
};
void symbolizer_stats(const struct symbolizer *sy, struct symbolizer_stats *st);

#endif
