// SPDX-License-Identifier: MIT
/*
 * Compiled by scripts/gen_layouts.sh against ONE CPython's own headers (with Py_BUILD_CORE so the
 * internal structs are visible) and run on the build host: prints "key value" lines, one per
 * field of struct pyi_offsets and struct pyi_layout, -1 for a field the version does not have.
 * The compiler does the arithmetic; nobody types an offset.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif

/* Where the runtime structs live moved twice: internal/pystate.h (3.7), pycore_pystate.h (3.8),
 * pycore_interp.h + pycore_runtime.h (3.9+). */
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#elif PY_VERSION_HEX >= 0x03080000
#include <internal/pycore_pystate.h>
#elif PY_VERSION_HEX >= 0x03070000
#include <internal/pystate.h>
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#include <internal/pycore_code.h>
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include <internal/pycore_stackref.h>
#endif

#define EMIT(key, val) printf("%s %lld\n", (key), (long long)(val))
#define OFF(key, type, member) EMIT(key, offsetof(type, member))
#define NONE(key) EMIT(key, -1)

static void emit_threads(void)
{
	OFF("interp_next", PyInterpreterState, next);
#if PY_VERSION_HEX >= 0x030B0000
	/* 3.11 grouped the thread list into interp->threads (bpo-46008 era refactor) */
	OFF("interp_tstate_head", PyInterpreterState, threads.head);
#else
	OFF("interp_tstate_head", PyInterpreterState, tstate_head);
#endif
	OFF("tstate_next", PyThreadState, next);
	OFF("tstate_prev", PyThreadState, prev);
	OFF("tstate_interp", PyThreadState, interp);
#if PY_VERSION_HEX >= 0x030D0000
	OFF("tstate_frame", PyThreadState, current_frame);
	NONE("cframe_current_frame");
#elif PY_VERSION_HEX >= 0x030B0000
	OFF("tstate_frame", PyThreadState, cframe);
	OFF("cframe_current_frame", _PyCFrame, current_frame);
#else
	OFF("tstate_frame", PyThreadState, frame);
	NONE("cframe_current_frame");
#endif
	OFF("tstate_thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030B0000
	OFF("tstate_native_thread_id", PyThreadState, native_thread_id);
#else
	NONE("tstate_native_thread_id");
#endif
}

static void emit_frame(void)
{
#if PY_VERSION_HEX >= 0x030D0000
	OFF("frame_code", _PyInterpreterFrame, f_executable);
	OFF("frame_previous", _PyInterpreterFrame, previous);
	OFF("frame_instr", _PyInterpreterFrame, instr_ptr);
#elif PY_VERSION_HEX >= 0x030B0000
	OFF("frame_code", _PyInterpreterFrame, f_code);
	OFF("frame_previous", _PyInterpreterFrame, previous);
	OFF("frame_instr", _PyInterpreterFrame, prev_instr);
#else
	OFF("frame_code", PyFrameObject, f_code);
	OFF("frame_previous", PyFrameObject, f_back);
	OFF("frame_instr", PyFrameObject, f_lasti);
#endif
#if PY_VERSION_HEX >= 0x030B0000
	OFF("frame_owner", _PyInterpreterFrame, owner);
	OFF("frame_localsplus", _PyInterpreterFrame, localsplus);
#else
	NONE("frame_owner");
	OFF("frame_localsplus", PyFrameObject, f_localsplus);
#endif
#if PY_VERSION_HEX >= 0x030F0000
	/* 3.15 dropped FRAME_OWNED_BY_CSTACK: every owner from INTERPRETER up is not Python's
	 * (pycore_interpframe.h _PyFrame_IsIncomplete) */
	EMIT("frame_owner_cstack", FRAME_OWNED_BY_INTERPRETER);
	NONE("frame_is_entry");
#elif PY_VERSION_HEX >= 0x030C0000
	EMIT("frame_owner_cstack", FRAME_OWNED_BY_CSTACK);
	NONE("frame_is_entry");
#elif PY_VERSION_HEX >= 0x030B0000
	/* 3.11 marks the C-entered frame with a bool, not an owner value */
	NONE("frame_owner_cstack");
	OFF("frame_is_entry", _PyInterpreterFrame, is_entry);
#else
	NONE("frame_owner_cstack");
	NONE("frame_is_entry");
#endif
#if PY_VERSION_HEX >= 0x030E0000 && !defined(Py_GIL_DISABLED)
	/* f_executable is a _PyStackRef: PyStackRef_AsPyObjectBorrow clears Py_TAG_REFCNT only */
	EMIT("frame_code_tag_mask", Py_TAG_REFCNT);
#else
	EMIT("frame_code_tag_mask", 0);
#endif
}

static void emit_code(void)
{
	OFF("code_argcount", PyCodeObject, co_argcount);
	OFF("code_flags", PyCodeObject, co_flags);
	OFF("code_firstlineno", PyCodeObject, co_firstlineno);
	OFF("code_name", PyCodeObject, co_name);
	OFF("code_filename", PyCodeObject, co_filename);
#if PY_VERSION_HEX >= 0x030B0000
	OFF("code_qualname", PyCodeObject, co_qualname);
	OFF("code_varnames", PyCodeObject, co_localsplusnames);
	OFF("code_firsttraceable", PyCodeObject, _co_firsttraceable);
	OFF("code_adaptive", PyCodeObject, co_code_adaptive);
	NONE("code_code");
#else
	NONE("code_qualname");
	OFF("code_varnames", PyCodeObject, co_varnames);
	NONE("code_firsttraceable");
	NONE("code_adaptive");
	OFF("code_code", PyCodeObject, co_code);
#endif
#if PY_VERSION_HEX >= 0x030A0000
	OFF("code_linetable", PyCodeObject, co_linetable);
#else
	OFF("code_linetable", PyCodeObject, co_lnotab);
#endif
	EMIT("code_size", sizeof(PyCodeObject));
}

/* Bit positions of PyASCIIObject.state's bitfields, found by setting each one in a scratch
 * object: the layout changed in 3.12 (ready and wstr gone, statically_allocated added). */
static int first_bit(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n * 8; i++)
		if (b[i / 8] & (1u << (i % 8)))
			return (int)i;
	return -1;
}

