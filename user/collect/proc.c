// SPDX-License-Identifier: MIT
/* Process discovery: which ELF in /proc/PID/maps holds CPython, its version and addresses. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "elf_syms.h"
#include "log.h"
#include "proc.h"

#define MAX_CANDIDATES 8

struct mapping {
	char path[PATH_MAX];
	uint64_t start, end;	/* of the mapping with the lowest file offset */
	uint64_t offset;
	uint64_t inode;	/* of the mapped file, as the kernel reports it */
};

bool proc_exists(int pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return access(path, F_OK) == 0;
}

int proc_open_in_root(int pid, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[64];
	int dirfd, fd;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0)
		fd = -errno;
	close(dirfd);
	return fd;
}

int proc_read(int pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static bool python_like(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libpython", 9) || !strncmp(base, "python", 6);
}

/* "7f00-7f10 r-xp 00001000 08:01 1234   /usr/lib/libpython3.11.so.1.0" */
static int read_maps(int pid, struct mapping *m, int max)
{
	char line[PATH_MAX + 128], path[PATH_MAX], fname[64];
	unsigned long long start, end, offset, inode;
	int n = 0, i;
	FILE *f;

	snprintf(fname, sizeof(fname), "/proc/%d/maps", pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %*s %llx %*s %llu %4095[^\n]", &start, &end, &offset,
			   &inode, path) < 4 || path[0] != '/' || !python_like(path))
			continue;
		for (i = 0; i < n && strcmp(m[i].path, path); i++)
			;
		if (i < n) {
			if (offset < m[i].offset) {
				m[i].offset = offset;
				m[i].start = start;
				m[i].end = end;
			}
			continue;
		}
		if (n == max)
			continue;
		snprintf(m[n].path, sizeof(m[n].path), "%.*s", PATH_MAX - 1, path);
		m[n].start = start;
		m[n].end = end;
		m[n].offset = offset;
		m[n].inode = inode;
		n++;
	}
	fclose(f);
	return n;
}

/* major.minor from a file name like libpython3.6m.so.1.0, python3.11, libpython3.13t.so */
static bool version_from_name(const char *path, int *major, int *minor, bool *ft)
{
	const char *p = strrchr(path, '/');

	p = p ? p + 1 : path;
	p = strstr(p, "python");
	if (!p || !isdigit((unsigned char)p[6]) || p[7] != '.' || !isdigit((unsigned char)p[8]))
		return false;
	*major = p[6] - '0';
	*minor = (int)strtol(p + 8, (char **)&p, 10);
	*ft = *p == 't';
	return true;
}

static void strip_root(int pid, char *path);

/*
 * The mapped file itself. map_files links are the mapping's inode, so neither another mount
 * namespace nor a file swapped for a symlink can send us elsewhere; but opening them takes
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN. With CAP_SYS_PTRACE alone the path is opened below
 * the target's root (symlinks resolved in its root, never ours) and must be the mapped inode.
 */
static int open_mapped(int pid, const struct mapping *m)
{
	char link[96], path[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || (errno != EPERM && errno != EACCES))
		return fd < 0 ? -errno : fd;
	snprintf(path, sizeof(path), "%.*s", PATH_MAX - 1, m->path);
	strip_root(pid, path);
	fd = proc_open_in_root(pid, path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != m->inode) {
		close(fd);
		return -ESTALE;	/* not the file that is mapped (replaced since, or another) */
	}
	return fd;
}

enum { Q_RUNTIME, Q_VERSION, Q_CODE, Q_TYPE, Q_INTERP_HEAD, Q_MAX };

static int inspect_elf(int pid, const struct mapping *m, struct proc_python *out)
{
	struct elf_sym_query q[Q_MAX] = {
		[Q_RUNTIME] = { .name = "_PyRuntime" },
		[Q_VERSION] = { .name = "Py_Version" },
		[Q_CODE] = { .name = "PyCode_Type" },
		[Q_TYPE] = { .name = "PyType_Type" },
		[Q_INTERP_HEAD] = { .name = "interp_head" },
	};
	uint64_t first = 0, version = 0;
	int fd, err;

	fd = open_mapped(pid, m);
	if (fd < 0)
		return fd;
	err = elf_lookup(fd, q, Q_MAX);
	if (!err && !q[Q_CODE].addr)
		err = -ENOENT;
	if (!err)
		err = elf_first_load_vaddr(fd, &first);
	if (!err && q[Q_VERSION].addr &&
	    !elf_read_vaddr(fd, q[Q_VERSION].addr, &version, sizeof(version)))
		out->version_hex = (uint32_t)version;
	close(fd);
	if (err)
		return err;
	snprintf(out->elf_path, sizeof(out->elf_path), "%.*s", PATH_MAX - 1, m->path);
	out->bias = m->start - m->offset - first;
	out->runtime = q[Q_RUNTIME].addr ? q[Q_RUNTIME].addr + out->bias : 0;
	out->interp_head = q[Q_INTERP_HEAD].addr ? q[Q_INTERP_HEAD].addr + out->bias : 0;
	out->code_type = q[Q_CODE].addr + out->bias;
	out->type_type = q[Q_TYPE].addr ? q[Q_TYPE].addr + out->bias : 0;
	return 0;
}

