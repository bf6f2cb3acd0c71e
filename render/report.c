// SPDX-License-Identifier: MIT
/* Chooses the renderer, applies the user's options and writes the report whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "processors.h"
#include "render.h"
#include "report.h"

typedef int (*render_fn)(struct session *s, const struct render_opts *o, FILE *out);

static int render_session(struct session *s, const struct render_opts *o, FILE *out)
{
	(void)o;
	return session_save(s, out);
}

struct renderer {
	const char *name;
	render_fn fn;
	bool binary;	/* not for a terminal */
};

static const struct renderer renderers[] = {
	{ "text", render_text, false },
	{ "session", render_session, false },
	{ "pyisession", render_session, false },
	{ "json", render_json, false },
	{ "speedscope", render_speedscope, false },
	{ "pstats", render_pstats, true },
	{ "folded", render_folded, false },
	{ "pprof", render_pprof, true },
	{ "html", render_html, false },
};

/* pyinstrument's guess (__main__.py), plus our own formats. */
static const struct {
	const char *suffix;
	const char *renderer;
} by_extension[] = {
	{ ".speedscope.json", "speedscope" },
	{ ".json", "json" },
	{ ".txt", "text" },
	{ ".html", "html" },
	{ ".htm", "html" },
	{ ".pyisession", "session" },
	{ ".pstats", "pstats" },
	{ ".prof", "pstats" },
	{ ".folded", "folded" },
	{ ".collapsed", "folded" },
	{ ".pb.gz", "pprof" },
	{ ".pprof", "pprof" },
};

const char *report_guess_renderer(const char *outfile)
{
	size_t i, n, m;

	if (!outfile)
		return NULL;
	n = strlen(outfile);
	for (i = 0; i < sizeof(by_extension) / sizeof(by_extension[0]); i++) {
		m = strlen(by_extension[i].suffix);
		if (n > m && !strcasecmp(outfile + n - m, by_extension[i].suffix))
			return by_extension[i].renderer;
	}
	return NULL;
}

static const struct renderer *find_renderer(const struct report_opts *o)
{
	const char *name = o->renderer ? o->renderer : report_guess_renderer(o->outfile);
	size_t i;

	if (!name)
		name = "text";
	for (i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++) {
		if (!strcmp(renderers[i].name, name))
			return &renderers[i];
	}
	return NULL;
}

int report_glob_to_regex(const char *glob, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p, *close;

#define PUT(c) do { if (n + 2 >= outlen) return -E2BIG; out[n++] = (c); } while (0)
	PUT('^');
	for (p = glob; *p; p++) {
		if (*p == '*') {
			PUT('.');
			PUT('*');
		} else if (*p == '?') {
			PUT('.');
		} else if (*p == '[' && (close = strchr(p + 1 + (p[1] == '!' || p[1] == ']'), ']'))) {
			/* a bracket set, "!" negating as in fnmatch */
			PUT('[');
			p++;
			if (*p == '!') {
				PUT('^');
				p++;
			}
			for (; p < close; p++)
				PUT(*p);
			PUT(']');
		} else {
			if (strchr(".^$+(){}|\\[]", *p))
				PUT('\\');
			PUT(*p);
		}
	}
	PUT('$');
	out[n] = '\0';
#undef PUT
	return 0;
}

static bool locale_is_utf8(void)
{
	const char *cs;

	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	return cs && (strcasestr(cs, "utf-8") || strcasestr(cs, "utf8"));
}

/* "-o -" and "-o /dev/stdout" are stdout: a terminal's encoding and colors apply. */
static bool to_stdout(const struct report_opts *o)
{
	return !o->outfile || !strcmp(o->outfile, "-") || !strcmp(o->outfile, "/dev/stdout");
}

static int make_opts(const struct report_opts *o, struct render_opts *ro)
{
	bool file = !to_stdout(o);
	size_t i;

	render_opts_init(ro);
	ro->version = o->version;
	ro->mode = o->mode;
	ro->lost_samples = o->lost_samples;
	ro->pids = o->pids;
	ro->npids = o->npids;
	/* pyinstrument: a file is opened as UTF-8; a terminal gets color */
	ro->unicode = o->unicode_set ? o->unicode : (file ? true : locale_is_utf8());
	ro->color = o->color_set ? o->color : (!file && isatty(STDOUT_FILENO));
	for (i = 0; i < o->noptions; i++) {
		if (render_opts_set(ro, o->options[i]))
			goto bad;
	}
	/* a regex that does not compile is an error before any output, whatever the renderer */
	if (processor_options_check(&ro->processor_options))
		goto bad;
	return 0;
bad:
	render_opts_release(ro);
	return -EINVAL;
}

