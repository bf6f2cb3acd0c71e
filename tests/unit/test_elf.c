// SPDX-License-Identifier: MIT
/*
 * ELF symbols and constants: the test binary looks itself up, and small ELF files are built at
 * test time with the project's compiler (PYI_CC) the way interpreters come: a stripped shared
 * library (.dynsym only) and a non-PIE executable (Debian's static python3.11 is one).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_syms.h"

/* Looked up in this binary's own .symtab. */
const char elf_test_marker[24] = "pyinst elf test marker";
static const uint64_t elf_test_local[2] __attribute__((used)) = { 0x1122334455667788ULL, 42 };

static int open_self(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Link-time addresses, sizes, and the constants' bytes read from the file. */
static void test_elf_lookup_self(void **state)
{
	struct elf_sym_query q[] = {
		{ .name = "elf_test_marker" }, { .name = "elf_test_local" },
		{ .name = "test_elf_lookup_self" }, { .name = "no_such_symbol_here" },
		{ .name = "elf_version" },	/* libelf's: undefined here, not an address */
	};
	uint64_t first = UINT64_MAX, local[2];
	uintptr_t bias;
	char marker[sizeof(elf_test_marker)];
	int fd = open_self();

	(void)state;
	q[3].addr = 1;	/* answers start from nothing */
	assert_int_equal(elf_lookup(fd, q, 5), 0);
	assert_int_not_equal(q[0].addr, 0);
	assert_int_equal(q[0].size, sizeof(elf_test_marker));
	assert_int_not_equal(q[1].addr, 0);
	assert_int_equal(q[1].size, sizeof(elf_test_local));
	assert_int_not_equal(q[2].addr, 0);
	assert_int_equal(q[3].addr, 0);
	assert_int_equal(q[3].size, 0);
	assert_int_equal(q[4].addr, 0);
	/* one load bias for every symbol: the addresses are the link-time ones */
	bias = (uintptr_t)elf_test_marker - q[0].addr;
	assert_int_equal((uintptr_t)elf_test_local - q[1].addr, bias);
	assert_int_equal((uintptr_t)test_elf_lookup_self - q[2].addr, bias);
	assert_int_equal(bias % 4096, 0);
	assert_int_equal(elf_read_vaddr(fd, q[0].addr, marker, sizeof(marker)), 0);
	assert_memory_equal(marker, elf_test_marker, sizeof(marker));
	assert_int_equal(elf_read_vaddr(fd, q[1].addr, local, sizeof(local)), 0);
	assert_memory_equal(local, elf_test_local, sizeof(local));
	assert_int_equal(elf_first_load_vaddr(fd, &first), 0);
	assert_true(first <= q[0].addr);
	assert_int_equal(first % 4096, 0);
	/* past every loadable segment */
	assert_int_equal(elf_read_vaddr(fd, UINT64_MAX - 64, marker, 8), -ENOENT);
	close(fd);
}

/* What is not ELF is refused, not read. */
static void test_elf_not_elf(void **state)
{
	char path[] = "/tmp/pyi-elf-XXXXXX";
	struct elf_sym_query q = { .name = "main" };
	uint64_t v = 0;
	char buf[8];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(elf_lookup(fd, &q, 1), -ENOEXEC);
	assert_int_equal(elf_first_load_vaddr(fd, &v), -ENOEXEC);
	assert_int_equal(elf_read_vaddr(fd, 0, buf, sizeof(buf)), -ENOEXEC);
	assert_int_equal(write(fd, "#!/bin/sh\necho not an ELF file\n", 31), 31);
	assert_int_equal(elf_lookup(fd, &q, 1), -ENOEXEC);
	assert_int_equal(elf_first_load_vaddr(fd, &v), -ENOEXEC);
	assert_int_equal(elf_read_vaddr(fd, 0, buf, sizeof(buf)), -ENOEXEC);
	assert_int_equal(q.addr, 0);
	close(fd);
}

/* ---- ELF files built here ------------------------------------------------------------------ */

static const char fixture_src[] =
	"const char pyi_fixture_const[16] = \"fixture-const\";\n"
	"char pyi_fixture_bss[4096];\n"
	"static const long pyi_fixture_local[2] __attribute__((used)) = { 7, 9 };\n"
	"int pyi_fixture_fn(void) { return pyi_fixture_bss[1]; }\n"
	"int main(void) { return pyi_fixture_fn(); }\n";

struct built {
	char dir[64];
	char path[128];
};

/* Compiles the fixture with flags; skips the test when no compiler was configured. */
static int build(struct built *b, const char *name, const char *flags)
{
	const char *cc = getenv("PYI_CC");
	char src[128], cmd[1024];
	FILE *f;

	if (!cc || !*cc)
		return -1;
	snprintf(b->dir, sizeof(b->dir), "/tmp/pyi-elf-XXXXXX");
	assert_non_null(mkdtemp(b->dir));
	snprintf(src, sizeof(src), "%s/fixture.c", b->dir);
	snprintf(b->path, sizeof(b->path), "%s/%s", b->dir, name);
	f = fopen(src, "w");
	assert_non_null(f);
	fputs(fixture_src, f);
	fclose(f);
	/* no sanitizer flags from the environment: a plain ELF file is what is read */
	snprintf(cmd, sizeof(cmd), "%s %s -o %s %s 2>&1", cc, flags, b->path, src);
	if (system(cmd) != 0)
		fail_msg("cannot build the fixture: %s", cmd);
	unlink(src);
	return 0;
}

static void built_remove(struct built *b)
{
	unlink(b->path);
	rmdir(b->dir);
}

/* A stripped shared library: .dynsym only, loaded at 0. */
static void test_elf_stripped_shared_library(void **state)
{
	struct elf_sym_query q[] = {
		{ .name = "pyi_fixture_const" }, { .name = "pyi_fixture_fn" },
		{ .name = "pyi_fixture_local" }, { .name = "pyi_fixture_bss" },
	};
	struct built b;
	uint64_t first = 1;
	char buf[16];
	int fd;

	(void)state;
	if (build(&b, "libfixture.so", "-shared -fPIC -O1 -s"))
		skip();
	fd = open(b.path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elf_lookup(fd, q, 4), 0);
	assert_int_not_equal(q[0].addr, 0);
	assert_int_equal(q[0].size, 16);
	assert_int_not_equal(q[1].addr, 0);
	assert_int_equal(q[2].addr, 0);	/* a local symbol lives in .symtab: stripped */
	assert_int_not_equal(q[3].addr, 0);
	assert_int_equal(elf_first_load_vaddr(fd, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(elf_read_vaddr(fd, q[0].addr, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fixture-const");
	/* .bss has no bytes in the file */
	assert_int_equal(elf_read_vaddr(fd, q[3].addr + 64, buf, sizeof(buf)), -ENOENT);
	close(fd);
	built_remove(&b);
}

/* A non-PIE executable: link-time addresses are run-time ones, from 0x400000 on x86-64. */
static void test_elf_non_pie_executable(void **state)
{
	struct elf_sym_query q[] = {
		{ .name = "pyi_fixture_const" }, { .name = "pyi_fixture_local" },
	};
	struct built b;
	uint64_t first = 0;
	long local[2];
	char buf[16];
	int fd;

	(void)state;
	if (build(&b, "fixture", "-O1 -no-pie -fno-pie"))
		skip();
	fd = open(b.path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elf_lookup(fd, q, 2), 0);
	assert_int_equal(elf_first_load_vaddr(fd, &first), 0);
#if defined(__x86_64__)
	assert_int_equal(first, 0x400000);
#endif
	assert_true(first > 0);
	assert_true(q[0].addr > first);
	assert_true(q[1].addr > first);
	assert_int_equal(elf_read_vaddr(fd, q[0].addr, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fixture-const");
	assert_int_equal(elf_read_vaddr(fd, q[1].addr, local, sizeof(local)), 0);
	assert_int_equal(local[0], 7);
	assert_int_equal(local[1], 9);
	/* below the first segment */
	assert_int_equal(elf_read_vaddr(fd, first - 4096, buf, sizeof(buf)), -ENOENT);
	close(fd);
	built_remove(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_lookup_self),
		cmocka_unit_test(test_elf_not_elf),
		cmocka_unit_test(test_elf_stripped_shared_library),
		cmocka_unit_test(test_elf_non_pie_executable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
