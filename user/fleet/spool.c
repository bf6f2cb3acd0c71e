// SPDX-License-Identifier: MIT
/*
 * Windows waiting to be sent: a FIFO in memory up to a byte cap, then files in --spool-dir up to
 * another cap, then dropped and counted. Items carry one sequence number so the sender always
 * takes the oldest, wherever it is. The directory survives a restart: what a stopped agent left
 * there is sent by the next one.
 *
 * A spool file is "PYIPUSH1\n", the ingest query string, "\n", then the pprof bytes. Files are
 * created with O_EXCL | O_NOFOLLOW relative to the directory's descriptor, which was opened
 * without following a symlink and must belong to us and be closed to others.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "log.h"

#define MAGIC "PYIPUSH1\n"
#define SUFFIX ".pyipush"

struct disk_entry {
	uint64_t seq;
	uint64_t size;
};

struct spool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct spool_item *head, *tail;	/* in memory, oldest first */
	uint64_t mem_cap, disk_cap;
	int dirfd;
	struct disk_entry *disk;	/* on disk, oldest first from disk_head */
	size_t disk_head, disk_len, disk_cap_n;
	uint64_t next_seq;
	struct spool_stats st;
	bool woken;
};

static void item_free(struct spool_item *it)
{
	if (!it)
		return;
	free(it->query);
	free(it->body);
	free(it);
}

static uint64_t item_bytes(const struct spool_item *it)
{
	return it->len + strlen(it->query) + sizeof(*it);
}

static void file_name(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%016llx" SUFFIX, (unsigned long long)seq);
}

static int disk_append(struct spool *sp, uint64_t seq, uint64_t size)
{
	struct disk_entry *d;

	if (sp->disk_head && sp->disk_len == sp->disk_cap_n) {
		/* compact: entries before disk_head are gone */
		memmove(sp->disk, sp->disk + sp->disk_head,
			(sp->disk_len - sp->disk_head) * sizeof(*d));
		sp->disk_len -= sp->disk_head;
		sp->disk_head = 0;
	}
	if (sp->disk_len == sp->disk_cap_n) {
		d = realloc(sp->disk, (sp->disk_cap_n ? sp->disk_cap_n * 2 : 64) * sizeof(*d));
		if (!d)
			return -ENOMEM;
		sp->disk = d;
		sp->disk_cap_n = sp->disk_cap_n ? sp->disk_cap_n * 2 : 64;
	}
	sp->disk[sp->disk_len++] = (struct disk_entry){ seq, size };
	return 0;
}

static void disk_push_front(struct spool *sp, uint64_t seq, uint64_t size)
{
	if (!sp->disk_head) {
		if (disk_append(sp, seq, size))
			return;	/* stays on disk: the next run sends it */
		memmove(sp->disk + 1, sp->disk, (sp->disk_len - 1) * sizeof(*sp->disk));
		sp->disk_head = 1;
	}
	sp->disk[--sp->disk_head] = (struct disk_entry){ seq, size };
}

static int cmp_entry(const void *a, const void *b)
{
	const struct disk_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What an earlier run left: sent first, oldest first. */
static void scan_dir(struct spool *sp)
{
	int fd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat st;
	char *end;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		unsigned long long seq = strtoull(e->d_name, &end, 16);

		if (end != e->d_name + 16 || strcmp(end, SUFFIX) ||
		    fstatat(sp->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (disk_append(sp, seq, (uint64_t)st.st_size))
			break;
		sp->st.disk_bytes += (uint64_t)st.st_size;
		if (seq >= sp->next_seq)
			sp->next_seq = seq + 1;
	}
	closedir(d);
	if (sp->disk_len)	/* qsort(NULL, 0, ...) is undefined */
		qsort(sp->disk, sp->disk_len, sizeof(*sp->disk), cmp_entry);
	sp->st.disk_items = sp->disk_len;
	if (sp->disk_len)
		pr_info("spool: %zu windows left by an earlier run will be sent", sp->disk_len);
}

static int open_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (mkdir(path, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "--spool-dir %s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--spool-dir %s: %s", path,
			 errno == ELOOP || errno == ENOTDIR ? "not a directory (or a symlink)" :
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen, "--spool-dir %s: must belong to this user and not be "
			 "writable by others", path);
		close(fd);
		return -1;
	}
	return fd;
}

struct spool *spool__new(uint64_t mem_cap, const char *dir, uint64_t disk_cap, char *err,
			 size_t errlen)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	sp->mem_cap = mem_cap;
	sp->disk_cap = disk_cap;
	sp->dirfd = -1;
	if (dir) {
		sp->dirfd = open_dir(dir, err, errlen);
		if (sp->dirfd < 0) {
			spool__free(sp);
			return NULL;
		}
		scan_dir(sp);
	}
	return sp;
}

