/* SPDX-License-Identifier: MIT */
/* CPython str data (PEP 393) -> UTF-8 safe inside pyinstrument frame strings. */
#ifndef PYINST_PYSTR_H
#define PYINST_PYSTR_H

#include <stddef.h>
#include <stdint.h>

#include "pyinst_abi.h"
#include "python_layouts.h"

/*
 * Writes s as NUL-terminated UTF-8 into out (outsz >= 4) and returns its length in bytes, or
 * -EINVAL (bad kind or outsz), -ENODATA (s->ok == 0). U+0000 and surrogates (which cannot be
 * UTF-8) become U+FFFD, so the result never holds a NUL byte before its end. When the copy holds
 * fewer code points than s->length, or out is too small, the text ends with U+2026 "…".
 */
int pystr_decode(const struct pyi_str *s, char *out, size_t outsz);

/*
 * Same, from the bytes of a str object as read from a target's memory (obj, objlen bytes from
 * the object's start): length, state and the inline data are found with lay. Only compact
 * strings (all identifiers and literals) hold their data inline: others give -ENOTSUP.
 */
int pystr_from_object(const struct pyi_layout *lay, const uint8_t *obj, size_t objlen, char *out,
		      size_t outsz);

#endif /* PYINST_PYSTR_H */
