// SPDX-License-Identifier: MIT
/*
 * Three line-table encodings, each decoded the way CPython's own PyCode_Addr2Line walks it:
 *   3.6-3.9   co_lnotab: (address delta, line delta) byte pairs (Objects/lnotab_notes.txt)
 *   3.10      co_linetable: (address delta, line delta) with -128 = no line (PEP 626)
 *   3.11+     location table: entries of _PyCodeLocationInfoKind (Objects/locations.md)
 */
#include "linetable.h"

#define PYI_VER(major, minor) (((uint32_t)(major) << 24) | ((uint32_t)(minor) << 16))

/*
 * 3.6-3.9: line = firstlineno + the line deltas of every pair whose end address is <= the
 * offset. 3.8 made the line delta signed (bpo-26107 allowed line numbers to decrease).
 */
static int lnotab_line(const uint8_t *t, size_t len, int line, int off, int signed_delta)
{
	int addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > off)
			break;
		line += signed_delta ? (int8_t)t[i + 1] : t[i + 1];
	}
	return line;
}

/*
 * 3.10: each pair covers [end, end + address delta); its line is the running line after adding
 * the delta, or none when the delta byte is -128 (the running line does not move then).
 */
static int linetable310_line(const uint8_t *t, size_t len, int line, int off)
{
	int end = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		int8_t ldelta = (int8_t)t[i + 1];

		end += t[i];
		if (ldelta != -128)
			line += ldelta;
		if (end > off)
			return ldelta == -128 ? -1 : line;
	}
	return -1;
}

/* 3.11+ varints: 6 bits a byte, least significant first, 0x40 = more follows. */
static int read_varint(const uint8_t *t, size_t len, size_t *pos, unsigned int *val)
{
	unsigned int v = 0, shift = 0;

	for (;;) {
		if (*pos >= len || shift > 30)
			return -1;
		uint8_t b = t[(*pos)++];

		v |= (unsigned int)(b & 0x3f) << shift;
		shift += 6;
		if (!(b & 0x40))
			break;
	}
	*val = v;
	return 0;
}

/* Signed varints keep the sign in bit 0 of the unsigned value. */
static int read_svarint(const uint8_t *t, size_t len, size_t *pos, int *val)
{
	unsigned int u;

	if (read_varint(t, len, pos, &u))
		return -1;
	*val = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
	return 0;
}

enum loc_kind {
	LOC_SHORT_MAX = 9,	/* 0-9: same line, one byte of column data */
	LOC_ONE_LINE0 = 10,	/* 10-12: line delta 0..2, two bytes of columns */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,	/* svarint line delta */
	LOC_LONG = 14,		/* svarint line delta, varint end line delta, two varint columns */
	LOC_NONE = 15,		/* no location: the running line does not move */
};

/* Reads one entry's line delta and skips its column data; 1 = an entry with no location. */
static int loc_entry(const uint8_t *t, size_t len, size_t *pos, int kind, int *delta)
{
	unsigned int skip;

	*delta = 0;
	if (kind <= LOC_SHORT_MAX) {
		*pos += 1;
	} else if (kind <= LOC_ONE_LINE2) {
		*delta = kind - LOC_ONE_LINE0;
		*pos += 2;
	} else if (kind == LOC_NO_COLUMNS) {
		return read_svarint(t, len, pos, delta);
	} else if (kind == LOC_LONG) {
		if (read_svarint(t, len, pos, delta))
			return -1;
		for (int i = 0; i < 3; i++)
			if (read_varint(t, len, pos, &skip))
				return -1;
	} else {
		return 1;
	}
	return *pos <= len ? 0 : -1;
}

/* An entry starts with 1kkkklll: kind k, length l + 1 code units (2 bytes each). */
static int loctable_line(const uint8_t *t, size_t len, int line, int off)
{
	size_t pos = 0;
	int end = 0;

	while (pos < len) {
		uint8_t head = t[pos++];
		int delta, rc;

		if (!(head & 0x80))
			return -1;	/* not an entry start: a corrupt or misaligned table */
		rc = loc_entry(t, len, &pos, (head >> 3) & 0x0f, &delta);
		if (rc < 0)
			return -1;
		line += delta;
		end += ((head & 0x07) + 1) * 2;
		if (end > off)
			return rc == 1 ? -1 : line;
	}
	return -1;
}

int linetable_line(uint32_t version_hex, const uint8_t *table, size_t len, int firstlineno,
		   int byte_offset)
{
	/* PyCode_Addr2Line: "if (addrq < 0) return co->co_firstlineno;" in every version */
	if (byte_offset < 0)
		return firstlineno;
	if (!table)
		len = 0;
	if (version_hex >= PYI_VER(3, 11))
		return loctable_line(table, len, firstlineno, byte_offset);
	if (version_hex >= PYI_VER(3, 10))
		return linetable310_line(table, len, firstlineno, byte_offset);
	return lnotab_line(table, len, firstlineno, byte_offset, version_hex >= PYI_VER(3, 8));
}
