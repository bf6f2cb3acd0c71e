// SPDX-License-Identifier: MIT
/*
 * _Py_DebugOffsets is a char[8] cookie followed only by uint64_t fields, grouped by struct; a
 * layout is therefore the ordered list of its field names, and a field's byte offset in the
 * image is 8 * its position. The lists below name the fields in the order of
 * Include/internal/pycore_runtime.h at v3.13.0 and Include/internal/pycore_debug_offsets.h at
 * v3.14.0 (3.14 moved the struct there and added threads_main, code_object_generation,
 * tlbc_generation, stackpointer, tlbc_index, co_tlbc, set_object, gen_object, llist_node and
 * debugger_support) and in Debian's 3.15.2 headers. The 3.14 and 3.15 lists were checked
 * against offsetof() in Debian unstable's 3.14.10 and 3.15.2 headers: every index matches.
 */
#include <errno.h>
#include <string.h>

#include "debug_offsets.h"

#define DO_COOKIE "xdebugpy"

static const char *const layout_313[] = {
	"cookie", "version", "free_threaded",
	"runtime.size", "runtime.finalizing", "runtime.interpreters_head",
	"interp.size", "interp.id", "interp.next", "interp.threads_head", "interp.gc",
	"interp.imports_modules", "interp.sysdict", "interp.builtins", "interp.ceval_gil",
	"interp.gil_runtime_state", "interp.gil_runtime_state_enabled",
	"interp.gil_runtime_state_locked", "interp.gil_runtime_state_holder",
	"thread.size", "thread.prev", "thread.next", "thread.interp", "thread.current_frame",
	"thread.thread_id", "thread.native_thread_id", "thread.datastack_chunk", "thread.status",
	"frame.size", "frame.previous", "frame.executable", "frame.instr_ptr", "frame.localsplus",
	"frame.owner",
	"code.size", "code.filename", "code.name", "code.qualname", "code.linetable",
	"code.firstlineno", "code.argcount", "code.localsplusnames", "code.localspluskinds",
	"code.co_code_adaptive",
	"pyobject.size", "pyobject.ob_type",
	"type.size", "type.tp_name", "type.tp_repr", "type.tp_flags",
	"tuple.size", "tuple.ob_item", "tuple.ob_size",
	"list.size", "list.ob_item", "list.ob_size",
	"dict.size", "dict.ma_keys", "dict.ma_values",
	"float.size", "float.ob_fval",
	"long.size", "long.lv_tag", "long.ob_digit",
	"bytes.size", "bytes.ob_size", "bytes.ob_sval",
	"unicode.size", "unicode.state", "unicode.length", "unicode.asciiobject_size",
	"gc.size", "gc.collecting",
	NULL,
};

static const char *const layout_314[] = {
	"cookie", "version", "free_threaded",
	"runtime.size", "runtime.finalizing", "runtime.interpreters_head",
	"interp.size", "interp.id", "interp.next", "interp.threads_head", "interp.threads_main",
	"interp.gc", "interp.imports_modules", "interp.sysdict", "interp.builtins",
	"interp.ceval_gil", "interp.gil_runtime_state", "interp.gil_runtime_state_enabled",
	"interp.gil_runtime_state_locked", "interp.gil_runtime_state_holder",
	"interp.code_object_generation", "interp.tlbc_generation",
	"thread.size", "thread.prev", "thread.next", "thread.interp", "thread.current_frame",
	"thread.thread_id", "thread.native_thread_id", "thread.datastack_chunk", "thread.status",
	"frame.size", "frame.previous", "frame.executable", "frame.instr_ptr", "frame.localsplus",
	"frame.owner", "frame.stackpointer", "frame.tlbc_index",
	"code.size", "code.filename", "code.name", "code.qualname", "code.linetable",
	"code.firstlineno", "code.argcount", "code.localsplusnames", "code.localspluskinds",
	"code.co_code_adaptive", "code.co_tlbc",
	"pyobject.size", "pyobject.ob_type",
	"type.size", "type.tp_name", "type.tp_repr", "type.tp_flags",
	"tuple.size", "tuple.ob_item", "tuple.ob_size",
	"list.size", "list.ob_item", "list.ob_size",
	"set.size", "set.used", "set.table", "set.mask",
	"dict.size", "dict.ma_keys", "dict.ma_values",
	"float.size", "float.ob_fval",
	"long.size", "long.lv_tag", "long.ob_digit",
	"bytes.size", "bytes.ob_size", "bytes.ob_sval",
	"unicode.size", "unicode.state", "unicode.length", "unicode.asciiobject_size",
	"gc.size", "gc.collecting",
	"gen.size", "gen.gi_name", "gen.gi_iframe", "gen.gi_frame_state",
	"llist_node.next", "llist_node.prev",
	"debugger.eval_breaker", "debugger.remote_debugger_support",
	"debugger.remote_debugging_enabled", "debugger.debugger_pending_call",
	"debugger.debugger_script_path", "debugger.debugger_script_path_size",
	NULL,
};

