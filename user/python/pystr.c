// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "pystr.h"
#include "utf8.h"

#define REPLACEMENT	0xFFFDu
static const char ellipsis[] = "\xe2\x80\xa6";	/* U+2026 */

/* A code point the frame strings can carry: no NUL (it separates fields), no surrogates. */
static uint32_t sanitize(uint32_t cp)
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return REPLACEMENT;
	return cp;
}

static uint32_t code_point(const uint8_t *d, unsigned int kind, size_t i)
{
	uint16_t u16;
	uint32_t u32;

	if (kind == 1)
		return d[i];
	if (kind == 2) {
		memcpy(&u16, d + i * 2, 2);	/* the target's byte order is the host's */
		return u16;
	}
	memcpy(&u32, d + i * 4, 4);
	return u32;
}

/* Decodes length code points of which nbytes / kind are present. */
static int decode_raw(unsigned int kind, uint64_t length, const uint8_t *data, size_t nbytes,
		      char *out, size_t outsz)
{
	size_t have, n = 0, i;
	char buf[4];

	if ((kind != 1 && kind != 2 && kind != 4) || outsz < sizeof(ellipsis))
		return -EINVAL;
	have = nbytes / kind;
	if (have > length)
		have = (size_t)length;
	for (i = 0; i < have; i++) {
		size_t w = utf8_encode(sanitize(code_point(data, kind, i)), buf);

		/* keep room for the ellipsis and the NUL unless this is the last code point */
		if (n + w + (i + 1 < length ? sizeof(ellipsis) : 1) > outsz)
			break;
		memcpy(out + n, buf, w);
		n += w;
	}
	if (i < length) {
		memcpy(out + n, ellipsis, sizeof(ellipsis) - 1);
		n += sizeof(ellipsis) - 1;
	}
	out[n] = '\0';
	return (int)n;
}

int pystr_decode(const struct pyi_str *s, char *out, size_t outsz)
{
	size_t nbytes;

	if (!s->ok)
		return -ENODATA;
	nbytes = s->nbytes < sizeof(s->data) ? s->nbytes : sizeof(s->data);
	return decode_raw(s->kind, s->length, s->data, nbytes, out, outsz);
}

int pystr_from_object(const struct pyi_layout *lay, const uint8_t *obj, size_t objlen, char *out,
		      size_t outsz)
{
	const struct pyi_offsets *o = &lay->off;
	size_t data_off;
	int64_t length;
	uint32_t state;

	if (o->unicode_length < 0 || o->unicode_state < 0 || o->unicode_ascii_size < 0 ||
	    (size_t)o->unicode_ascii_size > objlen)
		return -EINVAL;
	memcpy(&length, obj + o->unicode_length, sizeof(length));
	memcpy(&state, obj + o->unicode_state, sizeof(state));
	if (length < 0)
		return -EINVAL;
	if (!(state >> lay->unicode_compact_bit & 1))
		return -ENOTSUP;
	data_off = (state >> lay->unicode_ascii_bit & 1) ? (size_t)o->unicode_ascii_size
							  : (size_t)o->unicode_compact_size;
	if (data_off > objlen)
		data_off = objlen;
	return decode_raw(state >> lay->unicode_kind_shift & 7, (uint64_t)length, obj + data_off,
			  objlen - data_off, out, outsz);
}
