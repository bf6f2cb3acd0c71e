// SPDX-License-Identifier: MIT
/* Names for the reasons a thread was off CPU (see waits.h and docs/wall-clock.md). */
#include <stdio.h>
#include <string.h>

#include "pyinst_abi.h"
#include "waits.h"

/* x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
static const struct {
	int nr;
	const char *label;
} syscall_labels[] = {
	{ 0, "[reading]" }, { 17, "[reading]" }, { 19, "[reading]" }, { 295, "[reading]" },
	{ 327, "[reading]" },
	{ 1, "[writing]" }, { 18, "[writing]" }, { 20, "[writing]" }, { 296, "[writing]" },
	{ 44, "[writing]" }, { 46, "[writing]" }, { 307, "[writing]" }, { 40, "[writing]" },
	{ 45, "[receiving from a socket]" }, { 47, "[receiving from a socket]" },
	{ 299, "[receiving from a socket]" },
	{ 43, "[accepting a connection]" }, { 288, "[accepting a connection]" },
	{ 42, "[connecting]" },
	{ 7, "[polling]" }, { 23, "[polling]" }, { 232, "[polling]" }, { 270, "[polling]" },
	{ 271, "[polling]" }, { 281, "[polling]" }, { 441, "[polling]" },
	{ 35, "[sleeping]" }, { 230, "[sleeping]" }, { 34, "[sleeping]" },
	{ 202, "[waiting on a lock]" }, { 449, "[waiting on a lock]" },
	{ 65, "[waiting on a lock]" }, { 220, "[waiting on a lock]" },
	{ 73, "[waiting on a lock]" },
	{ 61, "[waiting for a child process]" }, { 247, "[waiting for a child process]" },
	{ 128, "[waiting for a signal]" }, { 130, "[waiting for a signal]" },
	{ 74, "[flushing to disk]" }, { 75, "[flushing to disk]" }, { 277, "[flushing to disk]" },
	{ 162, "[flushing to disk]" },
	{ 2, "[opening a file]" }, { 257, "[opening a file]" }, { 437, "[opening a file]" },
	{ 206, "[waiting for I/O]" }, { 208, "[waiting for I/O]" }, { 426, "[waiting for I/O]" },
	{ 24, "[yielding the CPU]" },
};

const char *waits_label(uint32_t reason, char *buf, size_t len)
{
	size_t i;

	switch (reason) {
	case PYI_REASON_PREEMPTED:
		return "[waiting for a CPU]";
	case PYI_REASON_GIL:
		return "[waiting for the GIL]";
	case PYI_REASON_BLOCKED:
		return "[blocked]";
	case PYI_REASON_STOPPED:
		return "[stopped]";	/* SIGSTOP, or a tracer */
	case PYI_REASON_ONCPU:
		return "[running]";
	default:
		break;
	}
	for (i = 0; i < sizeof(syscall_labels) / sizeof(syscall_labels[0]); i++) {
		if (PYI_REASON_SYSCALL(syscall_labels[i].nr) == reason)
			return syscall_labels[i].label;
	}
	snprintf(buf, len, "[in system call %u]", reason - 1);
	return buf;
}

/* Python functions that park a thread until there is work: (file suffix, function). */
static const struct {
	const char *file;
	const char *func;
} parking[] = {
	{ "selectors.py", "select" },
	{ "concurrent/futures/thread.py", "_worker" },
	{ "multiprocessing/pool.py", "worker" },
	{ "queue.py", "get" },
	{ "threading.py", "wait" },
	{ "socketserver.py", "serve_forever" },
};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m) && (n == m || s[n - m - 1] == '/');
}

bool waits_is_idle(uint32_t reason, const char *leaf_info, size_t leaf_len)
{
	const char *file, *end;
	size_t func_len, i;

	if (reason == PYI_REASON_PREEMPTED || reason == PYI_REASON_GIL || !leaf_info)
		return false;
	/* frame_info: function \0 file \0 line ... */
	file = memchr(leaf_info, '\0', leaf_len);
	if (!file)
		return false;
	func_len = (size_t)(file - leaf_info);
	file++;
	end = memchr(file, '\0', leaf_len - (size_t)(file - leaf_info));
	if (!end)
		return false;
	for (i = 0; i < sizeof(parking) / sizeof(parking[0]); i++) {
		if (strlen(parking[i].func) == func_len &&
		    !memcmp(leaf_info, parking[i].func, func_len) &&
		    ends_with(file, (size_t)(end - file), parking[i].file))
			return true;
	}
	return false;
}
