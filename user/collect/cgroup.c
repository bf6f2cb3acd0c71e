// SPDX-License-Identifier: MIT
/* cgroup v2 targets (see cgroup.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cgroup.h"

int cgroup_v2_mount(char *buf, size_t len)
{
	char dev[64], dir[PATH_MAX], type[64];
	int rc = -ENOENT;
	FILE *f;

	f = fopen("/proc/mounts", "re");
	if (!f)
		return -errno;
	/* "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,... 0 0" */
	while (fscanf(f, "%63s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

int cgroup_resolve(const char *path, struct cgroup_target *out, char *err, size_t errlen)
{
	char mount[PATH_MAX], full[2 * PATH_MAX + 2], real[PATH_MAX], *rel;
	struct stat st;
	size_t n;

	if (cgroup_v2_mount(mount, sizeof(mount))) {
		snprintf(err, errlen, "no cgroup2 file system is mounted (see /proc/mounts)");
		return -ENOENT;
	}
	if (path[0] == '/' && !strncmp(path, mount, strlen(mount)))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", mount, path[0] == '/' ? path + 1 : path);
	if (!realpath(full, real) || stat(real, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a cgroup v2 directory under %s", path, mount);
		return -ENOENT;
	}
	n = strlen(mount);
	if (strncmp(real, mount, n) || (real[n] && real[n] != '/')) {
		snprintf(err, errlen, "%s is not under the cgroup2 mount %s", path, mount);
		return -EINVAL;
	}
	snprintf(out->path, sizeof(out->path), "%s", real);
	out->id = st.st_ino;
	out->level = 0;
	for (rel = real + n; *rel; rel++)
		out->level += *rel == '/';
	return 0;
}

#define CONTAINER_ID_MIN 12	/* a runtime's short id; full ids are 64 hex digits */

/* The container id a cgroup path component carries ("docker-ID.scope", "cri-containerd-ID.scope",
 * "crio-ID.scope", "libpod-ID.scope", or a bare "ID"), or NULL. */
static const char *component_id(const char *comp, size_t len, size_t *idlen)
{
	const char *id = comp, *dash;
	size_t i;

	if (!comp || !len)
		return NULL;	/* never here; said so for gcc's -Wnonnull under -fsanitize */
	if (len > 6 && !strncmp(comp + len - 6, ".scope", 6))
		len -= 6;
	if (memmem(comp, len, "conmon", 6))
		return NULL;	/* podman's monitor beside the container */
	dash = memrchr(comp, '-', len);
	if (dash)
		id = dash + 1;
	*idlen = len - (size_t)(id - comp);
	if (*idlen < CONTAINER_ID_MIN)
		return NULL;
	for (i = 0; i < *idlen; i++) {
		if (!isxdigit((unsigned char)id[i]))
			return NULL;
	}
	return id;
}

int cgroup_path_names_container(const char *path, const char *id, size_t *end)
{
	size_t n = strlen(id), len, idlen;
	const char *comp = path, *next, *cid;

	while (*comp) {
		while (*comp == '/')
			comp++;
		next = strchrnul(comp, '/');
		len = (size_t)(next - comp);
		cid = len ? component_id(comp, len, &idlen) : NULL;
		/* the whole id or a prefix of it, never a piece of a parent slice's name */
		if (cid && n <= idlen && !strncasecmp(cid, id, n)) {
			*end = (size_t)(next - path);
			return 1;
		}
		comp = next;
	}
	return 0;
}

/* The "0::/path" line of /proc/PID/cgroup when it names id, cut after the component naming it. */
static int match_pid(const char *pid, const char *id, char *path, size_t len)
{
	char fname[300], line[PATH_MAX + 16];
	int found = 0;
	FILE *f;

	snprintf(fname, sizeof(fname), "/proc/%s/cgroup", pid);
	f = fopen(fname, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t end;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::", 3) || !cgroup_path_names_container(line + 3, id, &end))
			continue;
		snprintf(path, len, "%.*s", (int)end, line + 3);
		found = 1;
		break;
	}
	fclose(f);
	return found;
}

int cgroup_find_container(const char *id, struct cgroup_target *out, char *err, size_t errlen)
{
	char path[PATH_MAX], first[PATH_MAX] = "";
	struct dirent *de;
	int paths = 0;
	DIR *d;

	if (strlen(id) < 4 || strspn(id, "0123456789abcdefABCDEF") != strlen(id)) {
		snprintf(err, errlen, "--container: '%s' is not a container id or a prefix of one "
			 "(4 hexadecimal digits at least)", id);
		return -EINVAL;
	}
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    !match_pid(de->d_name, id, path, sizeof(path)))
			continue;
		if (!first[0])
			snprintf(first, sizeof(first), "%s", path);
		else if (strcmp(first, path))
			paths++;
	}
	closedir(d);
	if (!first[0]) {
		snprintf(err, errlen, "no process is in a cgroup v2 named after container '%s'", id);
		return -ENOENT;
	}
	if (paths) {
		snprintf(err, errlen, "container id '%s' matches several cgroups: give more of it",
			 id);
		return -EINVAL;
	}
	return cgroup_resolve(first, out, err, errlen);
}