int report_check(const struct report_opts *o)
{
	const struct renderer *r = find_renderer(o);
	struct render_opts ro;
	bool flat_timeline;

	if (!r) {
		pr_err("unknown renderer '%s' (text, html, json, speedscope, pstats, session, "
		       "folded, pprof)", o->renderer ? o->renderer :
		       report_guess_renderer(o->outfile));
		return -EINVAL;
	}
	if (r->binary && to_stdout(o) && isatty(STDOUT_FILENO)) {
		pr_err("the %s renderer writes binary data: give -o FILE", r->name);
		return -EINVAL;
	}
	if (make_opts(o, &ro))
		return -EINVAL;
	flat_timeline = r->fn == render_text && ro.flat && ro.timeline;
	render_opts_release(&ro);
	if (flat_timeline) {
		pr_err("Cannot use timeline and flat options together.");	/* pyinstrument's */
		return -EINVAL;
	}
	return o->outfile ? report_check_output(o->outfile) : 0;
}

/*
 * Where -o sends the report. A new or regular file is written beside and renamed into place;
 * "-", /dev/stdout and /dev/stderr are the process's own streams; an existing character device
 * or FIFO (/dev/null, a pipe) is written as a stream and never replaced. Anything else, a
 * symbolic link above all, is refused: the tool runs as root and the path may be someone
 * else's.
 */
enum output_kind { OUT_FD, OUT_STREAM, OUT_FILE };

static int classify_output(const char *path, enum output_kind *kind, int *fd)
{
	struct stat st;

	*fd = -1;
	if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout")) {
		*kind = OUT_FD;
		*fd = STDOUT_FILENO;
		return 0;
	}
	if (!strcmp(path, "/dev/stderr")) {
		*kind = OUT_FD;
		*fd = STDERR_FILENO;
		return 0;
	}
	*kind = OUT_FILE;
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (S_ISREG(st.st_mode))
		return 0;
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
		*kind = OUT_STREAM;
		return 0;
	}
	return S_ISLNK(st.st_mode) ? -ELOOP : S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

static void output_error(const char *path, int rc)
{
	if (rc == -ELOOP)
		pr_err("cannot write %s: it is a symbolic link, not followed (give the file it "
		       "points to)", path);
	else if (rc == -EINVAL)
		pr_err("cannot write %s: not a regular file, a character device or a FIFO", path);
	else if (rc == -EXDEV)
		pr_err("cannot write %s: it was replaced while the report was written", path);
	else
		pr_err("cannot write %s: %s", path, strerror(-rc));
}

