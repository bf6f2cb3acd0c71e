// SPDX-License-Identifier: MIT
/*
 * _Py_DebugOffsets: (a) read from live pyenv 3.13 and Debian unstable 3.14 and 3.15 processes
 * and checked against the tables compiled from their headers; (b) a 3.14 image built here from
 * the v3.14.0 struct layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "debug_offsets.h"
#include "support.h"

/* v3.14.0 Include/internal/pycore_debug_offsets.h, as the parser must see it (x86-64). */
struct do314 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct { uint64_t size, ob_type; } pyobject;
	struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
	struct { uint64_t size, ob_item, ob_size; } tuple_object, list_object;
	struct { uint64_t size, used, table, mask; } set_object;
	struct { uint64_t size, ma_keys, ma_values; } dict_object;
	struct { uint64_t size, ob_fval; } float_object;
	struct { uint64_t size, lv_tag, ob_digit; } long_object;
	struct { uint64_t size, ob_size, ob_sval; } bytes_object;
	struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
	struct { uint64_t size, collecting; } gc;
	struct { uint64_t size, gi_name, gi_iframe, gi_frame_state; } gen_object;
	struct { uint64_t next, prev; } llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};
_Static_assert(sizeof(struct do314) == 95 * 8, "3.14 _Py_DebugOffsets is 95 words");
_Static_assert(sizeof(struct do314) <= DEBUG_OFFSETS_READ_LEN, "read enough");

/* A 3.14 image whose values come from our 3.14 entry. */
static void build_314(struct do314 *d, const struct pyi_layout *l)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->cookie, "xdebugpy", 8);
	d->version = 0x030E00F0;
	d->runtime_state.interpreters_head = (uint64_t)l->runtime_interpreters_head;
	d->interpreter_state.next = (uint64_t)l->off.interp_next;
	d->interpreter_state.threads_head = (uint64_t)l->off.interp_tstate_head;
	d->interpreter_state.ceval_gil = (uint64_t)l->interp_ceval_gil;
	d->interpreter_state.gil_runtime_state = 9000;
	d->interpreter_state.gil_runtime_state_locked = 9000 + (uint64_t)l->gil_locked;
	d->interpreter_state.gil_runtime_state_holder = 9000 + (uint64_t)l->gil_last_holder;
	d->thread_state.prev = (uint64_t)l->tstate_prev;
	d->thread_state.next = (uint64_t)l->off.tstate_next;
	d->thread_state.interp = (uint64_t)l->off.tstate_interp;
	d->thread_state.current_frame = (uint64_t)l->off.tstate_frame;
	d->thread_state.thread_id = (uint64_t)l->off.tstate_thread_id;
	d->thread_state.native_thread_id = (uint64_t)l->off.tstate_native_thread_id;
	d->interpreter_frame.previous = (uint64_t)l->off.frame_previous;
	d->interpreter_frame.executable = (uint64_t)l->off.frame_code;
	d->interpreter_frame.instr_ptr = (uint64_t)l->off.frame_instr;
	d->interpreter_frame.localsplus = (uint64_t)l->off.frame_localsplus;
	d->interpreter_frame.owner = (uint64_t)l->off.frame_owner;
	d->interpreter_frame.stackpointer = 64;
	d->code_object.size = (uint64_t)l->code_size;
	d->code_object.filename = (uint64_t)l->off.code_filename;
	d->code_object.name = (uint64_t)l->off.code_name;
	d->code_object.qualname = (uint64_t)l->off.code_qualname;
	d->code_object.linetable = (uint64_t)l->off.code_linetable;
	d->code_object.firstlineno = (uint64_t)l->off.code_firstlineno;
	d->code_object.argcount = (uint64_t)l->off.code_argcount;
	d->code_object.localsplusnames = (uint64_t)l->off.code_varnames;
	d->code_object.co_code_adaptive = (uint64_t)l->off.code_adaptive;
	d->pyobject.ob_type = (uint64_t)l->off.object_type;
	d->type_object.tp_name = (uint64_t)l->off.type_name;
	d->tuple_object.ob_item = (uint64_t)l->off.tuple_item;
	d->bytes_object.ob_size = (uint64_t)l->off.bytes_size;
	d->bytes_object.ob_sval = (uint64_t)l->off.bytes_data;
	d->unicode_object.state = (uint64_t)l->off.unicode_state;
	d->unicode_object.length = (uint64_t)l->off.unicode_length;
	d->unicode_object.asciiobject_size = (uint64_t)l->off.unicode_ascii_size;
	/* fields after the ones we read: if the parser's layout were short, these would leak in */
	d->gc.collecting = 0xdead;
	d->debugger_support.debugger_script_path_size = 512;
}

