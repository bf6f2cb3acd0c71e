// SPDX-License-Identifier: MIT
/*
 * The HTML report: the embedded viewer page (html_assets.h) around the session as a payload,
 * docs/html-report.md version 1. The session becomes tables (strings, frames, stacks, samples)
 * built once in memory; the JSON text is streamed, never held whole: small payloads go out as
 * JSON, larger ones through deflate (zlib wrapper) and base64 as they are produced.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "html_assets.h"
#include "render.h"
#include "utf8.h"

#define HTML_JSON_LIMIT (16 * 1024)	/* payloads under this stay greppable JSON */
#define HTML_CHUNK (64 * 1024)		/* JSON text handed to deflate at a time */
#define HTML_FAST_DEFLATE 100000	/* records past which deflate trades size for speed */
/* pyinstrument merges identical consecutive samples past a few million; so do we, per thread */
#define HTML_MERGE_THRESHOLD 2000000
#define NONE UINT32_MAX

enum frame_flag {
	FLAG_SYNTHETIC = 1,
	FLAG_APP = 2,
	FLAG_TRACEBACKHIDE = 4,
	FLAG_THREAD = 8,
	FLAG_PROCESS = 16,
	FLAG_IDLE = 32,
};

/* ---- output: JSON text, then either as is or deflate + base64, to the FILE -------------- */

struct sink {
	FILE *out;
	char *buf;		/* JSON text not yet written */
	size_t len;
	bool deflating;
	bool zinit;
	int level;		/* deflate level */
	z_stream z;
	unsigned char rest[3];	/* deflate output waiting for a full base64 group */
	size_t nrest;
	int err;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_group(const unsigned char *in, size_t n, char *out)
{
	uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0) |
		     (n > 2 ? in[2] : 0);

	out[0] = b64[v >> 18];
	out[1] = b64[(v >> 12) & 63];
	out[2] = n > 1 ? b64[(v >> 6) & 63] : '=';
	out[3] = n > 2 ? b64[v & 63] : '=';
}

/* Base64 of deflate's output; a partial group waits in k->rest for the next call. */
static void sink_b64(struct sink *k, const unsigned char *p, size_t n)
{
	char out[4096];
	size_t o = 0;

	while (k->nrest && k->nrest < 3 && n) {
		k->rest[k->nrest++] = *p++;
		n--;
	}
	if (k->nrest == 3) {
		b64_group(k->rest, 3, out);
		o = 4;
		k->nrest = 0;
	}
	for (; n >= 3; p += 3, n -= 3) {
		b64_group(p, 3, out + o);
		o += 4;
		if (o == sizeof(out)) {
			fwrite(out, 1, o, k->out);
			o = 0;
		}
	}
	fwrite(out, 1, o, k->out);
	memcpy(k->rest + k->nrest, p, n);
	k->nrest += n;
}

