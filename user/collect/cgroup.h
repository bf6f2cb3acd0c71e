/* SPDX-License-Identifier: MIT */
/* cgroup v2 targets: --cgroup PATH and --container ID, resolved to what the kernel filters on. */
#ifndef PYINST_CGROUP_H
#define PYINST_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct cgroup_target {
	char path[PATH_MAX];	/* the cgroup's directory */
	uint64_t id;		/* its cgroup id (the directory's inode on cgroup2) */
	uint32_t level;		/* depth below the cgroup2 root (the root is 0) */
};

/* Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
int cgroup_v2_mount(char *buf, size_t len);

/* A cgroup v2 directory, absolute or relative to the cgroup2 mount. 0 or -errno, err set. */
int cgroup_resolve(const char *path, struct cgroup_target *out, char *err, size_t errlen);

/*
 * Whether a cgroup path names container id: some component carries a container id (see
 * cgroup.c) that id is the whole of or a prefix of. *end: the length of the path up to and
 * including that component. 1 or 0.
 */
int cgroup_path_names_container(const char *path, const char *id, size_t *end);

/*
 * The cgroup of a container: the cgroup v2 path that names id (a full id or a unique prefix)
 * in /proc/PID/cgroup of the processes it holds. 0 or -errno with err set.
 */
int cgroup_find_container(const char *id, struct cgroup_target *out, char *err, size_t errlen);

#endif
