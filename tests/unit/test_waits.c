// SPDX-License-Identifier: MIT
/* Wall mode's wait leaves: the label of a reason, and which waits are a thread parked idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pyinst_abi.h"
#include "waits.h"

static void expect_label(uint32_t reason, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	assert_string_equal(waits_label(reason, buf, sizeof(buf)), want);
}

/* The kernel's own states, then x86-64 syscall numbers by what a thread waits for. */
static void test_waits_label_states_and_syscalls(void **state)
{
	(void)state;
	expect_label(PYI_REASON_PREEMPTED, "[waiting for a CPU]");
	expect_label(PYI_REASON_GIL, "[waiting for the GIL]");
	expect_label(PYI_REASON_BLOCKED, "[blocked]");
	expect_label(PYI_REASON_STOPPED, "[stopped]");
	expect_label(PYI_REASON_ONCPU, "[running]");
	expect_label(PYI_REASON_SYSCALL(0), "[reading]");		/* read */
	expect_label(PYI_REASON_SYSCALL(1), "[writing]");		/* write */
	expect_label(PYI_REASON_SYSCALL(45), "[receiving from a socket]");	/* recvfrom */
	expect_label(PYI_REASON_SYSCALL(288), "[accepting a connection]");	/* accept4 */
	expect_label(PYI_REASON_SYSCALL(42), "[connecting]");
	expect_label(PYI_REASON_SYSCALL(7), "[polling]");		/* poll */
	expect_label(PYI_REASON_SYSCALL(232), "[polling]");		/* epoll_wait */
	expect_label(PYI_REASON_SYSCALL(441), "[polling]");		/* epoll_pwait2 */
	expect_label(PYI_REASON_SYSCALL(35), "[sleeping]");		/* nanosleep */
	expect_label(PYI_REASON_SYSCALL(230), "[sleeping]");		/* clock_nanosleep */
	expect_label(PYI_REASON_SYSCALL(202), "[waiting on a lock]");	/* futex */
	expect_label(PYI_REASON_SYSCALL(61), "[waiting for a child process]");	/* wait4 */
	expect_label(PYI_REASON_SYSCALL(74), "[flushing to disk]");	/* fsync */
	expect_label(PYI_REASON_SYSCALL(257), "[opening a file]");	/* openat */
	expect_label(PYI_REASON_SYSCALL(24), "[yielding the CPU]");	/* sched_yield */
}

/* A syscall with no label is named by number (reason - 1), in the caller's buffer. */
static void test_waits_label_unknown_syscall(void **state)
{
	char buf[64], small[8];

	(void)state;
	assert_ptr_equal(waits_label(PYI_REASON_SYSCALL(999), buf, sizeof(buf)), buf);
	assert_string_equal(buf, "[in system call 999]");
	/* syscall 39 (getpid) never blocks: no label, but a name all the same */
	assert_string_equal(waits_label(PYI_REASON_SYSCALL(39), buf, sizeof(buf)),
			    "[in system call 39]");
	/* a short buffer is cut, never overrun */
	assert_string_equal(waits_label(PYI_REASON_SYSCALL(12345), small, sizeof(small)),
			    "[in sys");
}

#define INFO(func, file) func "\0" file "\0" "12", sizeof(func "\0" file "\0" "12") - 1

static bool idle(uint32_t reason, const char *info, size_t len)
{
	return waits_is_idle(reason, info, len);
}

/* The parking places: an event loop's select, executor and pool workers, queues, waits. */
static void test_waits_idle_parking_places(void **state)
{
	uint32_t epoll = PYI_REASON_SYSCALL(232), futex = PYI_REASON_SYSCALL(202);

	(void)state;
	assert_true(idle(epoll, INFO("select", "/usr/lib/python3.11/selectors.py")));
	assert_true(idle(epoll, INFO("select", "selectors.py")));
	assert_true(idle(futex, INFO("_worker", "/opt/py/lib/python3.12/concurrent/futures/"
				     "thread.py")));
	assert_true(idle(futex, INFO("worker", "/usr/lib/python3.11/multiprocessing/pool.py")));
	assert_true(idle(futex, INFO("get", "/usr/lib/python3.11/queue.py")));
	assert_true(idle(futex, INFO("wait", "/usr/lib/python3.11/threading.py")));
	assert_true(idle(PYI_REASON_BLOCKED, INFO("serve_forever",
						  "/usr/lib/python3.11/socketserver.py")));
}

/* Not idle: another function or file, a file that only ends alike, or no wait at all. */
static void test_waits_idle_not(void **state)
{
	uint32_t epoll = PYI_REASON_SYSCALL(232), futex = PYI_REASON_SYSCALL(202);

	(void)state;
	/* waiting for a CPU or the GIL is latency, wherever the thread is */
	assert_false(idle(PYI_REASON_PREEMPTED, INFO("select", "/usr/lib/selectors.py")));
	assert_false(idle(PYI_REASON_GIL, INFO("get", "/usr/lib/python3.11/queue.py")));
	assert_false(idle(epoll, INFO("select", "/app/myselectors.py")));
	assert_false(idle(epoll, INFO("selector", "/usr/lib/python3.11/selectors.py")));
	assert_false(idle(epoll, INFO("selec", "/usr/lib/python3.11/selectors.py")));
	assert_false(idle(futex, INFO("get", "/usr/lib/python3.11/asyncio/queues.py")));
	assert_false(idle(futex, INFO("_worker", "/app/thread.py")));
	assert_false(idle(futex, INFO("wait", "/app/threading.py.bak")));
	assert_false(idle(epoll, NULL, 0));
}

/* frame_info comes from the target: a string without its separators is not read past. */
static void test_waits_idle_malformed_info(void **state)
{
	static const char no_file[] = { 's', 'e', 'l', 'e', 'c', 't' };
	static const char no_end[] = { 's', 'e', 'l', 'e', 'c', 't', 0, 's', 'e', 'l', 'e', 'c',
				       't', 'o', 'r', 's', '.', 'p', 'y' };
	uint32_t epoll = PYI_REASON_SYSCALL(232);

	(void)state;
	assert_false(waits_is_idle(epoll, no_file, sizeof(no_file)));
	assert_false(waits_is_idle(epoll, no_end, sizeof(no_end)));
	/* the same with its end in place is idle: the length is what bounds the read */
	assert_true(waits_is_idle(epoll, "select\0selectors.py\0", 20));
	assert_false(waits_is_idle(epoll, "select\0selectors.py\0", 6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waits_label_states_and_syscalls),
		cmocka_unit_test(test_waits_label_unknown_syscall),
		cmocka_unit_test(test_waits_idle_parking_places),
		cmocka_unit_test(test_waits_idle_not),
		cmocka_unit_test(test_waits_idle_malformed_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