static void sink_deflate(struct sink *k, const char *p, size_t n, int flush)
{
	unsigned char out[HTML_CHUNK];
	int ret;

	k->z.next_in = (unsigned char *)p;
	k->z.avail_in = (uInt)n;
	do {
		k->z.next_out = out;
		k->z.avail_out = sizeof(out);
		ret = deflate(&k->z, flush);
		if (ret == Z_STREAM_ERROR) {
			k->err = -EIO;
			return;
		}
		sink_b64(k, out, sizeof(out) - k->z.avail_out);
	} while (k->z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
}

static void sink_open_element(struct sink *k, const char *encoding)
{
	fprintf(k->out, "<script type=\"application/octet-stream\" id=\"pyi-data\" "
		"data-encoding=\"%s\">", encoding);
}

static void sink_start_deflate(struct sink *k)
{
	if (deflateInit(&k->z, k->level) != Z_OK) {
		k->err = -ENOMEM;
		return;
	}
	k->zinit = true;
	k->deflating = true;
	sink_open_element(k, "deflate-base64");
}

static void sink_write(struct sink *k, const char *p, size_t n)
{
	if (k->err)
		return;
	if (k->len + n > HTML_CHUNK) {
		if (!k->deflating)
			sink_start_deflate(k);
		if (k->err)
			return;
		sink_deflate(k, k->buf, k->len, Z_NO_FLUSH);
		k->len = 0;
		if (n > HTML_CHUNK) {
			sink_deflate(k, p, n, Z_NO_FLUSH);
			return;
		}
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

static void sink_finish(struct sink *k)
{
	char out[4];

	if (k->err)
		return;
	if (!k->deflating && k->len >= HTML_JSON_LIMIT)
		sink_start_deflate(k);
	if (k->err)
		return;
	if (k->deflating) {
		sink_deflate(k, k->buf, k->len, Z_FINISH);
		if (k->nrest) {
			b64_group(k->rest, k->nrest, out);
			fwrite(out, 1, 4, k->out);
		}
	} else {
		sink_open_element(k, "json");
		fwrite(k->buf, 1, k->len, k->out);
	}
	fputs("</script>", k->out);
}

/* ---- JSON values ---------------------------------------------------------------------- */

static void put(struct sink *k, const char *s)
{
	sink_write(k, s, strlen(s));
}

/*
 * One character of a JSON string into out (room for 6 bytes): escapes that keep the text inert
 * inside <script>, U+FFFD for bytes that are not UTF-8. Returns bytes written; *used: consumed.
 */
static size_t put_char(const unsigned char *p, size_t n, char *out, size_t *used)
{
	uint32_t cp;
	size_t len;

	*used = 1;
	if (*p == '"' || *p == '\\') {
		out[0] = '\\';
		out[1] = (char)*p;
		return 2;
	}
	if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
		return (size_t)sprintf(out, "\\u%04x", *p);
	if (*p < 0x80) {
		out[0] = (char)*p;
		return 1;
	}
	len = utf8_decode(p, n, &cp);
	if (!len) {
		memcpy(out, "\xef\xbf\xbd", 3);
		return 3;
	}
	*used = len;
	if (cp == 0x2028 || cp == 0x2029)
		return (size_t)sprintf(out, "\\u%04x", cp);
	memcpy(out, p, len);
	return len;
}

static void put_str(struct sink *k, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char buf[256];
	size_t o = 0, used;

	buf[o++] = '"';
	while (p < end) {
		if (o > sizeof(buf) - 8) {
			sink_write(k, buf, o);
			o = 0;
		}
		o += put_char(p, (size_t)(end - p), buf + o, &used);
		p += used;
	}
	buf[o++] = '"';
	sink_write(k, buf, o);
}

static void put_cstr(struct sink *k, const char *s)
{
	put_str(k, s ? s : "", s ? strlen(s) : 0);
}

static void put_int(struct sink *k, long long v)
{
	char buf[24];

	sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", v));
}

/* Seconds with at most 6 decimals, trailing zeros trimmed: the bulk of a big payload. */
static void put_usec(struct sink *k, double v)
{
	char buf[40];
	long long us, whole;
	int n, frac;

	if (!isfinite(v) || fabs(v) > 9e12) {
		put(k, isfinite(v) ? (v > 0 ? "9e12" : "-9e12") : "0");
		return;
	}
	us = llround(v * 1e6);
	if (us < 0) {
		put(k, "-");
		us = -us;
	}
	whole = us / 1000000;
	frac = (int)(us % 1000000);
	if (!frac) {
		put_int(k, whole);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%lld.%06d", whole, frac);
	while (buf[n - 1] == '0')
		n--;
	sink_write(k, buf, (size_t)n);
}

/* Header floats at full precision (Python's repr); JSON has no NaN or Infinity. */
static void put_float(struct sink *k, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		put(k, "0");
		return;
	}
	sink_write(k, buf, session_format_float(v, buf, sizeof(buf)));
}

/* ---- interning: open addressing over indices into the caller's arrays ---------------- */

struct itab {
	uint32_t *slots;	/* NONE or index */
	size_t mask;
	size_t n;
};

typedef bool (*itab_eq)(const void *ctx, uint32_t idx, const void *key);
typedef uint64_t (*itab_hash_of)(const void *ctx, uint32_t idx);

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static int itab_grow(struct itab *t, itab_hash_of hash_of, const void *ctx)
{
	size_t cap = t->mask ? (t->mask + 1) * 2 : 1024;
	uint32_t *slots = malloc(cap * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	for (size_t i = 0; t->mask && i <= t->mask; i++) {
		size_t j, m = cap - 1;

		if (t->slots[i] == NONE)
			continue;
		for (j = hash_of(ctx, t->slots[i]) & m; slots[j] != NONE; j = (j + 1) & m)
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/* The slot holding key's index, or the empty slot where it belongs (after growing). */
static uint32_t *itab_find(struct itab *t, uint64_t hash, itab_eq eq, itab_hash_of hash_of,
			   const void *ctx, const void *key)
{
	size_t j;

	if ((t->n + 1) * 2 > t->mask + 1 && itab_grow(t, hash_of, ctx))
		return NULL;
	for (j = hash & t->mask; t->slots[j] != NONE; j = (j + 1) & t->mask)
		if (eq(ctx, t->slots[j], key))
			break;
	return &t->slots[j];
}

/* ---- the payload's tables ------------------------------------------------------------- */

struct ostr {
	char *p;
	size_t n;
};

struct oframe {
	uint32_t function, file, cls;	/* string indices; cls NONE: -1 */
	uint32_t flags;
	long long line;
};

struct ostack {
	uint32_t parent;	/* NONE: -1 */
	uint32_t frame;
	uint32_t thread;	/* NONE: a process root */
	uint32_t process;
};

struct othread {
	uint32_t stack;
	uint32_t name;		/* string index */
	long long pid;
	double elapsed;		/* cumulative weight so far: the next sample's time */
	uint32_t head, tail;	/* this thread's records, in time order, linked by next */
};

struct oprocess {
	uint32_t stack;
	long long pid;
	char *cmdline;
	uint32_t thread;	/* synthetic thread for samples with no thread root, or NONE */
};

struct orecord {
	double time;
	double weight;
	uint32_t stack;
	uint32_t next;
};

struct payload {
	const struct session *s;
	const struct render_opts *o;
	struct ostr *strs;
	uint32_t nstrs, cap_strs;
	struct itab str_tab;
	struct oframe *frames;
	uint32_t nframes, cap_frames;
	struct itab frame_tab;
	struct ostack *stacks;
	uint32_t nstacks, cap_stacks;
	struct itab stack_tab;
	struct othread *threads;
	uint32_t nthreads, cap_threads;
	struct oprocess *procs;
	uint32_t nprocs, cap_procs;
	uint32_t *stack_map;	/* session stack -> payload stack */
	uint32_t default_proc;	/* process root for sessions without one, or NONE */
	struct orecord *recs;
	size_t nrecs;
	uint32_t *order;	/* records by time */
	int err;
};

static int grow(void *pp, uint32_t *cap, uint32_t n, size_t size)
{
	void *p;
	uint32_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	p = realloc(*(void **)pp, (size_t)c * size);
	if (!p)
		return -ENOMEM;
	*(void **)pp = p;
	*cap = c;
	return 0;
}

static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct ostr *a = &((const struct payload *)ctx)->strs[idx], *b = key;

	return a->n == b->n && !memcmp(a->p, b->p, a->n);
}

static uint64_t str_hash(const void *ctx, uint32_t idx)
{
	const struct ostr *a = &((const struct payload *)ctx)->strs[idx];

	return hash_mix(hash_bytes(a->p, a->n, 0xcbf29ce484222325ULL));
}

static uint32_t intern_str(struct payload *pl, const char *p, size_t n)
{
	struct ostr key = { (char *)p, n };
	uint32_t *slot = itab_find(&pl->str_tab, hash_mix(hash_bytes(p, n, 0xcbf29ce484222325ULL)),
				   str_eq, str_hash, pl, &key);

	if (!slot || grow(&pl->strs, &pl->cap_strs, pl->nstrs, sizeof(*pl->strs)))
		goto nomem;
	if (*slot != NONE)
		return *slot;
	key.p = malloc(n + 1);
	if (!key.p)
		goto nomem;
	memcpy(key.p, p, n);
	key.p[n] = '\0';
	pl->strs[pl->nstrs] = key;
	pl->str_tab.n++;
	*slot = pl->nstrs;
	return pl->nstrs++;
nomem:
	pl->err = -ENOMEM;
	return 0;
}

static bool frame_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct oframe *a = &((const struct payload *)ctx)->frames[idx], *b = key;

	return a->function == b->function && a->file == b->file && a->cls == b->cls &&
	       a->flags == b->flags && a->line == b->line;
}

static uint64_t frame_hash_key(const struct oframe *f)
{
	uint64_t h = hash_bytes(&f->function, sizeof(f->function), 0xcbf29ce484222325ULL);

	h = hash_bytes(&f->file, sizeof(f->file), h);
	h = hash_bytes(&f->cls, sizeof(f->cls), h);
	h = hash_bytes(&f->flags, sizeof(f->flags), h);
	return hash_mix(hash_bytes(&f->line, sizeof(f->line), h));
}

static uint64_t frame_hash(const void *ctx, uint32_t idx)
{
	return frame_hash_key(&((const struct payload *)ctx)->frames[idx]);
}

static uint32_t intern_frame(struct payload *pl, const struct oframe *f)
{
	uint32_t *slot = itab_find(&pl->frame_tab, frame_hash_key(f), frame_eq, frame_hash, pl, f);

	if (!slot || grow(&pl->frames, &pl->cap_frames, pl->nframes, sizeof(*pl->frames))) {
		pl->err = -ENOMEM;
		return 0;
	}
	if (*slot != NONE)
		return *slot;
	pl->frames[pl->nframes] = *f;
	pl->frame_tab.n++;
	*slot = pl->nframes;
	return pl->nframes++;
}

static bool stack_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct ostack *a = &((const struct payload *)ctx)->stacks[idx], *b = key;

	return a->parent == b->parent && a->frame == b->frame;
}

static uint64_t stack_hash_key(uint32_t parent, uint32_t frame)
{
	return hash_mix(((uint64_t)parent << 32 | frame) * 0x9e3779b97f4a7c15ULL);
}

static uint64_t stack_hash(const void *ctx, uint32_t idx)
{
	const struct ostack *a = &((const struct payload *)ctx)->stacks[idx];

	return stack_hash_key(a->parent, a->frame);
}

/* A new thread root stack under a process root: the payload's threads[] entry. */
static void add_thread(struct payload *pl, uint32_t stack)
{
	const struct ostack *st = &pl->stacks[stack];
	struct othread *t;

	if (grow(&pl->threads, &pl->cap_threads, pl->nthreads, sizeof(*pl->threads))) {
		pl->err = -ENOMEM;
		return;
	}
	t = &pl->threads[pl->nthreads];
	memset(t, 0, sizeof(*t));
	t->stack = stack;
	t->name = pl->frames[st->frame].function;
	t->pid = pl->procs[st->process].pid;
	t->head = t->tail = NONE;
	pl->stacks[stack].thread = pl->nthreads++;
}

static void add_process(struct payload *pl, uint32_t stack, const char *cmdline)
{
	struct oprocess *p;

	if (grow(&pl->procs, &pl->cap_procs, pl->nprocs, sizeof(*pl->procs)) ||
	    !(cmdline = strdup(cmdline))) {
		pl->err = -ENOMEM;
		return;
	}
	p = &pl->procs[pl->nprocs];
	p->stack = stack;
	p->pid = pl->frames[pl->stacks[stack].frame].line;
	p->cmdline = (char *)cmdline;
	p->thread = NONE;
	pl->stacks[stack].process = pl->nprocs++;
}

/* The interned stack (parent, frame); thread and process roots register themselves. */
static uint32_t push(struct payload *pl, uint32_t parent, uint32_t frame, const char *cmdline)
{
	struct ostack key = { parent, frame, NONE, NONE };
	uint32_t *slot = itab_find(&pl->stack_tab, stack_hash_key(parent, frame), stack_eq,
				   stack_hash, pl, &key);
	uint32_t flags = pl->frames[frame].flags, id;

	if (!slot || grow(&pl->stacks, &pl->cap_stacks, pl->nstacks, sizeof(*pl->stacks))) {
		pl->err = -ENOMEM;
		return 0;
	}
	if (*slot != NONE)
		return *slot;
	id = pl->nstacks++;
	*slot = id;
	pl->stack_tab.n++;
	if (parent != NONE) {
		key.thread = pl->stacks[parent].thread;
		key.process = pl->stacks[parent].process;
	}
	pl->stacks[id] = key;
	if (flags & FLAG_PROCESS)
		add_process(pl, id, cmdline);
	else if (flags & FLAG_THREAD)
		add_thread(pl, id);
	return id;
}

/* ---- from session frames to payload frames -------------------------------------------- */

static long long parse_line(const char *p)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(p, &end, 10);
	if (end == p || *end || errno || v < 0 || v > (1LL << 53))
		return 0;
	return v;
}

static bool has_prefix(const struct session *s, const char *path)
{
	size_t n;
	const char *const *prefixes = session_sys_prefixes(s, &n);

	for (size_t i = 0; i < n; i++)
		if (prefixes[i][0] && !strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The viewer's library rule for one frame; <string>/<stdin> depend on the caller: not set. */
static uint32_t file_flags(const struct session *s, const char *file, uint32_t ident)
{
	if (ident < SESSION_IDENT_FIRST_REAL || !strcmp(file, "<wait>") ||
	    !strcmp(file, "<truncated>"))
		return FLAG_SYNTHETIC;
	if (!strcmp(file, "<idle>"))
		return FLAG_SYNTHETIC | FLAG_IDLE;
	if (!strcmp(file, "<thread>"))
		return FLAG_THREAD;
	if (!strcmp(file, "<process>"))
		return FLAG_PROCESS;
	if (!file[0] || has_prefix(s, file))
		return 0;
	if (file[0] != '<' || !strncmp(file, "<ipython-input-", 15))
		return FLAG_APP;
	return 0;
}

/* A process root's label: the program's base name ("python3" of "/usr/bin/python3 app.py"). */
static uint32_t short_process_name(struct payload *pl, const char *cmdline)
{
	size_t n = strcspn(cmdline, " ");
	const char *base = cmdline;

	for (size_t i = 0; i < n; i++)
		if (cmdline[i] == '/' && i + 1 < n)
			base = cmdline + i + 1;
	return intern_str(pl, base, n - (size_t)(base - cmdline));
}

/* Session frame -> payload frame; *function is the identifier's name (a process's cmdline). */
static uint32_t convert_frame(struct payload *pl, uint32_t frame, const char **function)
{
	const struct session *s = pl->s;
	size_t len, off, alen;
	const char *p = session_ident(s, session_frame_ident(s, frame), &len), *file = "", *a;
	uint32_t nattrs, id = session_frame_ident(s, frame);
	const uint32_t *attrs = session_frame_attrs(s, frame, &nattrs);
	struct oframe f = { .cls = NONE };

	*function = p;
	off = strlen(p) + 1;
	if (off <= len) {
		file = p + off;
		off += strlen(file) + 1;
		if (off <= len)
			f.line = parse_line(p + off);
	}
	f.flags = file_flags(s, file, id);
	f.function = f.flags & FLAG_PROCESS ? short_process_name(pl, p) :
		     intern_str(pl, p, strlen(p));
	f.file = intern_str(pl, file, strlen(file));
	for (uint32_t i = 0; i < nattrs; i++) {
		a = session_attr(s, attrs[i], &alen);
		if (alen && a[0] == 'c')
			f.cls = intern_str(pl, a + 1, alen - 1);
		else if (alen && a[0] == 'h' && strcmp(a + 1, "0"))
			f.flags |= FLAG_TRACEBACKHIDE;
	}
	return intern_frame(pl, &f);
}

static uint32_t synthetic_frame(struct payload *pl, const char *name, const char *file,
				long long line, uint32_t flags)
{
	struct oframe f = { .cls = NONE, .flags = flags, .line = line };

	f.function = intern_str(pl, name, strlen(name));
	f.file = intern_str(pl, file, strlen(file));
	return intern_frame(pl, &f);
}

/* "Process 1234: python3 app.py" or "Program: app.py": the command after the colon. */
static const char *description_command(const char *d)
{
	const char *colon = strstr(d, ": ");

	return colon && (!strncmp(d, "Program", 7) || !strncmp(d, "Process", 7)) ? colon + 2 : d;
}

/* The same frame with other flags (a root-looking frame where a root cannot be). */
static uint32_t reflag(struct payload *pl, uint32_t frame, uint32_t flags)
{
	struct oframe f = pl->frames[frame];

	f.flags = flags;
	return intern_frame(pl, &f);
}

/* The process root for a session recorded without one: its pid from the options. */
static uint32_t default_process(struct payload *pl)
{
	const char *cmd = description_command(session_get_header(pl->s)->target_description);
	struct oframe f = { .cls = NONE, .flags = FLAG_PROCESS };

	if (pl->default_proc != NONE)
		return pl->default_proc;
	if (!cmd[0])
		cmd = "python";
	f.line = session_get_origin(pl->s)->pid ?: (pl->o->npids ? pl->o->pids[0] : 0);
	f.function = short_process_name(pl, cmd);
	f.file = intern_str(pl, "<process>", 9);
	pl->default_proc = push(pl, NONE, intern_frame(pl, &f), cmd);
	return pl->default_proc;
}

/* A thread root under a process root, for stacks recorded without one. */
static uint32_t default_thread(struct payload *pl, uint32_t proc_stack)
{
	uint32_t proc = pl->stacks[proc_stack].process, stack;

	if (pl->procs[proc].thread != NONE)
		return pl->procs[proc].thread;
	stack = push(pl, proc_stack, synthetic_frame(pl, "MainThread", "<thread>", 0, FLAG_THREAD),
		     NULL);
	if (!pl->err)
		pl->procs[proc].thread = stack;
	return stack;
}

/*
 * Session stack -> payload stack, in the contract's root order: process root, thread root,
 * Python frames. Missing roots are supplied (a one-process session has no process root).
 */
static uint32_t convert_stack(struct payload *pl, uint32_t stack)
{
	uint32_t parent = session_stack_parent(pl->s, stack), frame, flags;
	const char *function;

	frame = convert_frame(pl, session_stack_frame(pl->s, stack), &function);
	if (pl->err)
		return 0;
	flags = pl->frames[frame].flags;
	if (parent == SESSION_NO_STACK && (flags & FLAG_PROCESS))
		return push(pl, NONE, frame, function);
	parent = parent == SESSION_NO_STACK ? default_process(pl) : pl->stack_map[parent];
	if (pl->err)
		return 0;
	if (pl->stacks[parent].thread == NONE && !(flags & FLAG_THREAD))
		parent = default_thread(pl, parent);
	/* roots below their place (a thread root inside a thread) are ordinary frames */
	if ((flags & FLAG_PROCESS) || ((flags & FLAG_THREAD) && pl->stacks[parent].thread != NONE))
		frame = reflag(pl, frame, flags & ~(uint32_t)(FLAG_PROCESS | FLAG_THREAD));
	if (pl->err)
		return 0;
	return push(pl, parent, frame, NULL);
}

/* The payload stack of a session stack, converting it and its unconverted ancestors. */
static uint32_t map_stack(struct payload *pl, uint32_t stack)
{
	uint32_t top = stack, next, below = NONE;

	if (pl->stack_map[stack] != NONE)
		return pl->stack_map[stack];
	/* link the unconverted chain downwards through the map, then convert top first */
	for (;;) {
		pl->stack_map[top] = below == NONE ? NONE - 1 : below;
		next = session_stack_parent(pl->s, top);
		if (next == SESSION_NO_STACK || pl->stack_map[next] != NONE)
			break;
		below = top;
		top = next;
	}
	for (;;) {
		next = pl->stack_map[top];
		pl->stack_map[top] = convert_stack(pl, top);
		if (pl->err || top == stack)
			return pl->stack_map[stack];
		top = next;
	}
}

/* ---- samples: times per thread, merged runs, one time order --------------------------- */

/*
 * The session has no timestamps: a sample's time is the weight of the earlier samples of its
 * thread, as pyinstrument lays out its timeline. Past HTML_MERGE_THRESHOLD samples, a sample
 * with the stack of its thread's previous one extends it (exact but for ordering in a run).
 */
static int build_records(struct payload *pl)
{
	size_t n;
	const struct session_sample *smp = session_samples(pl->s, &n);
	bool merge = n > HTML_MERGE_THRESHOLD;

	pl->recs = malloc((n ? n : 1) * sizeof(*pl->recs));
	if (!pl->recs)
		return -ENOMEM;
	for (size_t i = 0; i < n && !pl->err; i++) {
		uint32_t st, r;
		struct othread *t;

		if (smp[i].stack == SESSION_NO_STACK)
			continue;
		st = map_stack(pl, smp[i].stack);
		if (pl->stacks[st].thread == NONE)	/* a bare process root */
			st = default_thread(pl, st);
		if (pl->err)
			break;
		t = &pl->threads[pl->stacks[st].thread];
		if (merge && t->tail != NONE && pl->recs[t->tail].stack == st) {
			pl->recs[t->tail].weight += smp[i].weight;
		} else {
			r = (uint32_t)pl->nrecs++;
			pl->recs[r] = (struct orecord){ t->elapsed, smp[i].weight, st, NONE };
			if (t->tail != NONE)
				pl->recs[t->tail].next = r;
			else
				t->head = r;
			t->tail = r;
		}
		t->elapsed += smp[i].weight;
	}
	return pl->err;
}

static bool rec_before(const struct payload *pl, uint32_t a, uint32_t b)
{
	double ta = pl->recs[a].time, tb = pl->recs[b].time;

	return ta < tb || (ta == tb && a < b);
}

static void sift_down(const struct payload *pl, uint32_t *heap, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, m = i, tmp;

		if (l < n && rec_before(pl, heap[l], heap[m]))
			m = l;
		if (l + 1 < n && rec_before(pl, heap[l + 1], heap[m]))
			m = l + 1;
		if (m == i)
			return;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/* Each thread's records are in time order already: a k-way merge of the threads' lists. */
static int order_records(struct payload *pl)
{
	uint32_t *heap = malloc((pl->nthreads + 1) * sizeof(*heap)), nheap = 0;
	size_t k = 0;

	pl->order = malloc((pl->nrecs ? pl->nrecs : 1) * sizeof(*pl->order));
	if (!heap || !pl->order) {
		free(heap);
		return -ENOMEM;
	}
	for (uint32_t t = 0; t < pl->nthreads; t++)
		if (pl->threads[t].head != NONE)
			heap[nheap++] = pl->threads[t].head;
	for (uint32_t i = nheap; i-- > 0;)
		sift_down(pl, heap, nheap, i);
	while (nheap) {
		uint32_t r = heap[0];

		pl->order[k++] = r;
		heap[0] = pl->recs[r].next != NONE ? pl->recs[r].next : heap[--nheap];
		sift_down(pl, heap, nheap, 0);
	}
	free(heap);
	return 0;
}

static int payload_build(struct payload *pl)
{
	uint32_t n = session_stack_count(pl->s);
	int err;

	pl->default_proc = NONE;
	pl->stack_map = malloc((n ? n : 1) * sizeof(*pl->stack_map));
	if (!pl->stack_map)
		return -ENOMEM;
	memset(pl->stack_map, 0xff, (n ? n : 1) * sizeof(*pl->stack_map));
	intern_str(pl, "", 0);	/* frames with no file point here */
	err = build_records(pl);
	return err ? err : order_records(pl);
}

static void payload_free(struct payload *pl)
{
	for (uint32_t i = 0; i < pl->nstrs; i++)
		free(pl->strs[i].p);
	for (uint32_t i = 0; i < pl->nprocs; i++)
		free(pl->procs[i].cmdline);
	free(pl->strs);
	free(pl->str_tab.slots);
	free(pl->frames);
	free(pl->frame_tab.slots);
	free(pl->stacks);
	free(pl->stack_tab.slots);
	free(pl->threads);
	free(pl->procs);
	free(pl->stack_map);
	free(pl->recs);
	free(pl->order);
}

/* ---- writing the payload ------------------------------------------------------------- */

static void put_key(struct sink *k, const char *key)
{
	put(k, ",\"");
	put(k, key);
	put(k, "\":");
}

static void put_str_list(struct sink *k, const char *const *v, size_t n)
{
	put(k, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(k, ",");
		put_cstr(k, v[i]);
	}
	put(k, "]");
}

/* pyinstrument's HTML precision: ceil(-log10(min(max(1e-9, interval), 1))) */
static int precision(double interval)
{
	double v = fmin(fmax(1e-9, interval), 1);

	return (int)fmax(0, ceil(-log10(v)));
}

/* The session's own pid (kept in .pyisession), else the ones profiled, else process roots'. */
static void write_pids(struct sink *k, const struct payload *pl)
{
	int pid = session_get_origin(pl->s)->pid;
	bool first = true;

	put(k, "[");
	if (pid) {
		put_int(k, pid);
		put(k, "]");
		return;
	}
	for (size_t i = 0; i < pl->o->npids; i++) {
		put(k, i ? "," : "");
		put_int(k, pl->o->pids[i]);
	}
	for (uint32_t i = 0; !pl->o->npids && i < pl->nprocs; i++) {
		if (pl->procs[i].pid <= 0)
			continue;
		put(k, first ? "" : ",");
		put_int(k, pl->procs[i].pid);
		first = false;
	}
	put(k, "]");
}

/*
 * Mode and lost samples: the session's (kept in .pyisession), else the options' while profiling.
 * A session from elsewhere is pyinstrument's, wall clock, with no count of lost samples: null.
 */
static void write_origin(struct sink *k, const struct payload *pl)
{
	const struct session_origin *o = session_get_origin(pl->s);
	const char *mode = session_mode_name(o->mode);

	if (!mode)
		mode = pl->o->mode && !strcmp(pl->o->mode, "cpu") ? "cpu" : "wall";
	put_key(k, "mode");
	put_cstr(k, mode);
	put_key(k, "lost_samples");
	if (o->lost_samples >= 0)
		put_int(k, (long long)o->lost_samples);
	else if (pl->o->lost_samples)
		put_int(k, (long long)pl->o->lost_samples);
	else
		put(k, "null");
}

static void write_meta(struct sink *k, const struct payload *pl)
{
	const struct session_header *h = session_get_header(pl->s);
	const char *const *list;
	char host[256] = "";
	size_t n;

	gethostname(host, sizeof(host) - 1);
	put(k, "\"meta\":{\"target_description\":");
	put_cstr(k, h->target_description);
	put_key(k, "host");
	put_cstr(k, host);
	put_key(k, "pids");
	write_pids(k, pl);
	put_key(k, "start_time");
	put_float(k, h->start_time);
	put_key(k, "duration");
	put_float(k, h->duration);
	put_key(k, "sample_count");
	put_int(k, (long long)(h->sample_count ? h->sample_count : session_sample_count(pl->s)));
	put_key(k, "cpu_time");
	put_float(k, h->cpu_time);
	put_key(k, "interval");
	put_float(k, h->max_interval);
	write_origin(k, pl);
	list = session_sys_path(pl->s, &n);
	put_key(k, "sys_path");
	put_str_list(k, list, n);
	list = session_sys_prefixes(pl->s, &n);
	put_key(k, "sys_prefixes");
	put_str_list(k, list, n);
	put_key(k, "precision");
	put_int(k, precision(h->max_interval));
	put_key(k, "resolution");
	put_float(k, session_resolution(pl->s));
	put(k, "}");
}

static void write_tables(struct sink *k, const struct payload *pl)
{
	put_key(k, "strings");
	put(k, "[");
	for (uint32_t i = 0; i < pl->nstrs; i++) {
		put(k, i ? "," : "");
		put_str(k, pl->strs[i].p, pl->strs[i].n);
	}
	put(k, "]");
	put_key(k, "frames");
	put(k, "[");
	for (uint32_t i = 0; i < pl->nframes; i++) {
		const struct oframe *f = &pl->frames[i];
		char buf[128];

		sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%s[%u,%u,%lld,%lld,%u]",
			   i ? "," : "", f->function, f->file, f->line,
			   f->cls == NONE ? -1LL : (long long)f->cls, f->flags));
	}
	put(k, "]");
	put_key(k, "stacks");
	put(k, "[");
	for (uint32_t i = 0; i < pl->nstacks; i++) {
		const struct ostack *st = &pl->stacks[i];
		char buf[64];

		sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%s[%lld,%u]", i ? "," : "",
			   st->parent == NONE ? -1LL : (long long)st->parent, st->frame));
	}
	put(k, "]");
}

static void write_samples(struct sink *k, const struct payload *pl)
{
	char buf[16];

	put_key(k, "samples");
	put(k, "{\"stack\":[");
	for (size_t i = 0; i < pl->nrecs; i++)
		sink_write(k, buf, (size_t)snprintf(buf, sizeof(buf), "%s%u", i ? "," : "",
			   pl->recs[pl->order[i]].stack));
	put(k, "],\"weight\":[");
	for (size_t i = 0; i < pl->nrecs; i++) {
		put(k, i ? "," : "");
		put_usec(k, pl->recs[pl->order[i]].weight);
	}
	put(k, "],\"time\":[");
	for (size_t i = 0; i < pl->nrecs; i++) {
		put(k, i ? "," : "");
		put_usec(k, pl->recs[pl->order[i]].time);
	}
	put(k, "]}");
}

static void write_roots(struct sink *k, const struct payload *pl)
{
	put_key(k, "threads");
	put(k, "[");
	for (uint32_t i = 0; i < pl->nthreads; i++) {
		const struct othread *t = &pl->threads[i];

		put(k, i ? ",{\"stack_prefix\":" : "{\"stack_prefix\":");
		put_int(k, t->stack);
		put(k, ",\"name\":");
		put_str(k, pl->strs[t->name].p, pl->strs[t->name].n);
		/* a session records no kernel tid (pyinstrument's neither): 0 */
		put(k, ",\"tid\":0,\"pid\":");
		put_int(k, t->pid);
		put(k, "}");
	}
	put(k, "]");
	put_key(k, "processes");
	put(k, "[");
	for (uint32_t i = 0; i < pl->nprocs; i++) {
		put(k, i ? ",{\"pid\":" : "{\"pid\":");
		put_int(k, pl->procs[i].pid);
		put(k, ",\"cmdline\":");
		put_cstr(k, pl->procs[i].cmdline);
		put(k, ",\"python\":\"\"}");
	}
	put(k, "]");
}

static void write_payload(struct sink *k, const struct payload *pl)
{
	put(k, "{\"version\":1,");
	write_meta(k, pl);
	write_tables(k, pl);
	write_samples(k, pl);
	write_roots(k, pl);
	put(k, "}");
}

int render_html(struct session *s, const struct render_opts *o, FILE *out)
{
	static const struct render_opts no_opts;
	struct payload pl = { .s = s, .o = o ? o : &no_opts };
	struct sink k = { .out = out, .level = 6 };
	const char *head, *tail;
	size_t hlen, tlen, nrec;
	int err;

	/* level 6 takes ~6x level 3's time on a big payload for ~10 % less: a long session's
	 * report is written within seconds of sampling stopping (docs/long-sessions.md) */
	session_samples(s, &nrec);
	if (nrec > HTML_FAST_DEFLATE)
		k.level = 3;
	head = html_assets_report_head(&hlen);
	tail = html_assets_report_tail(&tlen);
	err = payload_build(&pl);
	if (err)
		goto out;
	k.buf = malloc(HTML_CHUNK);
	if (!k.buf) {
		err = -ENOMEM;
		goto out;
	}
	fwrite(head, 1, hlen, out);
	write_payload(&k, &pl);
	sink_finish(&k);
	fwrite(tail, 1, tlen, out);
	err = k.err ? k.err : (ferror(out) ? -EIO : 0);
out:
	if (k.zinit)
		deflateEnd(&k.z);
	free(k.buf);
	payload_free(&pl);
	return err;	/* report_write logs it */
}