/* The directory of path, held open so every later step happens in the same one. */
static int open_parent(const char *path, char *base, size_t baselen)
{
	char dir[PATH_MAX], b[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(base, baselen, "%s", basename(b));
	return open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* A new, empty, private file beside base in dirfd: its name in tmp. */
static int create_temp(int dirfd, const char *base, char *tmp, size_t tmplen)
{
	static unsigned int seq;
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		snprintf(tmp, tmplen, ".%.200s.%d.%u", base, (int)getpid(), seq++);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int report_check_output(const char *path)
{
	char base[PATH_MAX], tmp[PATH_MAX];
	enum output_kind kind;
	int rc, dirfd, fd;

	rc = classify_output(path, &kind, &fd);
	if (rc || kind != OUT_FILE)
		goto out;
	/* the directory must take a new file now, not after an hour of sampling */
	dirfd = open_parent(path, base, sizeof(base));
	if (dirfd < 0) {
		rc = -errno;
		goto out;
	}
	fd = create_temp(dirfd, base, tmp, sizeof(tmp));
	rc = fd < 0 ? fd : 0;
	if (fd >= 0) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
	}
	close(dirfd);
out:
	if (rc)
		output_error(path, rc);
	return rc;
}

/* Writes the report to f. 0 or -errno (not yet reported). */
static int render_to(const struct renderer *r, struct session *s, const struct render_opts *ro,
		     FILE *f)
{
	int rc = r->fn(s, ro, f);

	if (fflush(f) || ferror(f))
		rc = rc ? rc : -(errno ? errno : EIO);
	return rc;
}

/* A device or FIFO that exists: opened without following a link, written, never replaced. */
static int write_stream(const struct renderer *r, struct session *s,
			const struct render_opts *ro, const char *path)
{
	struct stat st;
	FILE *f;
	int fd, rc;

	/* O_NONBLOCK: a FIFO without a reader is an error, not a hang */
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENXIO ? -EPIPE : -errno;
	if (fstat(fd, &st) || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		close(fd);
		return -EXDEV;	/* it changed since it was looked at */
	}
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = render_to(r, s, ro, f);
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* The process's own stdout or stderr. */
static int write_fd(const struct renderer *r, struct session *s, const struct render_opts *ro,
		    int fd)
{
	return render_to(r, s, ro, fd == STDERR_FILENO ? stderr : stdout);
}

/*
 * Moves the finished temporary file over base: only a regular file is replaced, nothing when
 * base did not exist (it may have appeared since), and the name must then be our file.
 */
static int publish(int dirfd, int fd, const char *tmp, const char *base)
{
	struct stat st, ours;
	bool existed;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
		existed = true;
	} else if (errno == ENOENT) {
		existed = false;
	} else {
		return -errno;
	}
	if (existed ? renameat(dirfd, tmp, dirfd, base) :
		      renameat2(dirfd, tmp, dirfd, base, RENAME_NOREPLACE))
		return errno == EEXIST ? -EXDEV : -errno;
	if (fstat(fd, &ours) || fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) ||
	    st.st_ino != ours.st_ino || st.st_dev != ours.st_dev)
		return -EXDEV;	/* the temporary name was swapped for something else */
	return 0;
}

/* Renders into a temporary file beside the target, then renames it into place. */
static int write_file(const struct renderer *r, struct session *s, const struct render_opts *ro,
		      const char *path)
{
	char base[PATH_MAX], tmp[PATH_MAX];
	int dirfd, fd = -1, rc;
	mode_t mask;
	FILE *f;

	dirfd = open_parent(path, base, sizeof(base));
	if (dirfd < 0)
		return -errno;
	fd = create_temp(dirfd, base, tmp, sizeof(tmp));
	if (fd < 0) {
		close(dirfd);
		return fd;
	}
	f = fdopen(dup(fd), "w");
	rc = f ? render_to(r, s, ro, f) : -errno;
	if (f && fclose(f) && !rc)
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	/* a report gets the permissions any new file would; set on the descriptor, never by
	 * name: the name is in a directory others may write */
	mask = umask(0);
	umask(mask);
	if (!rc && fchmod(fd, 0666 & ~mask))
		rc = -errno;
	if (!rc)
		rc = publish(dirfd, fd, tmp, base);
	if (rc)
		unlinkat(dirfd, tmp, 0);	/* ours, or a name someone put there: not followed */
	close(fd);
	close(dirfd);
	return rc;
}

int report_write(struct session *s, const struct report_opts *o)
{
	const struct renderer *r = find_renderer(o);
	struct render_opts ro;
	int rc;

	if (!r || make_opts(o, &ro))
		return -EINVAL;
	/* a report's size and writing time do not grow with the session's length */
	rc = session_limit_records(s, SESSION_REPORT_RECORDS);
	if (rc) {
		pr_err("cannot write the report: %s", strerror(-rc));
		render_opts_release(&ro);
		return rc;
	}
	if (o->outfile) {
		enum output_kind kind;
		int fd;

		rc = classify_output(o->outfile, &kind, &fd);
		if (!rc)
			rc = kind == OUT_FD ? write_fd(r, s, &ro, fd) :
			     kind == OUT_STREAM ? write_stream(r, s, &ro, o->outfile) :
			     write_file(r, s, &ro, o->outfile);
		if (rc)
			output_error(o->outfile, rc);
	} else {
		rc = write_fd(r, s, &ro, STDOUT_FILENO);
		if (rc)
			pr_err("cannot write the report: %s", strerror(rc < 0 ? -rc : EIO));
	}
	render_opts_release(&ro);
	return rc;
}

int report_render(struct session *s, const struct report_opts *o, FILE *out)
{
	const struct renderer *r = find_renderer(o);
	struct render_opts ro;
	int rc;

	if (!r || make_opts(o, &ro))
		return -EINVAL;
	rc = r->fn(s, &ro, out);
	render_opts_release(&ro);
	return rc;
}
