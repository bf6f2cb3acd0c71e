/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.13+ publishes its own struct offsets in _Py_DebugOffsets, the first member of
 * _PyRuntime (gh-106597). This reads a copy of that memory and overlays it on our tables.
 */
#ifndef PYINST_DEBUG_OFFSETS_H
#define PYINST_DEBUG_OFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "python_layouts.h"

/*
 * What 3.14 changes for a sampler, and how this library handles it (facts from the v3.14.0
 * headers; the 3.14 and 3.15 entries are compiled from Debian's headers when the unstable root
 * is there, else 3.14's is derived, see scripts/gen_layouts.sh derive_314):
 *  - _PyInterpreterFrame.f_executable is a _PyStackRef. In default (GIL) builds bit 0 is
 *    Py_TAG_REFCNT and PyStackRef_AsPyObjectBorrow clears only that bit; Py_INT_TAG (3) marks
 *    tagged ints, which never occupy f_executable. So clear pyi_layout.frame_code_tag_mask (1),
 *    not 3. Free-threaded builds tag differently and are rejected.
 *  - enum _frameowner gained FRAME_OWNED_BY_INTERPRETER = 3; FRAME_OWNED_BY_CSTACK is now 4
 *    (it was 3 in 3.12/3.13): pyi_offsets.frame_owner_cstack carries the right value; owner
 *    moved to 74, localsplus to 80 (stackpointer replaced the int stacktop).
 *  - _PyRuntime.autoTSSkey is gone (gh-131185, PR #132510: a C thread-local holds the cached
 *    thread state): runtime_autotsskey is -1, so the TSS route cannot be used; walk the
 *    interpreter's thread list (native_thread_id) or use _Py_tss_tstate.
 *  - _Py_DebugOffsets moved to pycore_debug_offsets.h and grew (threads_main, stackpointer,
 *    tlbc fields, set/gen/llist_node/debugger_support groups): parsed by its own field list.
 * 3.15: the same frame and stack reference tagging (locals too: a borrowed self has bit 0 set);
 * FRAME_OWNED_BY_CSTACK is gone and every owner from FRAME_OWNED_BY_INTERPRETER (3) up is not
 * a Python frame; _Py_DebugOffsets grew again (thread GIL/exception state, type sizes, gc).
 */

/* Bytes of _PyRuntime to read: the largest _Py_DebugOffsets we parse (3.15's, 888 bytes) and then some. */
#define DEBUG_OFFSETS_READ_LEN	1024

/*
 * image: the first len bytes of the target's _PyRuntime. On success (0) *out is the generated
 * layout of the image's version with every field _Py_DebugOffsets carries replaced by the
 * target's own value (for 3.14, also the fields derive_314 could not know; out->derived is then
 * cleared). Errors, with a sentence in err naming the version: -EINVAL (no "xdebugpy" cookie,
 * image too short, an offset out of range), -ENOTSUP (free-threaded build, or a minor version
 * whose _Py_DebugOffsets layout we do not know).
 */
int debug_offsets_apply(const uint8_t *image, size_t len, struct pyi_layout *out, char *err,
			size_t errsz);

/*
 * Compares lay with the image field by field, printing each disagreement to f (may be NULL).
 * Returns the number of disagreements, or a negative errno as debug_offsets_apply.
 */
int debug_offsets_verify(const uint8_t *image, size_t len, const struct pyi_layout *lay, FILE *f);

#endif /* PYINST_DEBUG_OFFSETS_H */