void spool__free(struct spool *sp)
{
	struct spool_item *it, *next;

	if (!sp)
		return;
	for (it = sp->head; it; it = next) {
		next = it->next;
		item_free(it);
	}
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->disk);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	free(sp);
}

/* Writes an item to the directory, whole or not at all. Called with the lock held. */
static int write_item(struct spool *sp, uint64_t seq, const char *query, const uint8_t *body,
		      size_t len)
{
	char name[64], tmp[80];
	uint64_t size = sizeof(MAGIC) - 1 + strlen(query) + 1 + len;
	FILE *f;
	int fd, rc = 0;

	if (sp->dirfd < 0 || sp->st.disk_bytes + size > sp->disk_cap)
		return -ENOSPC;
	file_name(seq, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlinkat(sp->dirfd, tmp, 0);
		return -ENOMEM;
	}
	if (fputs(MAGIC, f) < 0 || fputs(query, f) < 0 || fputc('\n', f) < 0 ||
	    fwrite(body, 1, len, f) != len || fflush(f) || fsync(fd))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc && renameat(sp->dirfd, tmp, sp->dirfd, name))
		rc = -errno;
	if (!rc)
		rc = disk_append(sp, seq, size);
	if (rc) {
		unlinkat(sp->dirfd, tmp, 0);
		return rc;
	}
	sp->st.disk_bytes += size;
	sp->st.disk_items++;
	return 0;
}

static void push_back(struct spool *sp, struct spool_item *it)
{
	it->next = NULL;
	if (sp->tail)
		sp->tail->next = it;
	else
		sp->head = it;
	sp->tail = it;
}

int spool_put(struct spool *sp, const char *query, const uint8_t *body, size_t len)
{
	struct spool_item *it = calloc(1, sizeof(*it));
	int rc = 0;

	if (it) {
		it->query = strdup(query);
		it->body = malloc(len ? len : 1);
	}
	pthread_mutex_lock(&sp->lock);
	if (!it || !it->query || !it->body) {
		rc = -ENOMEM;
		goto drop;
	}
	memcpy(it->body, body, len);
	it->len = len;
	it->seq = sp->next_seq++;
	if (sp->st.mem_bytes + item_bytes(it) <= sp->mem_cap) {
		sp->st.mem_bytes += item_bytes(it);
		push_back(sp, it);
		it = NULL;
	} else {
		rc = write_item(sp, it->seq, query, body, len);
		if (rc)
			goto drop;
		item_free(it);
		it = NULL;
	}
	sp->st.queued++;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	return 0;
drop:
	sp->st.dropped++;
	pthread_mutex_unlock(&sp->lock);
	item_free(it);
	return rc == -ENOMEM ? rc : -ENOSPC;
}