static void exe_path(int pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* maps and exe show paths from our root; the target sees them below its own root. */
static void strip_root(int pid, char *path)
{
	char link[64], root[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/root", pid);
	n = readlink(link, root, sizeof(root) - 1);
	if (n <= 1)
		return;
	root[n] = '\0';
	if (!strncmp(path, root, (size_t)n) && path[n] == '/')
		memmove(path, path + n, strlen(path + n) + 1);
}

int proc_python_find(int pid, struct proc_python *out, char *err, size_t errlen)
{
	struct mapping maps[MAX_CANDIDATES];
	char comm[64] = "?";
	int n, i, pass, rc;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (!proc_exists(pid)) {
		snprintf(err, errlen, "no process with pid %d", pid);
		return -ESRCH;
	}
	proc_comm(pid, 0, comm, sizeof(comm));
	exe_path(pid, out->exe, sizeof(out->exe));
	n = read_maps(pid, maps, MAX_CANDIDATES);
	if (n < 0) {
		snprintf(err, errlen, "cannot read /proc/%d/maps: %s", pid, strerror(-n));
		return n;
	}
	/* a shared libpython holds the runtime; the executable does only when static */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const char *base = strrchr(maps[i].path, '/') + 1;

			if (!strncmp(base, "libpython", 9) != !pass)
				continue;
			if (!version_from_name(maps[i].path, &out->major, &out->minor,
					       &out->free_threaded) &&
			    !version_from_name(out->exe, &out->major, &out->minor,
					       &out->free_threaded))
				continue;
			rc = inspect_elf(pid, &maps[i], out);
			if (!rc)
				goto found;
		}
	}
	snprintf(err, errlen, "process %d (%s) is not a Python process: no libpython or python "
		 "binary with CPython symbols is mapped", pid, comm);
	return -ENOEXEC;
found:
	strip_root(pid, out->elf_path);
	strip_root(pid, out->exe);
	if (out->version_hex) {
		out->major = out->version_hex >> 24;
		out->minor = (out->version_hex >> 16) & 0xff;
	}
	return 0;
}

/* The first len - 1 bytes of a small /proc file into buf; its length, or -errno. */
static ssize_t read_small(const char *fname, char *buf, size_t len)
{
	FILE *f = fopen(fname, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	return (ssize_t)n;
}

int proc_cmdline(int pid, char *buf, size_t len)
{
	char fname[64];
	ssize_t n;

	snprintf(fname, sizeof(fname), "/proc/%d/cmdline", pid);
	n = read_small(fname, buf, len);
	if (n < 0)
		return (int)n;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';	/* between arguments */
	log_sanitize(buf, n);
	buf[n] = '\0';
	return 0;
}

int proc_comm(int pid, int tid, char *buf, size_t len)
{
	char fname[64];
	ssize_t n;

	if (tid > 0)
		snprintf(fname, sizeof(fname), "/proc/%d/task/%d/comm", pid, tid);
	else
		snprintf(fname, sizeof(fname), "/proc/%d/comm", pid);
	n = read_small(fname, buf, len);
	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	return 0;
}

int proc_cpu_time(int pid, double *seconds)
{
	unsigned long long utime, stime;
	char fname[64], line[1024], *p;
	ssize_t n;

	snprintf(fname, sizeof(fname), "/proc/%d/stat", pid);
	n = read_small(fname, line, sizeof(line));
	if (n < 0)
		return (int)n;
	line[n] = '\0';
	/* "pid (comm) S ppid ..." - comm may hold spaces and parentheses: skip to the last ')' */
	p = strrchr(line, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -EINVAL;
	*seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

int proc_ns_pid(int pid, int tid)
{
	char fname[64], line[256];
	int last = tid, v;
	char *p, *end;
	FILE *f;

	snprintf(fname, sizeof(fname), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(fname, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		for (p = line + 6; (v = (int)strtol(p, &end, 10)), end != p; p = end)
			last = v;
		break;
	}
	fclose(f);
	return last;
}

int proc_same_pid_ns(int pid)
{
	char path[64];
	struct stat self, other;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat("/proc/self/ns/pid", &self) || stat(path, &other))
		return -errno;
	return self.st_dev == other.st_dev && self.st_ino == other.st_ino;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int proc_tids(int pid, int **tids)
{
	char path[64];
	struct dirent *de;
	int *v = NULL, *nv, n = 0, cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || tid > INT32_MAX)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (int)tid;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), int_cmp);
	*tids = v;
	return n;
}

bool proc_tids_has(const int *tids, int n, int tid)
{
	return n > 0 && bsearch(&tid, tids, (size_t)n, sizeof(*tids), int_cmp);
}