static void emit_unicode(void)
{
	PyASCIIObject a;

	OFF("unicode_length", PyASCIIObject, length);
	OFF("unicode_state", PyASCIIObject, state);
	EMIT("unicode_ascii_size", sizeof(PyASCIIObject));
	EMIT("unicode_compact_size", sizeof(PyCompactUnicodeObject));
	memset(&a.state, 0, sizeof(a.state));
	a.state.kind = 7;
	EMIT("unicode_kind_shift", first_bit(&a.state, sizeof(a.state)));
	memset(&a.state, 0, sizeof(a.state));
	a.state.compact = 1;
	EMIT("unicode_compact_bit", first_bit(&a.state, sizeof(a.state)));
	memset(&a.state, 0, sizeof(a.state));
	a.state.ascii = 1;
	EMIT("unicode_ascii_bit", first_bit(&a.state, sizeof(a.state)));
}

static void emit_objects(void)
{
	OFF("object_type", PyObject, ob_type);
	OFF("type_name", PyTypeObject, tp_name);
	OFF("tuple_item", PyTupleObject, ob_item);
	OFF("bytes_size", PyVarObject, ob_size);
	OFF("bytes_data", PyBytesObject, ob_sval);
}

/* Process-wide roots: where user space finds the interpreter list, the GIL and the TSS key. */
static void emit_runtime(void)
{
#if PY_VERSION_HEX >= 0x03070000
	OFF("runtime_interpreters_head", _PyRuntimeState, interpreters.head);
#else
	NONE("runtime_interpreters_head");
#endif
#if PY_VERSION_HEX >= 0x030C0000
	/* gh-104341 (3.12): each interpreter points at its GIL, the main one at interp->_gil */
	NONE("runtime_gil_locked");
	NONE("runtime_gil_last_holder");
	NONE("runtime_tstate_current");
	OFF("interp_ceval_gil", PyInterpreterState, ceval.gil);
	OFF("gil_locked", struct _gil_runtime_state, locked);
	OFF("gil_last_holder", struct _gil_runtime_state, last_holder);
#if PY_VERSION_HEX >= 0x030E0000
	NONE("runtime_autotsskey");	/* gh-131185: a C thread-local replaced it */
#else
	OFF("runtime_autotsskey", _PyRuntimeState, autoTSSkey);
#endif
#elif PY_VERSION_HEX >= 0x03070000
	OFF("runtime_gil_locked", _PyRuntimeState, ceval.gil.locked);
	OFF("runtime_gil_last_holder", _PyRuntimeState, ceval.gil.last_holder);
	OFF("runtime_tstate_current", _PyRuntimeState, gilstate.tstate_current);
	NONE("interp_ceval_gil");
	NONE("gil_locked");
	NONE("gil_last_holder");
	OFF("runtime_autotsskey", _PyRuntimeState, gilstate.autoTSSkey);
#else
	NONE("runtime_gil_locked");
	NONE("runtime_gil_last_holder");
	NONE("runtime_tstate_current");
	NONE("interp_ceval_gil");
	NONE("gil_locked");
	NONE("gil_last_holder");
	NONE("runtime_autotsskey");
#endif
#if PY_VERSION_HEX >= 0x03070000
	OFF("tss_key", Py_tss_t, _key);
#else
	NONE("tss_key");
#endif
#if PY_VERSION_HEX >= 0x030D0000
	EMIT("runtime_debug_offsets", offsetof(_PyRuntimeState, debug_offsets));
#else
	NONE("runtime_debug_offsets");
#endif
}

int main(void)
{
	EMIT("version_hex", PY_VERSION_HEX);
	printf("version_str %s\n", PY_VERSION);
	emit_threads();
	emit_frame();
	emit_code();
	emit_unicode();
	emit_objects();
	emit_runtime();
	return 0;
}