/* Reads the oldest disk item. Called with the lock held. */
static struct spool_item *read_disk_item(struct spool *sp)
{
	struct disk_entry e = sp->disk[sp->disk_head];
	struct spool_item *it = NULL;
	char name[64], *nl;
	uint8_t *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	sp->disk_head++;
	file_name(e.seq, name, sizeof(name));
	fd = openat(sp->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (1 << 30))
		goto bad;
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (!buf || got != (size_t)st.st_size || got < sizeof(MAGIC) ||
	    memcmp(buf, MAGIC, sizeof(MAGIC) - 1))
		goto bad;
	buf[got] = '\0';
	nl = memchr(buf + sizeof(MAGIC) - 1, '\n', got - (sizeof(MAGIC) - 1));
	it = calloc(1, sizeof(*it));
	if (!nl || !it)
		goto bad;
	*nl = '\0';
	it->query = strdup((char *)buf + sizeof(MAGIC) - 1);
	it->len = got - (size_t)((uint8_t *)nl + 1 - buf);
	it->body = malloc(it->len ? it->len : 1);
	if (!it->query || !it->body)
		goto bad;
	memcpy(it->body, nl + 1, it->len);
	it->seq = e.seq;
	it->on_disk = true;
	free(buf);
	close(fd);
	return it;
bad:
	/* unreadable or not ours: left where it is, never sent, never deleted */
	pr_warn("spool: skipping %s (unreadable or not a spool file)", name);
	sp->st.disk_bytes -= e.size <= sp->st.disk_bytes ? e.size : sp->st.disk_bytes;
	sp->st.disk_items--;
	item_free(it);
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct spool_item *spool_get(struct spool *sp, int timeout_ms)
{
	struct spool_item *it = NULL;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sp->lock);
	while (!sp->head && sp->disk_head == sp->disk_len && !sp->woken) {
		if (pthread_cond_timedwait(&sp->cond, &sp->lock, &until) == ETIMEDOUT)
			break;
	}
	sp->woken = false;
	while (!it && (sp->head || sp->disk_head < sp->disk_len)) {
		bool disk_first = sp->disk_head < sp->disk_len &&
				  (!sp->head || sp->disk[sp->disk_head].seq < sp->head->seq);

		if (disk_first) {
			it = read_disk_item(sp);
		} else {
			it = sp->head;
			sp->head = it->next;
			if (!sp->head)
				sp->tail = NULL;
			it->next = NULL;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return it;
}

void spool_done(struct spool *sp, struct spool_item *it, bool sent, bool rejected)
{
	char name[64];
	uint64_t size;

	pthread_mutex_lock(&sp->lock);
	if (!sent) {
		if (it->on_disk) {
			/* still on disk: back at the front of the index */
			disk_push_front(sp, it->seq, sizeof(MAGIC) - 1 + strlen(it->query) + 1 +
					it->len);
			item_free(it);
		} else {
			it->next = sp->head;
			sp->head = it;
			if (!sp->tail)
				sp->tail = it;
		}
		pthread_mutex_unlock(&sp->lock);
		return;
	}
	if (rejected)
		sp->st.rejected++;
	else
		sp->st.sent++;
	if (it->on_disk) {
		file_name(it->seq, name, sizeof(name));
		unlinkat(sp->dirfd, name, 0);
		size = sizeof(MAGIC) - 1 + strlen(it->query) + 1 + it->len;
		sp->st.disk_bytes -= size <= sp->st.disk_bytes ? size : sp->st.disk_bytes;
		sp->st.disk_items--;
	} else {
		sp->st.mem_bytes -= item_bytes(it);
	}
	pthread_mutex_unlock(&sp->lock);
	item_free(it);
}

uint64_t spool_persist(struct spool *sp)
{
	struct spool_item *it;
	uint64_t kept = 0;

	pthread_mutex_lock(&sp->lock);
	while ((it = sp->head)) {
		sp->head = it->next;
		sp->st.mem_bytes -= item_bytes(it);
		if (!write_item(sp, it->seq, it->query, it->body, it->len))
			kept++;
		else
			sp->st.dropped++;
		item_free(it);
	}
	sp->tail = NULL;
	kept = sp->disk_len - sp->disk_head;
	pthread_mutex_unlock(&sp->lock);
	return kept;
}

void spool_stats(struct spool *sp, struct spool_stats *st)
{
	pthread_mutex_lock(&sp->lock);
	*st = sp->st;
	st->disk_items = sp->disk_len - sp->disk_head;
	pthread_mutex_unlock(&sp->lock);
}

void spool_wake(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	sp->woken = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}
