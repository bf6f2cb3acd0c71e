/* SPDX-License-Identifier: MIT */
/*
 * Wall mode's synthetic leaf frames: why a thread was off CPU. They look like pyinstrument
 * frames ("name\0file\0line") so every renderer shows them, with a bracketed name and the file
 * "<wait>" (or "<idle>" for a thread parked waiting for work) so they never pass for Python code.
 */
#ifndef PYINST_WAITS_H
#define PYINST_WAITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAIT_FILE "<wait>"
#define IDLE_FILE "<idle>"

/* The label of a struct pyi_sample.reason, e.g. "[sleeping]". */
const char *waits_label(uint32_t reason, char *buf, size_t len);

/*
 * Whether a wait is idleness rather than latency: an event loop polling for events, or a
 * worker parked until work arrives. leaf_info is the Python leaf frame's frame_info (or NULL).
 */
bool waits_is_idle(uint32_t reason, const char *leaf_info, size_t leaf_len);

#endif
