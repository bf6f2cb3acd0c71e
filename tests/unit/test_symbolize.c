// SPDX-License-Identifier: MIT
/*
 * The symbolizer on its own: code records checked before they reach the mirror, hostile names
 * kept inside their field, frames interned once per session, what is counted as unresolved.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pyinst_abi.h"
#include "python_layouts.h"
#include "session.h"
#include "symbolize.h"

#define PID	5000001	/* above PID_MAX_LIMIT: no such process */
#define CODE	0x7f33000c0de0ULL

struct fixture {
	struct symbolizer *sy;
	struct session *s;
	struct pyi_offsets off;
	struct sym_target t;
	struct pyi_code *rec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->sy = symbolizer__new(2);
	f->s = session__new();
	f->rec = calloc(1, sizeof(*f->rec));
	assert_non_null(f->sy);
	assert_non_null(f->s);
	assert_non_null(f->rec);
	f->t = (struct sym_target){ .pid = PID, .version_hex = 0x030c00f0, .off = &f->off };
	f->rec->type = PYI_REC_CODE;
	f->rec->pid = PID;
	f->rec->code = CODE;
	f->rec->cookie = 7;
	f->rec->firstlineno = 3;
	f->rec->slot = pyi_code_slot(CODE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	symbolizer__free(f->sy);
	session__free(f->s);
	free(f->rec);
	free(f);
	return 0;
}

static void set_str(struct pyi_str *s, const char *text, size_t n)
{
	s->length = (__u32)n;
	s->nbytes = (__u16)n;
	s->kind = 1;
	s->ok = 1;
	memcpy(s->data, text, n);
}

static uint32_t frame(struct fixture *f, uint32_t row, uint32_t cookie, int32_t lasti)
{
	struct pyi_frame fr = { .code = CODE, .cookie = cookie, .lasti = lasti };

	return symbolizer_frame(f->sy, f->s, &f->t, row, &fr);
}

static void expect_info(struct fixture *f, uint32_t id, const char *want, size_t want_len)
{
	size_t len;
	const char *info;

	assert_int_not_equal(id, SESSION_NO_FRAME);
	info = session_frame_info(f->s, id, &len);
	if (len != want_len || memcmp(info, want, len)) {
		print_message("frame_info: ");
		for (size_t i = 0; i < len; i++)
			print_message((unsigned char)info[i] < 0x20 ? "\\x%02x" : "%c",
				      (unsigned char)info[i]);
		print_message("\n");
		fail();
	}
}

#define EXPECT_INFO(f, id, lit) expect_info(f, id, lit, sizeof(lit) - 1)

/* A record naming a row, slot or line table size outside the kernel's is refused whole. */
static void test_symbolize_add_code_bounds(void **state)
{
	struct fixture *f = *state;
	struct symbolizer_stats st;

	set_str(&f->rec->name, "f", 1);
	set_str(&f->rec->filename, "m.py", 4);
	f->rec->row = 2;	/* rows 0 and 1 only */
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), -EINVAL);
	f->rec->row = 1;
	f->rec->slot = PYI_CODE_CACHE_SLOTS;
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), -EINVAL);
	f->rec->slot = pyi_code_slot(CODE);
	f->rec->linetable_copied = PYI_LINETABLE_MAX + 1;
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), -EINVAL);
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.codes, 0);
	EXPECT_INFO(f, frame(f, 1, 7, 0), "<unknown>\0<unknown>\0" "0");
	f->rec->linetable_copied = PYI_LINETABLE_MAX;
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.codes, 1);
	assert_int_equal(st.unresolved, 1);
	EXPECT_INFO(f, frame(f, 1, 7, 0), "f\0m.py\0" "3");
}

/* frame_info separates fields with NUL and attributes with \x01: a name may hold neither. */
static void test_symbolize_hostile_names(void **state)
{
	struct fixture *f = *state;

	set_str(&f->rec->name, "a\x01" "cEvil\0b", 9);
	set_str(&f->rec->filename, "x\x01l9.py", 7);
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	/* U+0000 cannot be UTF-8 either: it is U+FFFD (pystr.h) */
	EXPECT_INFO(f, frame(f, 0, 7, 0), "a?cEvil\xef\xbf\xbd" "b\0x?l9.py\0" "3");
}