/* 3.15 added thread base/profiled frames, GIL and exception state, err_stackitem, type sizes,
 * heap_type_object, the compact unicode size and gc frame/generation statistics. */
static const char *const layout_315[] = {
	"cookie", "version", "free_threaded",
	"runtime.size", "runtime.finalizing", "runtime.interpreters_head",
	"interp.size", "interp.id", "interp.next", "interp.threads_head", "interp.threads_main",
	"interp.gc", "interp.imports_modules", "interp.sysdict", "interp.builtins",
	"interp.ceval_gil", "interp.gil_runtime_state", "interp.gil_runtime_state_enabled",
	"interp.gil_runtime_state_locked", "interp.gil_runtime_state_holder",
	"interp.code_object_generation", "interp.tlbc_generation",
	"thread.size", "thread.prev", "thread.next", "thread.interp", "thread.current_frame",
	"thread.base_frame", "thread.last_profiled_frame", "thread.last_profiled_frame_seq",
	"thread.thread_id", "thread.native_thread_id", "thread.datastack_chunk", "thread.status",
	"thread.holds_gil", "thread.gil_requested", "thread.current_exception",
	"thread.exc_state",
	"err_stackitem.exc_value",
	"frame.size", "frame.previous", "frame.executable", "frame.instr_ptr", "frame.localsplus",
	"frame.owner", "frame.stackpointer", "frame.tlbc_index",
	"code.size", "code.filename", "code.name", "code.qualname", "code.linetable",
	"code.firstlineno", "code.argcount", "code.localsplusnames", "code.localspluskinds",
	"code.co_code_adaptive", "code.co_tlbc",
	"pyobject.size", "pyobject.ob_type",
	"type.size", "type.tp_name", "type.tp_repr", "type.tp_flags", "type.tp_basicsize",
	"type.tp_dictoffset",
	"heap_type.size", "heap_type.ht_cached_keys",
	"tuple.size", "tuple.ob_item", "tuple.ob_size",
	"list.size", "list.ob_item", "list.ob_size",
	"set.size", "set.used", "set.table", "set.mask",
	"dict.size", "dict.ma_keys", "dict.ma_values",
	"float.size", "float.ob_fval",
	"long.size", "long.lv_tag", "long.ob_digit",
	"bytes.size", "bytes.ob_size", "bytes.ob_sval",
	"unicode.size", "unicode.state", "unicode.length", "unicode.asciiobject_size",
	"unicode.compactunicodeobject_size",
	"gc.size", "gc.collecting", "gc.frame", "gc.generation_stats_size", "gc.generation_stats",
	"gen.size", "gen.gi_name", "gen.gi_iframe", "gen.gi_frame_state",
	"llist_node.next", "llist_node.prev",
	"debugger.eval_breaker", "debugger.remote_debugger_support",
	"debugger.remote_debugging_enabled", "debugger.debugger_pending_call",
	"debugger.debugger_script_path", "debugger.debugger_script_path_size",
	NULL,
};

/* Where a debug offset lands in struct pyi_layout, and how wide that field is. */
struct do_map {
	const char *name;
	size_t dst;
	int wide;	/* 1: int32_t extra, 0: __s16 in struct pyi_offsets */
};

#define OFF16(n, f) { n, offsetof(struct pyi_layout, off.f), 0 }
#define OFF32(n, f) { n, offsetof(struct pyi_layout, f), 1 }