static void test_debug_offsets_314_synthetic(void **state)
{
	const struct pyi_layout *base = layouts_find(0x030E0000);
	struct pyi_layout got;
	struct do314 d;
	char err[160] = "";

	assert_non_null(base);
	build_314(&d, base);
	/* values the table does not have: the image's must win */
	d.runtime_state.interpreters_head = 640;
	d.interpreter_state.next = 7280;
	d.interpreter_state.threads_head = 7360;
	d.interpreter_state.ceval_gil = 24;
	assert_int_equal(debug_offsets_apply((const uint8_t *)&d, sizeof(d), &got, err,
					     sizeof(err)), 0);
	assert_false(got.derived);
	assert_int_equal(got.off.version_hex, 0x030E00F0);
	assert_int_equal(got.runtime_interpreters_head, 640);
	assert_int_equal(got.off.interp_next, 7280);
	assert_int_equal(got.off.interp_tstate_head, 7360);
	assert_int_equal(got.interp_ceval_gil, 24);
	assert_int_equal(got.gil_locked, 16);
	assert_int_equal(got.gil_last_holder, 8);
	assert_int_equal(got.off.frame_owner, 74);
	assert_int_equal(got.off.frame_localsplus, 80);
	assert_int_equal(got.off.frame_owner_cstack, 4);	/* not in _Py_DebugOffsets */
	assert_int_equal(got.frame_code_tag_mask, 1);
	assert_int_equal(got.off.code_firsttraceable, got.off.code_adaptive - 16);
	assert_int_equal(got.runtime_autotsskey, -1);
	/* the four changed values are told as disagreements; the rest agree with the table */
	assert_int_equal(debug_offsets_verify((const uint8_t *)&d, sizeof(d), base, NULL), 4);
	build_314(&d, base);
	assert_int_equal(debug_offsets_verify((const uint8_t *)&d, sizeof(d), base, stderr), 0);
	d.interpreter_frame.owner = 70;
	assert_int_equal(debug_offsets_verify((const uint8_t *)&d, sizeof(d), base, NULL), 1);
}

static void test_debug_offsets_rejects(void **state)
{
	const struct pyi_layout *base = layouts_find(0x030E0000);
	struct pyi_layout got;
	struct do314 d;
	char err[160];

	build_314(&d, base);
	d.free_threaded = 1;
	assert_int_equal(debug_offsets_apply((const uint8_t *)&d, sizeof(d), &got, err,
					     sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "3.14.0"));
	assert_non_null(strstr(err, "free-threaded"));
	d.free_threaded = 0;
	d.version = 0x031000A1;
	assert_int_equal(debug_offsets_apply((const uint8_t *)&d, sizeof(d), &got, err,
					     sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "3.16.0a1"));
	d.version = 0x030E00F0;
	assert_int_equal(debug_offsets_apply((const uint8_t *)&d, 200, &got, err, sizeof(err)),
			 -EINVAL);
	d.interpreter_state.next = 1u << 20;
	assert_int_equal(debug_offsets_apply((const uint8_t *)&d, sizeof(d), &got, err,
					     sizeof(err)), -EINVAL);
	memcpy(d.cookie, "xdebugpz", 8);
	assert_int_equal(debug_offsets_apply((const uint8_t *)&d, sizeof(d), &got, err,
					     sizeof(err)), -EINVAL);
}

/* Load address of the mapping of path at file offset 0 in pid, or 0. */
static uint64_t map_base(pid_t pid, const char *needle, char *path, size_t pathsz)
{
	char maps[64], line[1024];
	uint64_t base = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, off;
		char p[PATH_MAX];

		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %4095s", &lo, &off, p) == 3 &&
		    off == 0 && strstr(p, needle)) {
			base = lo;
			snprintf(path, pathsz, "%s", p);
			break;
		}
	}
	fclose(f);
	return base;
}

/* st_value of a dynamic symbol, through nm. */
static uint64_t sym_value(const char *path, const char *sym)
{
	char cmd[PATH_MAX + 128], line[256];
	unsigned long long v = 0;
	FILE *p;

	if (snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", path) >= (int)sizeof(cmd))
		return 0;
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char name[128];

		if (sscanf(line, "%llx %*s %127s", &v, name) == 2 && strcmp(name, sym) == 0)
			break;
		v = 0;
	}
	pclose(p);
	return v;
}