/* A name the kernel could not read is <unknown>; the frame still has its file and line. */
static void test_symbolize_unreadable_name(void **state)
{
	struct fixture *f = *state;

	set_str(&f->rec->filename, "m.py", 4);
	f->rec->name.ok = 0;
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	EXPECT_INFO(f, frame(f, 0, 7, 0), "<unknown>\0m.py\0" "3");
}

/* A frame is interned once; ids belong to a session, so a new session starts them over. */
static void test_symbolize_frame_ids_per_session(void **state)
{
	struct fixture *f = *state;
	struct symbolizer_stats st;
	struct session *old = f->s;
	uint32_t id;

	set_str(&f->rec->name, "f", 1);
	set_str(&f->rec->filename, "m.py", 4);
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	id = frame(f, 0, 7, 0);
	assert_int_equal(frame(f, 0, 7, 0), id);
	assert_int_equal(frame(f, 1, 7, 0), id);	/* known: any row's sample */
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.frame_cache_entries, 1);
	/* a new window: a session with other frames first */
	f->s = session__new();
	assert_non_null(f->s);
	session_intern_frame(f->s, "x\0y\0" "1", 5);
	session_intern_frame(f->s, "z\0y\0" "1", 5);
	symbolizer_forget_frames(f->sy);
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.frame_cache_entries, 0);
	EXPECT_INFO(f, frame(f, 0, 7, 0), "f\0m.py\0" "3");
	session__free(old);
}

/* 3.11+ only: a frame before its first traceable instruction has not started. */
static void test_symbolize_incomplete_frame(void **state)
{
	struct fixture *f = *state;

	set_str(&f->rec->name, "f", 1);
	set_str(&f->rec->filename, "m.py", 4);
	f->rec->firsttraceable = 2;
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	assert_int_equal(frame(f, 0, 7, 2), SESSION_NO_FRAME);
	assert_int_equal(frame(f, 0, 7, -1), SESSION_NO_FRAME);
	EXPECT_INFO(f, frame(f, 0, 7, 4), "f\0m.py\0" "3");
	f->t.version_hex = 0x030a00f0;	/* 3.10 has no such frames */
	symbolizer_forget(f->sy, PID);
	EXPECT_INFO(f, frame(f, 0, 7, 2), "f\0m.py\0" "3");
}

/* Unknown frames are counted each time and not cached: a later record still names them. */
static void test_symbolize_unresolved_not_cached(void **state)
{
	struct fixture *f = *state;
	struct symbolizer_stats st;

	EXPECT_INFO(f, frame(f, 0, 7, 0), "<unknown>\0<unknown>\0" "0");
	EXPECT_INFO(f, frame(f, 0, 7, 0), "<unknown>\0<unknown>\0" "0");
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.unresolved, 2);
	assert_int_equal(st.frame_cache_entries, 0);
	set_str(&f->rec->name, "late", 4);
	set_str(&f->rec->filename, "m.py", 4);
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	EXPECT_INFO(f, frame(f, 0, 7, 0), "late\0m.py\0" "3");
	/* a row past the mirror's: left out, not an out-of-bounds read */
	assert_int_equal(frame(f, 2, 7, 8), SESSION_NO_FRAME);
}

/*
 * Two code objects of one stack in one cache slot: the kernel describes the first, then the
 * second in its place, then sends the sample. The first is still named (it may be freed by
 * the time its sample is read: a class body, a module's code).
 */