static const struct do_map do_fields[] = {
	OFF32("runtime.interpreters_head", runtime_interpreters_head),
	OFF16("interp.next", interp_next),
	OFF16("interp.threads_head", interp_tstate_head),
	OFF32("interp.ceval_gil", interp_ceval_gil),
	OFF32("thread.prev", tstate_prev),
	OFF16("thread.next", tstate_next),
	OFF16("thread.interp", tstate_interp),
	OFF16("thread.current_frame", tstate_frame),
	OFF16("thread.thread_id", tstate_thread_id),
	OFF16("thread.native_thread_id", tstate_native_thread_id),
	OFF16("frame.previous", frame_previous),
	OFF16("frame.executable", frame_code),
	OFF16("frame.instr_ptr", frame_instr),
	OFF16("frame.localsplus", frame_localsplus),
	OFF16("frame.owner", frame_owner),
	OFF32("code.size", code_size),
	OFF16("code.filename", code_filename),
	OFF16("code.name", code_name),
	OFF16("code.qualname", code_qualname),
	OFF16("code.linetable", code_linetable),
	OFF16("code.firstlineno", code_firstlineno),
	OFF16("code.argcount", code_argcount),
	OFF16("code.localsplusnames", code_varnames),
	OFF16("code.co_code_adaptive", code_adaptive),
	OFF16("pyobject.ob_type", object_type),
	OFF16("type.tp_name", type_name),
	OFF16("tuple.ob_item", tuple_item),
	OFF16("bytes.ob_size", bytes_size),
	OFF16("bytes.ob_sval", bytes_data),
	OFF16("unicode.state", unicode_state),
	OFF16("unicode.length", unicode_length),
	OFF16("unicode.asciiobject_size", unicode_ascii_size),
};

/* The parsed header and the layout its version uses. */
struct do_image {
	const uint8_t *p;
	size_t len;
	const char *const *names;
	uint64_t version;
	char vstr[32];
};

static void version_string(uint64_t v, char *buf, size_t sz)
{
	unsigned int lv = (v >> 4) & 0xf, serial = v & 0xf;

	snprintf(buf, sz, "%u.%u.%u", (unsigned int)(v >> 24) & 0xff,
		 (unsigned int)(v >> 16) & 0xff, (unsigned int)(v >> 8) & 0xff);
	if (lv == 0xa || lv == 0xb || lv == 0xc) {
		size_t n = strlen(buf);

		snprintf(buf + n, sz - n, "%s%u", lv == 0xa ? "a" : lv == 0xb ? "b" : "rc", serial);
	}
}

