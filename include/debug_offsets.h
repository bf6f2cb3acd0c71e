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

/* Bytes of _PyRuntime to read: the largest _Py_DebugOffsets we parse (3.14's) and then some. */
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
