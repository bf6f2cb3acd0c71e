/* SPDX-License-Identifier: MIT */
/* A code object's line table -> the line frame.f_lineno reports, for CPython 3.6 - 3.14. */
#ifndef PYINST_LINETABLE_H
#define PYINST_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns the line CPython's PyCode_Addr2Line(code, byte_offset) returns, which is what
 * frame.f_lineno reports (when not tracing) for a frame whose current instruction starts at
 * byte_offset; -1 when the instruction has no line (f_lineno is None) or lies past a truncated
 * table (3.10+; a truncated 3.6-3.9 co_lnotab silently gives the last line it reaches).
 *
 * table:	3.6-3.9 co_lnotab, 3.10+ co_linetable (the bytes object's data).
 * byte_offset:	offset in bytes from the first code unit of the bytecode. byte_offset < 0 gives
 *		firstlineno, as CPython does for a frame that has not started (3.11+: LASTI == -1).
 *   3.6-3.9	PyFrameObject.f_lasti as is (it counts bytes).
 *   3.10	PyFrameObject.f_lasti * 2 (f_lasti counts 2-byte code units since bpo-27129).
 *   3.11-3.12	(prev_instr - _PyCode_CODE(co)) * 2: prev_instr is the instruction executing
 *		(or last executed), _PyCode_CODE(co) = (char *)co + offsetof(co_code_adaptive).
 *   3.13+	(instr_ptr - _PyCode_CODE(co)) * 2: instr_ptr is the instruction executing
 *		(gh-105727 replaced prev_instr; a frame that is not executing has moved on).
 * In 3.11+ any offset inside an instruction's inline cache maps to that instruction's line.
 */
int linetable_line(uint32_t version_hex, const uint8_t *table, size_t len, int firstlineno,
		   int byte_offset);

#endif /* PYINST_LINETABLE_H */