static long field_index(const char *const *names, const char *name)
{
	for (long i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static uint64_t field(const struct do_image *img, const char *name)
{
	long i = field_index(img->names, name);
	uint64_t v;

	memcpy(&v, img->p + i * 8, sizeof(v));
	return v;
}

static int do_open(const uint8_t *image, size_t len, struct do_image *img, char *err,
		   size_t errsz)
{
	uint64_t ft;
	size_t need;

	img->p = image;
	img->len = len;
	if (len < 24 || memcmp(image, DO_COOKIE, 8) != 0) {
		snprintf(err, errsz, "no _Py_DebugOffsets: the image does not start with \"%s\"",
			 DO_COOKIE);
		return -EINVAL;
	}
	memcpy(&img->version, image + 8, 8);
	memcpy(&ft, image + 16, 8);
	version_string(img->version, img->vstr, sizeof(img->vstr));
	if (ft) {
		snprintf(err, errsz, "CPython %s is a free-threaded build (Py_GIL_DISABLED): "
			 "not supported", img->vstr);
		return -ENOTSUP;
	}
	switch (img->version >> 16) {
	case 0x030D: img->names = layout_313; break;
	case 0x030E: img->names = layout_314; break;
	case 0x030F: img->names = layout_315; break;
	default:
		snprintf(err, errsz, "CPython %s (0x%08llx): its _Py_DebugOffsets layout is "
			 "unknown (3.13 to 3.15 are)", img->vstr, (unsigned long long)img->version);
		return -ENOTSUP;
	}
	need = 0;
	while (img->names[need])
		need++;
	need *= 8;
	if (len < need) {
		snprintf(err, errsz, "CPython %s: _Py_DebugOffsets needs %zu bytes, image has %zu",
			 img->vstr, need, len);
		return -EINVAL;
	}
	return 0;
}

static int set_field(struct pyi_layout *out, const struct do_map *m, uint64_t v)
{
	char *dst = (char *)out + m->dst;

	if (m->wide) {
		int32_t w = (int32_t)v;

		if (v > INT32_MAX)
			return -ERANGE;
		memcpy(dst, &w, sizeof(w));
	} else {
		__s16 w = (__s16)v;

		if (v > INT16_MAX)
			return -ERANGE;
		memcpy(dst, &w, sizeof(w));
	}
	return 0;
}

static int32_t get_field(const struct pyi_layout *lay, const struct do_map *m)
{
	const char *src = (const char *)lay + m->dst;
	int32_t w;
	__s16 h;

	if (m->wide) {
		memcpy(&w, src, sizeof(w));
		return w;
	}
	memcpy(&h, src, sizeof(h));
	return h;
}

/*
 * The GIL: _Py_DebugOffsets gives the main interpreter's own GIL (interp->_gil) and its fields
 * as offsets in PyInterpreterState; we keep them relative to struct _gil_runtime_state, which is
 * what interp->ceval.gil points at.
 */
static int64_t gil_member(const struct do_image *img, const char *name)
{
	return (int64_t)field(img, name) - (int64_t)field(img, "interp.gil_runtime_state");
}

int debug_offsets_apply(const uint8_t *image, size_t len, struct pyi_layout *out, char *err,
			size_t errsz)
{
	const struct pyi_layout *base;
	struct do_image img;
	int rc = do_open(image, len, &img, err, errsz);

	if (rc)
		return rc;
	base = layouts_find((uint32_t)img.version);
	if (!base) {
		snprintf(err, errsz, "CPython %s: no generated layout", img.vstr);
		return -ENOTSUP;
	}
	*out = *base;
	out->off.version_hex = (__u32)img.version;
	for (size_t i = 0; i < sizeof(do_fields) / sizeof(do_fields[0]); i++) {
		if (set_field(out, &do_fields[i], field(&img, do_fields[i].name))) {
			snprintf(err, errsz, "CPython %s: _Py_DebugOffsets %s = %llu out of range",
				 img.vstr, do_fields[i].name,
				 (unsigned long long)field(&img, do_fields[i].name));
			return -EINVAL;
		}
	}
	out->gil_locked = (int32_t)gil_member(&img, "interp.gil_runtime_state_locked");
	out->gil_last_holder = (int32_t)gil_member(&img, "interp.gil_runtime_state_holder");
	/* 3.13 to 3.15 (cpython/code.h): int _co_firsttraceable; void *co_extra; then the code */
	out->off.code_firsttraceable = (__s16)(out->off.code_adaptive - 16);
	out->derived = false;
	return 0;
}

int debug_offsets_verify(const uint8_t *image, size_t len, const struct pyi_layout *lay, FILE *f)
{
	struct pyi_layout got;
	char err[160];
	int rc = debug_offsets_apply(image, len, &got, err, sizeof(err)), bad = 0;

	if (rc) {
		if (f)
			fprintf(f, "debug_offsets: %s\n", err);
		return rc;
	}
	for (size_t i = 0; i < sizeof(do_fields) / sizeof(do_fields[0]); i++) {
		int32_t want = get_field(lay, &do_fields[i]), have = get_field(&got, &do_fields[i]);

		if (want == -1 || want == have)
			continue;
		bad++;
		if (f)
			fprintf(f, "debug_offsets: %s: table %d, target %d\n", do_fields[i].name,
				want, have);
	}
	if (lay->gil_locked != -1 && lay->gil_locked != got.gil_locked) {
		bad++;
		if (f)
			fprintf(f, "debug_offsets: gil locked: table %d, target %d\n",
				lay->gil_locked, got.gil_locked);
	}
	if (lay->gil_last_holder != -1 && lay->gil_last_holder != got.gil_last_holder) {
		bad++;
		if (f)
			fprintf(f, "debug_offsets: gil last_holder: table %d, target %d\n",
				lay->gil_last_holder, got.gil_last_holder);
	}
	return bad;
}
