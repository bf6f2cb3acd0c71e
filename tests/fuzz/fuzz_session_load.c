// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the .pyisession loader: the input becomes a file (a memfd, since
 * session_load takes a path), is loaded, and when it loads is rendered as text and JSON, so
 * that the frame tree and processors also see whatever the loader lets through.
 *
 * Differential check: the loader's fast paths (frames recognized by their bytes) must change
 * nothing. Every input is also loaded with SESSION_LOAD_PLAIN (the tokenizer alone); both must
 * fail with the same error or save the same .pyisession, byte for byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The session as its .pyisession text, malloc'ed. */
static char *saved(const struct session *s, size_t *len)
{
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);

	if (!mem || session_save(s, mem) || fclose(mem))
		__builtin_trap();
	return buf;
}

/* The plain tokenizer path must agree with the fast one on this input. */
static void check_plain(const char *path, const struct session *s, int ret, const char *err)
{
	struct session *p = NULL;
	char perr[256] = "", *a, *b;
	size_t alen, blen;
	int pret = session_load_flags(path, &p, perr, sizeof(perr), SESSION_LOAD_PLAIN);

	if (pret != ret || (ret && strcmp(perr, err)))
		__builtin_trap();	/* the fast path failed differently */
	if (!ret) {
		a = saved(s, &alen);
		b = saved(p, &blen);
		if (alen != blen || memcmp(a, b, alen))
			__builtin_trap();	/* the fast path built another session */
		free(a);
		free(b);
	}
	session__free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = NULL;
	char path[64], err[256] = "";
	int fd, ret;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	fd = memfd_create("pyisession", 0);
	if (fd < 0 || !devnull)
		__builtin_trap();	/* the harness itself is broken: stop loudly */
	if (write(fd, data, size) != (ssize_t)size)
		__builtin_trap();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = session_load(path, &s, err, sizeof(err));
	check_plain(path, s, ret, err);
	if (!ret)
		render_all(s);
	session__free(s);
	close(fd);
	return 0;
}
