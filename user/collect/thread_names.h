/* SPDX-License-Identifier: MIT */
/*
 * The names threading gave a target's threads: threading._active (ident -> Thread) read from
 * outside, through the interpreter's sys.modules, as py-spy does. Everything read is hostile:
 * bounded reads, sizes checked, names sanitized by pystr (no NUL, no bad UTF-8).
 */
#ifndef PYINST_THREAD_NAMES_H
#define PYINST_THREAD_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "python_layouts.h"

#define THREAD_NAME_MAX 64

struct thread_name {
	uint64_t ident;		/* threading.get_ident(): pthread_self() */
	char name[THREAD_NAME_MAX];
};

struct thread_names {
	struct thread_name *v;	/* sorted by ident */
	size_t n, cap;
};

/*
 * Reads threading._active of process pid (CPython minor version `minor`, interpreter state at
 * interp) into out, replacing what it held. Returns 0, or -errno: -ENOENT when threading is not
 * imported (yet), -ENOTSUP for a version whose layout is not known here, -EIO on a bad read.
 */
int thread_names_read(int pid, int minor, const struct pyi_layout *lay, uint64_t interp,
		      struct thread_names *out);

/* The name of ident, or NULL. */
const char *thread_names_find(const struct thread_names *names, uint64_t ident);

void thread_names_free(struct thread_names *names);

#endif