/* python, or with root set python inside that root, through chroot (which execs it). */
/* An ET_EXEC (non-PIE) file's symbols are absolute addresses: no load base to add. */
static bool elf_is_exec(const char *path)
{
	unsigned char h[18] = { 0 };
	FILE *f = fopen(path, "rb");

	if (f) {
		if (fread(h, 1, sizeof(h), f) != sizeof(h))
			h[16] = 0;
		fclose(f);
	}
	return h[16] == 2 && h[17] == 0;	/* e_type, little-endian */
}

static pid_t spawn_sleeper(const char *python, const char *root)
{
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		static const char code[] =
			"import sys, time; sys.stdout.write('r'); sys.stdout.flush(); time.sleep(60)";

		dup2(fds[1], 1);
		if (root)
			execlp("chroot", "chroot", root, python, "-c", code, (char *)NULL);
		else
			execl(python, python, "-c", code, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {	/* the runtime is initialized once it can print */
		close(fds[0]);
		return -1;
	}
	close(fds[0]);
	return pid;
}

/*
 * Reads _PyRuntime's first bytes from a live python (inside root when set) and checks them
 * against the table compiled from that version's headers.
 */
static void live_check(const char *python, const char *root, int minor)
{
	uint8_t image[DEBUG_OFFSETS_READ_LEN];
	char path[PATH_MAX] = "", err[160], mem[64], lib[32];
	const struct pyi_layout *table = layouts_find(0x03000000u | (unsigned int)minor << 16);
	struct pyi_layout got;
	uint64_t base, sym;
	pid_t pid;
	int fd, bad;
	ssize_t n;

	assert_non_null(table);
	pid = spawn_sleeper(python, root);
	assert_true(pid > 0);
	snprintf(lib, sizeof(lib), "libpython3.%d", minor);
	base = map_base(pid, lib, path, sizeof(path));
	if (!base)	/* a static build: the symbol is in the executable */
		base = map_base(pid, "/bin/python3", path, sizeof(path));
	sym = base ? sym_value(path, "_PyRuntime") : 0;
	if (elf_is_exec(path))
		base = 0;
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pid);
	fd = open(mem, O_RDONLY);
	n = fd >= 0 && sym ? pread(fd, image, sizeof(image), (off_t)(base + sym)) : -1;
	if (fd >= 0)
		close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(sym != 0);
	assert_int_equal(n, sizeof(image));
	print_message("read _PyRuntime of %s at %s+0x%llx\n", python, path,
		      (unsigned long long)sym);

	bad = debug_offsets_verify(image, sizeof(image), table, stderr);
	assert_int_equal(bad, 0);
	assert_int_equal(debug_offsets_apply(image, sizeof(image), &got, err, sizeof(err)), 0);
	assert_int_equal(got.off.interp_tstate_head, table->off.interp_tstate_head);
	assert_int_equal(got.gil_locked, table->gil_locked);
	assert_int_equal(got.off.code_firsttraceable, table->off.code_firsttraceable);
	assert_int_equal(memcmp(&got.off, &table->off, sizeof(got.off)), 0);
}

static void test_debug_offsets_313_live(void **state)
{
	struct test_python py = { "pyenv 3.13", 13, NULL, "" };

	if (test_python_find(&py))
		skip();
	live_check(py.path, NULL, 13);
}

/* Debian unstable's builds, in the root scripts/unstable-root.sh makes (skipped without it). */
static void unstable_live(int minor)
{
	const char *root = getenv("PYI_UNSTABLE_ROOT");
	char stamp[PATH_MAX], python[32];

	if (!root || !*root)
		root = "/var/cache/pyinst-bpf/sid";
	snprintf(stamp, sizeof(stamp), "%s/.pyinst-bpf-complete", root);
	if (access(stamp, R_OK) || geteuid() != 0) {
		print_message("no Debian unstable root at %s (or not root): skipped\n", root);
		skip();
	}
	snprintf(python, sizeof(python), "/usr/bin/python3.%d", minor);
	live_check(python, root, minor);
}

static void test_debug_offsets_314_live(void **state)
{
	unstable_live(14);
}

static void test_debug_offsets_315_live(void **state)
{
	unstable_live(15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_offsets_314_synthetic),
		cmocka_unit_test(test_debug_offsets_rejects),
		cmocka_unit_test(test_debug_offsets_313_live),
		cmocka_unit_test(test_debug_offsets_314_live),
		cmocka_unit_test(test_debug_offsets_315_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
