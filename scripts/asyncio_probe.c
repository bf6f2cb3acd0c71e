// SPDX-License-Identifier: MIT
/*
 * Compiled by scripts/gen_asyncio_layouts.sh against ONE CPython (3.11+) with Py_BUILD_CORE:
 * prints "key value" lines for what the asyncio task reader (user/collect/asyncio_tasks.c) walks from
 * outside the process: sys.modules, module and instance dicts, sets, weak references, coroutine
 * objects and their embedded frames. The compiler does the arithmetic; nobody types an offset.
 * The _asyncio Task/Future structs are private to Modules/_asynciomodule.c: the script reads
 * those from the DWARF of that version's _asyncio extension instead.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include <internal/pycore_interp.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_dict.h>
#include <internal/pycore_object.h>
#include <internal/pycore_moduleobject.h>
#if PY_VERSION_HEX >= 0x030D0000
#include <internal/pycore_genobject.h>
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include <internal/pycore_tstate.h>
#endif

#define EMIT(key, val) printf("%s %lld\n", (key), (long long)(val))
#define OFF(key, type, member) EMIT(key, offsetof(type, member))

/* Where a managed dict (and 3.11's values pointer) sit, relative to the object: the headers'
 * own inline accessors applied to a made-up address. */
static void emit_managed_dict(void)
{
	static char fake[256];
	PyObject *o = (PyObject *)(fake + 128);

#if PY_VERSION_HEX >= 0x030D0000
	EMIT("obj_managed_dict", (char *)_PyObject_ManagedDictPointer(o) - (char *)o);
	EMIT("obj_values_ptr", -1);
	EMIT("obj_values_tagged", 0);
	EMIT("obj_inline_values", sizeof(PyObject));	/* _PyObject_InlineValues: basicsize */
	OFF("values_valid", PyDictValues, valid);
	EMIT("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES);
#elif PY_VERSION_HEX >= 0x030C0000
	EMIT("obj_managed_dict", (char *)_PyObject_DictOrValuesPointer(o) - (char *)o);
	EMIT("obj_values_ptr", (char *)_PyObject_DictOrValuesPointer(o) - (char *)o);
	EMIT("obj_values_tagged", 1);	/* bit 0 set: values + 1 (_PyDictOrValues_GetValues) */
	EMIT("obj_inline_values", -1);
	EMIT("values_valid", -1);
	EMIT("tpflags_inline_values", 0);
#else
	EMIT("obj_managed_dict", (char *)_PyObject_ManagedDictPointer(o) - (char *)o);
	EMIT("obj_values_ptr", (char *)_PyObject_ValuesPointer(o) - (char *)o);
	EMIT("obj_values_tagged", 0);
	EMIT("obj_inline_values", -1);
	EMIT("values_valid", -1);
	EMIT("tpflags_inline_values", 0);
#endif
	OFF("values_values", PyDictValues, values);
	EMIT("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
}

static void emit_dict(void)
{
#if PY_VERSION_HEX >= 0x030C0000
	OFF("interp_modules", PyInterpreterState, imports.modules);
#else
	OFF("interp_modules", PyInterpreterState, modules);
#endif
	OFF("dict_used", PyDictObject, ma_used);
	OFF("dict_keys", PyDictObject, ma_keys);
	OFF("dict_values", PyDictObject, ma_values);
	OFF("dk_log2_size", PyDictKeysObject, dk_log2_size);
	OFF("dk_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
	OFF("dk_kind", PyDictKeysObject, dk_kind);
	OFF("dk_nentries", PyDictKeysObject, dk_nentries);
	OFF("dk_indices", PyDictKeysObject, dk_indices);
	EMIT("dk_kind_general", DICT_KEYS_GENERAL);
	EMIT("entry_size", sizeof(PyDictKeyEntry));
	OFF("entry_key", PyDictKeyEntry, me_key);
	OFF("entry_value", PyDictKeyEntry, me_value);
	EMIT("uentry_size", sizeof(PyDictUnicodeEntry));
	OFF("uentry_key", PyDictUnicodeEntry, me_key);
	OFF("uentry_value", PyDictUnicodeEntry, me_value);
	OFF("module_dict", PyModuleObject, md_dict);
	OFF("heaptype_cached_keys", PyHeapTypeObject, ht_cached_keys);
	OFF("type_flags", PyTypeObject, tp_flags);
	OFF("type_basicsize", PyTypeObject, tp_basicsize);
	OFF("type_base", PyTypeObject, tp_base);
	OFF("type_dictoffset", PyTypeObject, tp_dictoffset);
	OFF("type_weaklistoffset", PyTypeObject, tp_weaklistoffset);
}

static void emit_set_weakref(void)
{
	OFF("set_used", PySetObject, used);
	OFF("set_mask", PySetObject, mask);
	OFF("set_table", PySetObject, table);
	EMIT("setentry_size", sizeof(setentry));
	OFF("setentry_key", setentry, key);
	OFF("weakref_object", PyWeakReference, wr_object);
}

static void emit_coroutine(void)
{
	OFF("gen_iframe", PyGenObject, gi_iframe);
	OFF("gen_frame_state", PyGenObject, gi_frame_state);
	EMIT("gen_frame_state_size", sizeof(((PyGenObject *)0)->gi_frame_state));
#if PY_VERSION_HEX >= 0x030E0000
	/* 3.14: a pointer past the top of the value stack replaced the int index */
	EMIT("frame_stacktop", -1);
	OFF("frame_stackpointer", _PyInterpreterFrame, stackpointer);
	/* 3.14 keeps tasks in lists: per thread, and the interpreter's for exited threads */
	OFF("interp_tasks_head", PyInterpreterState, asyncio_tasks_head);
	OFF("tstate_tasks_head", _PyThreadStateImpl, asyncio_tasks_head);
#else
	OFF("frame_stacktop", _PyInterpreterFrame, stacktop);
	EMIT("frame_stackpointer", -1);
	EMIT("interp_tasks_head", -1);
	EMIT("tstate_tasks_head", -1);
#endif
	EMIT("frame_created", FRAME_CREATED);
	EMIT("frame_suspended", FRAME_SUSPENDED);
#if PY_VERSION_HEX >= 0x030D0000
	EMIT("frame_suspended_yield_from", FRAME_SUSPENDED_YIELD_FROM);
#else
	EMIT("frame_suspended_yield_from", FRAME_SUSPENDED);
#endif
	EMIT("frame_executing", FRAME_EXECUTING);
	EMIT("co_coroutine", CO_COROUTINE);
#if PY_VERSION_HEX >= 0x030C0000
	OFF("long_digits", PyLongObject, long_value.ob_digit);
	OFF("long_size", PyLongObject, long_value.lv_tag);
	EMIT("long_size_shift", _PyLong_NON_SIZE_BITS);
#else
	OFF("long_digits", PyLongObject, ob_digit);
	OFF("long_size", PyVarObject, ob_size);
	EMIT("long_size_shift", 0);
#endif
	EMIT("long_digit_bits", PyLong_SHIFT);
}

int main(void)
{
	EMIT("version_hex", PY_VERSION_HEX);
	emit_managed_dict();
	emit_dict();
	emit_set_weakref();
	emit_coroutine();
	return 0;
}
