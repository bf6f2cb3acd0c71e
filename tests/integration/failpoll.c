// SPDX-License-Identifier: MIT
/*
 * LD_PRELOAD shim for the tests: epoll_wait fails with EIO after PYI_FAIL_EPOLL_AFTER calls, so
 * the profiler's collector meets a real error in its own ring buffer poll.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	static int (*real)(int, struct epoll_event *, int, int);
	static long calls;
	const char *after = getenv("PYI_FAIL_EPOLL_AFTER");

	if (!real)
		real = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	if (after && ++calls > atol(after)) {
		errno = EIO;
		return -1;
	}
	return real(epfd, events, maxevents, timeout);
}
