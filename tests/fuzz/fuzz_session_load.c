// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the .pyisession loader: the input becomes a file (a memfd, since
 * session_load takes a path), is loaded, and when it loads is rendered as text and JSON, so
 * that the frame tree and processors also see whatever the loader lets through.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "render.h"
#include "session.h"

static FILE *devnull;

static void render_all(struct session *s)
{
	struct render_opts o;

	render_opts_init(&o);
	render_text(s, &o, devnull);
	render_json(s, &o, devnull);
	render_opts_release(&o);
	fflush(devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = NULL;
	char path[64], err[256];
	int fd;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	fd = memfd_create("pyisession", 0);
	if (fd < 0 || !devnull)
		__builtin_trap();	/* the harness itself is broken: stop loudly */
	if (write(fd, data, size) != (ssize_t)size)
		__builtin_trap();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!session_load(path, &s, err, sizeof(err)))
		render_all(s);
	session__free(s);
	close(fd);
	return 0;
}
