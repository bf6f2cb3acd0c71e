// SPDX-License-Identifier: MIT
/* Chooses the renderer, applies the user's options and writes the report whole or not at all. */
#include <errno.h>
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

static int make_opts(const struct report_opts *o, struct render_opts *ro)
{
	size_t i;

	render_opts_init(ro);
	ro->version = o->version;
	ro->mode = o->mode;
	ro->lost_samples = o->lost_samples;
	ro->pids = o->pids;
	ro->npids = o->npids;
	/* pyinstrument: a file is opened as UTF-8; a terminal gets color */
	ro->unicode = o->unicode_set ? o->unicode : (o->outfile ? true : locale_is_utf8());
	ro->color = o->color_set ? o->color : (!o->outfile && isatty(STDOUT_FILENO));
	for (i = 0; i < o->noptions; i++) {
		if (render_opts_set(ro, o->options[i])) {
			render_opts_release(ro);
			return -EINVAL;
		}
	}
	return 0;
}

int report_check(const struct report_opts *o)
{
	const struct renderer *r = find_renderer(o);
	struct render_opts ro;

	if (!r) {
		pr_err("unknown renderer '%s' (text, html, json, speedscope, pstats, session, "
		       "folded, pprof)", o->renderer ? o->renderer :
		       report_guess_renderer(o->outfile));
		return -EINVAL;
	}
	if (r->binary && !o->outfile && isatty(STDOUT_FILENO)) {
		pr_err("the %s renderer writes binary data: give -o FILE", r->name);
		return -EINVAL;
	}
	if (make_opts(o, &ro))
		return -EINVAL;
	render_opts_release(&ro);
	return 0;
}

/* mkstemp makes 0600 files; a report gets the permissions any new file would. */
static int fchmod_default(const char *path)
{
	mode_t mask = umask(0);

	umask(mask);
	return chmod(path, 0666 & ~mask);
}

/* Renders into a temporary file beside the target, then renames it into place. */
static int write_file(const struct renderer *r, struct session *s, const struct render_opts *ro,
		      const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX], tmp[2 * PATH_MAX + 16];
	FILE *f;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(dir), basename(base));
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		pr_err("cannot write %s: %s", path, strerror(errno));
		return rc;
	}
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	rc = r->fn(s, ro, f);
	if (fflush(f) || ferror(f) || fsync(fd))
		rc = rc ? rc : -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && fchmod_default(tmp))
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (!rc)
		return 0;
fail:
	pr_err("cannot write %s: %s", path, strerror(rc < 0 ? -rc : EIO));
	unlink(tmp);
	return rc ? rc : -EIO;
}

int report_write(struct session *s, const struct report_opts *o)
{
	const struct renderer *r = find_renderer(o);
	struct render_opts ro;
	int rc;

	if (!r || make_opts(o, &ro))
		return -EINVAL;
	if (o->outfile) {
		rc = write_file(r, s, &ro, o->outfile);
	} else {
		rc = r->fn(s, &ro, stdout);
		if (fflush(stdout) && !rc)
			rc = -errno;
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
