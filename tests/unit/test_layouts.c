// SPDX-License-Identifier: MIT
/* Sanity of the generated CPython layout table (user/python/python_layouts.c). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "python_layouts.h"

#define MINOR(l) (((l)->off.version_hex >> 16) & 0xff)

static void test_layouts_cover_36_to_315(void **state)
{
	for (unsigned int minor = 6; minor <= 15; minor++) {
		const struct pyi_layout *l = layouts_find(0x03000000u | minor << 16 | 0x0100);

		assert_non_null(l);
		assert_int_equal(MINOR(l), minor);
		assert_non_null(l->provenance);
		/* 3.14 and 3.15 compiled from Debian unstable's headers, none derived */
		assert_false(l->derived);
	}
	errno = 0;
	assert_null(layouts_find(0x02070000));
	assert_int_equal(errno, ENOENT);
	assert_null(layouts_find(0x03100000));
	layouts_print_versions(stdout);
}

static void test_layouts_ascending_unique(void **state)
{
	for (size_t i = 1; i < pyi_layouts_count; i++)
		assert_true(MINOR(&pyi_layouts[i]) > MINOR(&pyi_layouts[i - 1]));
}

/* No two of these fields may share an offset: they are distinct members of one struct. */
static void assert_distinct(const int *v, size_t n, int minor, const char *what)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (v[i] >= 0 && v[i] == v[j])
				fail_msg("3.%d %s: fields %zu and %zu at %d", minor, what, i,
					 j, v[i]);
}

static void test_layouts_fields_sane(void **state)
{
	for (size_t i = 0; i < pyi_layouts_count; i++) {
		const struct pyi_layout *l = &pyi_layouts[i];
		const struct pyi_offsets *o = &l->off;
		int minor = (int)MINOR(l);
		int ts[] = { o->tstate_next, l->tstate_prev, o->tstate_interp, o->tstate_frame,
			     o->tstate_thread_id, o->tstate_native_thread_id };
		int fr[] = { o->frame_code, o->frame_previous, o->frame_instr, o->frame_owner,
			     o->frame_localsplus };
		int co[] = { o->code_argcount, o->code_flags, o->code_firstlineno, o->code_name,
			     o->code_qualname, o->code_filename, o->code_varnames,
			     o->code_linetable, o->code_firsttraceable, o->code_adaptive };

		assert_distinct(ts, 6, minor, "PyThreadState");
		assert_distinct(fr, 5, minor, "frame");
		assert_distinct(co, 10, minor, "PyCodeObject");
		for (size_t k = 0; k < 10; k++)
			assert_true(co[k] < l->code_size);
		/* localsplus is the trailing array of the frame */
		for (size_t k = 0; k < 4; k++)
			assert_true(fr[k] < o->frame_localsplus);
		assert_int_equal(o->object_type, 8);
		assert_true(o->unicode_ascii_size < o->unicode_compact_size);
		assert_true(o->unicode_length < o->unicode_state);
		assert_true(o->bytes_size < o->bytes_data);
		/* fields exist exactly in the versions pyinst_abi.h documents */
		assert_true((o->cframe_current_frame >= 0) == (minor == 11 || minor == 12));
		assert_true((o->code_qualname >= 0) == (minor >= 11));
		assert_true((o->code_adaptive >= 0) == (minor >= 11));
		assert_true((o->frame_owner >= 0) == (minor >= 11));
		assert_true((o->tstate_native_thread_id >= 0) == (minor >= 11));
		assert_true((l->frame_is_entry >= 0) == (minor == 11));
		assert_true((l->runtime_autotsskey >= 0) == (minor >= 7 && minor <= 13));
		assert_true((l->runtime_debug_offsets == 0) == (minor >= 13));
		if (minor >= 11)	/* char co_code_adaptive[1], padded to 8 */
			assert_int_equal(o->code_adaptive + 8, l->code_size);
		if (minor >= 11)
			assert_int_equal(o->code_firsttraceable, o->code_adaptive - 16);
		/* 3.14 added FRAME_OWNED_BY_INTERPRETER (3) before CSTACK; 3.15 dropped CSTACK */
		assert_int_equal(o->frame_owner_cstack,
				 minor == 14 ? 4 : minor >= 12 ? 3 : -1);
		assert_int_equal(l->frame_code_tag_mask, minor >= 14 ? 1 : 0);
		if (minor >= 7 && minor <= 11)
			assert_true(l->runtime_gil_locked > 0 && l->runtime_tstate_current > 0);
		if (minor >= 12)
			assert_true(l->gil_locked > 0 && l->gil_last_holder >= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts_cover_36_to_315),
		cmocka_unit_test(test_layouts_ascending_unique),
		cmocka_unit_test(test_layouts_fields_sane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