static void test_symbolize_slot_shared_in_one_stack(void **state)
{
	struct fixture *f = *state;
	uint64_t other = CODE + 16;
	struct pyi_frame fr = { .cookie = 9, .lasti = 0 };
	struct symbolizer_stats st;

	while (pyi_code_slot(other) != pyi_code_slot(CODE))
		other += 16;
	fr.code = other;
	set_str(&f->rec->name, "StrEnum", 7);
	set_str(&f->rec->filename, "enum.py", 7);
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	f->rec->code = other;
	f->rec->cookie = 9;
	set_str(&f->rec->name, "_find_and_load", 14);
	set_str(&f->rec->filename, "<frozen>", 8);
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	EXPECT_INFO(f, frame(f, 0, 7, 0), "StrEnum\0enum.py\0" "3");
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr),
		    "_find_and_load\0<frozen>\0" "3");
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.unresolved, 0);
	/* another pid's, or another object's at that address (cookie), is not taken for it */
	f->t.pid = PID + 1;
	EXPECT_INFO(f, frame(f, 0, 7, 0), "<unknown>\0<unknown>\0" "0");
	f->t.pid = PID;
	EXPECT_INFO(f, frame(f, 0, 8, 0), "<unknown>\0<unknown>\0" "0");
}

/* ---- objects read from the target (here: this process) ------------------------------------ */

/* A compact ASCII str object of layout l in buf (its data inline after the header). */
static void fake_str(const struct pyi_layout *l, uint8_t *buf, const char *text)
{
	int64_t len = (int64_t)strlen(text);
	uint32_t state = 1u << l->unicode_compact_bit | 1u << l->unicode_ascii_bit |
			 1u << l->unicode_kind_shift;

	memcpy(buf + l->off.unicode_length, &len, sizeof(len));
	memcpy(buf + l->off.unicode_state, &state, sizeof(state));
	memcpy(buf + l->off.unicode_ascii_size, text, (size_t)len + 1);
}

static void put_u64(uint8_t *b, int off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void put_s32(uint8_t *b, int off, int32_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

struct fake_code {
	uint8_t code[512], name[512], file[512], table[128];
};

/* The cookie the kernel computes for the object (pyinst_abi.h). */
static uint32_t fake_cookie(const struct pyi_layout *l, const struct fake_code *fc)
{
	__u64 window[PYI_NAME_WINDOW / 8];

	memcpy(window, fc->name + l->off.unicode_length, sizeof(window));
	return pyi_cookie((uintptr_t)fc->name, (uintptr_t)fc->file, (uintptr_t)fc->table, 40, 3,
			  window);
}

/*
 * A code object the kernel did not describe is read from the live process, and taken only if
 * its cookie matches the one the kernel computed when it sampled the frame: an object freed and
 * replaced since (another name where the old one was) is not named after its successor.
 */
static void test_symbolize_read_here_checks_cookie(void **state)
{
	struct fixture *f = *state;
	const struct pyi_layout *l = layouts_find(0x030b00f0);
	static const uint8_t table[] = { 0x80 | (10 << 3) | 1, 1, 4, 0x80 | (12 << 3) | 1, 1, 4 };
	struct fake_code *fc = calloc(1, sizeof(*fc));
	static const char type_marker = 0;
	struct symbolizer_stats st;
	struct pyi_frame fr = { .lasti = 4 };
	uint64_t size = sizeof(table);

	assert_non_null(l);
	assert_non_null(fc);
	fake_str(l, fc->name, "handler");
	fake_str(l, fc->file, "/srv/app.py");
	put_u64(fc->table, l->off.bytes_size, size);
	memcpy(fc->table + l->off.bytes_data, table, sizeof(table));
	put_u64(fc->code, l->off.object_type, (uintptr_t)&type_marker);
	put_u64(fc->code, l->off.code_name, (uintptr_t)fc->name);
	put_u64(fc->code, l->off.code_filename, (uintptr_t)fc->file);
	put_u64(fc->code, l->off.code_linetable, (uintptr_t)fc->table);
	put_s32(fc->code, l->off.code_firstlineno, 40);
	put_s32(fc->code, l->off.code_flags, 3);
	f->t = (struct sym_target){
		.pid = getpid(), .version_hex = 0x030b00f0, .layout = l, .off = &l->off,
		.code_type = (uintptr_t)&type_marker,
	};
	fr.code = (uintptr_t)fc->code;
	fr.cookie = fake_cookie(l, fc);
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr),
		    "handler\0/srv/app.py\0" "40\x01l42");
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.read_here, 1);
	assert_int_equal(st.unresolved, 0);
	/* freed, and a new object where it was: same pointers, another name */
	fake_str(l, fc->name, "other");
	fr.lasti = 0;
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr), "<unknown>\0<unknown>\0" "0");
	/* the new object under its own cookie */
	fr.cookie = fake_cookie(l, fc);
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr),
		    "other\0/srv/app.py\0" "40\x01l40");
	/* memory that is no longer a code object */
	put_u64(fc->code, l->off.object_type, 0);
	fr.lasti = 2;
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr), "<unknown>\0<unknown>\0" "0");
	symbolizer_stats(f->sy, &st);
	assert_int_equal(st.read_here, 2);
	assert_int_equal(st.unresolved, 2);
	free(fc);
}

