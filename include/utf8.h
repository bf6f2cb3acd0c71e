/* SPDX-License-Identifier: MIT */
/* UTF-8 code points: what the renderers, the log and the .pyisession code read and write. */
#ifndef PYINST_UTF8_H
#define PYINST_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* One UTF-8 code point at p: its length, or 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included). */
size_t utf8_decode(const unsigned char *p, size_t len, uint32_t *cp);
/* cp (at most U+10FFFF) as UTF-8 into o (room for 4 bytes); returns the length. */
size_t utf8_encode(uint32_t cp, char *o);

#endif
