// SPDX-License-Identifier: MIT
/*
 * thread_names_read against objects laid out like CPython 3.11's in this process's own memory
 * (read back through process_vm_readv as from a target): a name found through sys.modules,
 * threading._active and a managed dict; hostile tables (huge, unreadable) fail cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "python_layouts.h"
#include "thread_names.h"

#define MINOR 11

/* a compact ASCII str object */
struct fake_str {
	uint8_t b[128];
};

static void make_str(const struct pyi_layout *l, struct fake_str *s, const char *text)
{
	int64_t len = (int64_t)strlen(text);
	uint32_t state = 1u << l->unicode_kind_shift | 1u << l->unicode_compact_bit |
			 1u << l->unicode_ascii_bit;

	memset(s, 0, sizeof(*s));
	memcpy(s->b + l->off.unicode_length, &len, sizeof(len));
	memcpy(s->b + l->off.unicode_state, &state, sizeof(state));
	memcpy(s->b + l->off.unicode_ascii_size, text, strlen(text) + 1);
}

/* a 3.11 dict: PyDictObject and its keys (8 slots, 1-byte indices), entries after */
struct fake_dict {
	uint64_t head[6];	/* refcnt, type, used, version, ma_keys, ma_values */
	uint64_t keys_head[4];	/* refcnt, log2 size | log2 index bytes | kind, usable, nentries */
	uint8_t indices[8];
	uint64_t entries[8 * 3];
};

static void make_dict(struct fake_dict *d, bool general, const uint64_t *kv, unsigned int n)
{
	uint8_t *k = (uint8_t *)&d->keys_head[1];

	memset(d, 0, sizeof(*d));
	d->head[4] = (uint64_t)(uintptr_t)d->keys_head;
	k[0] = 3;		/* 8 slots */
	k[1] = 3;		/* 8 bytes of indices */
	k[2] = general ? 0 : 1;
	d->keys_head[3] = n;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t *e = d->entries + (general ? 3 * i + 1 : 2 * i);

		e[0] = kv[2 * i];
		e[1] = kv[2 * i + 1];
	}
}

struct world {
	uint8_t interp[1024];
	struct fake_dict modules, globals, active, attrs;
	struct fake_str s_threading, s_active, s_name, s_other, name;
	uint64_t module[3];		/* refcnt, type, md_dict */
	uint64_t ident[4];		/* refcnt, type, ob_size = 2, digits */
	uint8_t type[512];		/* tp_flags at 168, tp_dictoffset at 288 */
	uint64_t thread[6];		/* [0..2] the managed dict pointer's words, object at 3 */
};

static const uint64_t IDENT = 0x7f12345678ULL;

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void build(struct world *w, const struct pyi_layout *l, const char *name)
{
	uint64_t kv[4], flags = 1u << 4;	/* Py_TPFLAGS_MANAGED_DICT */
	int64_t dictoffset = -1, size = 2;
	uint32_t digits[2] = { (uint32_t)(IDENT & 0x3fffffff), (uint32_t)(IDENT >> 30) };

	memset(w, 0, sizeof(*w));
	make_str(l, &w->s_threading, "threading");
	make_str(l, &w->s_active, "_active");
	make_str(l, &w->s_name, "_name");
	make_str(l, &w->s_other, "_target");
	make_str(l, &w->name, name);
	/* sys.modules = {"threading": module}; module.__dict__ = {"_active": {IDENT: thread}} */
	kv[0] = addr(&w->s_threading);
	kv[1] = addr(w->module);
	make_dict(&w->modules, false, kv, 1);
	w->module[2] = addr(&w->globals);
	kv[0] = addr(&w->s_active);
	kv[1] = addr(&w->active);
	make_dict(&w->globals, false, kv, 1);
	memcpy(&w->ident[2], &size, sizeof(size));
	memcpy(&w->ident[3], digits, sizeof(digits));
	kv[0] = addr(w->ident);
	kv[1] = addr(&w->thread[3]);
	make_dict(&w->active, true, kv, 1);
	/* the Thread: its class has a managed dict, the dict holds _target and _name */
	memcpy(w->type + 168, &flags, sizeof(flags));
	memcpy(w->type + 288, &dictoffset, sizeof(dictoffset));
	w->thread[4] = addr(w->type);
	w->thread[0] = addr(&w->attrs);		/* object - 24 */
	kv[0] = addr(&w->s_other);
	kv[1] = 0;
	kv[2] = addr(&w->s_name);
	kv[3] = addr(&w->name);
	make_dict(&w->attrs, false, kv, 2);
	memcpy(w->interp + 888, &(uint64_t){ addr(&w->modules) }, 8);
}

static void test_name_found(void **state)
{
	const struct pyi_layout *l = layouts_find(0x030b0000);
	static struct world w;
	struct thread_names names = { 0 };

	(void)state;
	assert_non_null(l);
	build(&w, l, "worker-1");
	assert_int_equal(thread_names_read(getpid(), MINOR, l, addr(w.interp), &names), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(thread_names_find(&names, IDENT), "worker-1");
	assert_null(thread_names_find(&names, IDENT + 1));
	thread_names_free(&names);
}

static void test_hostile_tables(void **state)
{
	const struct pyi_layout *l = layouts_find(0x030b0000);
	static struct world w;
	struct thread_names names = { 0 };

	(void)state;
	/* a table claiming a million entries is refused, not read */
	build(&w, l, "x");
	w.active.keys_head[3] = 1u << 20;
	assert_int_equal(thread_names_read(getpid(), MINOR, l, addr(w.interp), &names), -EIO);
	/* a Thread whose dict pointer leads nowhere is skipped */
	build(&w, l, "x");
	w.thread[0] = 16;
	assert_int_equal(thread_names_read(getpid(), MINOR, l, addr(w.interp), &names), 0);
	assert_int_equal(names.n, 0);
	/* threading not imported */
	build(&w, l, "x");
	make_str(l, &w.s_threading, "threadinG");
	assert_int_equal(thread_names_read(getpid(), MINOR, l, addr(w.interp), &names), -ENOENT);
	/* a version without a table */
	assert_int_equal(thread_names_read(getpid(), 14, l, addr(w.interp), &names), -ENOTSUP);
	/* a name longer than the buffer is cut to fit, and terminated */
	build(&w, l, "long-name-with-escapes-\x1b[31m-and-more-text-than-fits-in-the-name-buffer");
	assert_int_equal(thread_names_read(getpid(), MINOR, l, addr(w.interp), &names), 0);
	assert_int_equal(names.n, 1);
	assert_true(strlen(names.v[0].name) < THREAD_NAME_MAX);
	thread_names_free(&names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_found),
		cmocka_unit_test(test_hostile_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