/* A type object of layout l: its tp_name, and its own type. */
struct fake_type {
	uint8_t obj[512];
	char name[64];
};

static void fake_type(const struct pyi_layout *l, struct fake_type *ft, const char *name,
		      const void *meta)
{
	snprintf(ft->name, sizeof(ft->name), "%s", name);
	put_u64(ft->obj, l->off.type_name, (uintptr_t)ft->name);
	put_u64(ft->obj, l->off.object_type, (uintptr_t)meta);
}

/*
 * The class of a method's first argument (self's type, or cls checked to be a type) is read
 * from the target: its short name, control characters replaced, forgotten with the process.
 */
static void test_symbolize_class_names(void **state)
{
	struct fixture *f = *state;
	const struct pyi_layout *l = layouts_find(0x030b00f0);
	struct fake_type *types = calloc(5, sizeof(*types));
	struct pyi_frame fr = { .code = CODE, .cookie = 7 };

	assert_non_null(l);
	assert_non_null(types);
	set_str(&f->rec->name, "run", 3);
	set_str(&f->rec->filename, "m.py", 4);
	f->rec->pid = (__u32)getpid();
	assert_int_equal(symbolizer_add_code(f->sy, f->rec), 0);
	f->t = (struct sym_target){
		.pid = getpid(), .version_hex = 0x030b00f0, .layout = l, .off = &l->off,
		.type_type = (uintptr_t)types[0].obj,
	};
	fake_type(l, &types[0], "type", types[0].obj);
	fake_type(l, &types[1], "pkg.mod.Wid\x1b[0mget", types[0].obj);
	fake_type(l, &types[2], "pkg.Meta", types[0].obj);		/* a metaclass */
	fake_type(l, &types[3], "pkg.Meta.Model", types[2].obj);	/* ... and its class */
	fake_type(l, &types[4], "pkg.Fake", types[3].obj);	/* an instance of that class */
	/* self: the kernel sends its type */
	fr.cls = (uintptr_t)types[1].obj;
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr),
		    "run\0m.py\0" "3\x01" "cWid?[0mget");
	/* cls (bit 0): a type, or a class of a metaclass */
	fr.cls = (uintptr_t)types[3].obj | 1;
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr),
		    "run\0m.py\0" "3\x01" "cModel");
	/* a first argument named cls that is no type (its type's type is not type): no class */
	fr.cls = (uintptr_t)types[4].obj | 1;
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr), "run\0m.py\0" "3");
	/* the process is gone and its pid reused: the same address names another class */
	fake_type(l, &types[1], "app.Other", types[0].obj);
	symbolizer_forget(f->sy, getpid());
	fr.cls = (uintptr_t)types[1].obj;
	EXPECT_INFO(f, symbolizer_frame(f->sy, f->s, &f->t, 0, &fr),
		    "run\0m.py\0" "3\x01" "cOther");
	free(types);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_symbolize_add_code_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_unreadable_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_frame_ids_per_session, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_incomplete_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_unresolved_not_cached, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_read_here_checks_cookie, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_class_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symbolize_slot_shared_in_one_stack, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
