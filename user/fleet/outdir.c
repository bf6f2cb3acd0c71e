// SPDX-License-Identifier: MIT
/*
 * --output-dir: one file per process per window. Every file is written under a temporary name
 * and renamed into place with RENAME_NOREPLACE, relative to a directory descriptor opened
 * without following symlinks, so a reader never sees half a profile and nothing this tool did
 * not create is ever replaced. Retention only looks at names this tool makes
 * (pyinst-<UTC time>-...), oldest first by that name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fleet.h"
#include "log.h"

#define PREFIX "pyinst-"

struct outdir {
	int fd;
	char path[4096];
	uint64_t keep, keep_bytes;
};

struct outdir *outdir__open(const char *path, uint64_t keep, uint64_t keep_bytes, char *err,
			    size_t errlen)
{
	struct outdir *d = calloc(1, sizeof(*d));
	struct stat st;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (mkdir(path, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "--output-dir %s: %s", path, strerror(errno));
		goto fail;
	}
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0) {
		snprintf(err, errlen, "--output-dir %s: %s", path,
			 errno == ELOOP || errno == ENOTDIR ? "not a directory (or a symlink)" :
			 strerror(errno));
		goto fail;
	}
	/* another user's directory, or one anyone may write: they could plant names there */
	if (fstat(d->fd, &st) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & 002) && !(st.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "--output-dir %s: must belong to this user (or root) and not "
			 "be writable by others", path);
		close(d->fd);
		goto fail;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->keep = keep;
	d->keep_bytes = keep_bytes;
	return d;
fail:
	free(d);
	return NULL;
}

void outdir__free(struct outdir *d)
{
	if (!d)
		return;
	close(d->fd);
	free(d);
}

int outdir_write(struct outdir *d, const char *name, const uint8_t *data, size_t len)
{
	char tmp[300];
	size_t done = 0;
	ssize_t n;
	int fd, rc = 0;

	if (strchr(name, '/') || strncmp(name, PREFIX, strlen(PREFIX)) || strlen(name) > 250)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (done < len && (n = write(fd, data + done, len - done)) > 0)
		done += (size_t)n;
	if (done != len)
		rc = errno ? -errno : -EIO;
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && syscall(SYS_renameat2, d->fd, tmp, d->fd, name, RENAME_NOREPLACE))
		rc = -errno;
	if (rc)
		unlinkat(d->fd, tmp, 0);
out:
	if (rc)
		pr_warn("--output-dir %s: cannot write %s: %s", d->path, name, strerror(-rc));
	return rc;
}

struct entry {
	char *name;
	uint64_t size;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

void outdir_retain(struct outdir *d)
{
	struct entry *v = NULL, *grown;
	size_t n = 0, cap = 0, i;
	uint64_t total = 0;
	struct dirent *e;
	struct stat st;
	int fd;
	DIR *dir;

	if (!d->keep && !d->keep_bytes)
		return;
	fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) ||
		    fstatat(d->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			grown = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));
			if (!grown)
				break;
			v = grown;
			cap = cap ? cap * 2 : 64;
		}
		v[n].name = strdup(e->d_name);
		if (!v[n].name)
			break;
		v[n++].size = (uint64_t)st.st_size;
		total += (uint64_t)st.st_size;
	}
	closedir(dir);
	qsort(v, n, sizeof(*v), cmp_name);
	for (i = 0; i < n; i++) {
		if ((!d->keep || n - i <= d->keep) && (!d->keep_bytes || total <= d->keep_bytes))
			break;
		if (!unlinkat(d->fd, v[i].name, 0))
			total -= v[i].size;
	}
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}
