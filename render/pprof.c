// SPDX-License-Identifier: MIT
/*
 * pprof's profile.proto (github.com/google/pprof/proto/profile.proto), gzipped, for
 * `go tool pprof`, Pyroscope, Grafana and the like. We write the protobuf wire format ourselves;
 * the field numbers are the PF_* / FN_* / ... constants below.
 *
 * Unlike the tree renderers this one reads the session's records as recorded: pprof aggregates
 * and filters on its own, and a record still knows each frame's current line (the "l"
 * attribute), which becomes the location's line. One function per (identifier, class name):
 * name "Class.function", system_name the code name, filename the full path, start_line the
 * first line. One location per (function, line).
 *
 * Sample values: [samples/count, wall/nanoseconds] (cpu/nanoseconds with mode "cpu"). A record is one sample when the session has
 * one record per sample (pyinstrument's sessions); when records were merged (ours), it counts
 * weight / min_interval samples, at least one. Strings are made valid UTF-8 (a bad byte becomes
 * U+FFFD), as protobuf strings must be.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "array.h"
#include "hash_index.h"
#include "render.h"
#include "utf8.h"

/* Profile */
#define PF_SAMPLE_TYPE 1
#define PF_SAMPLE 2
#define PF_LOCATION 4
#define PF_FUNCTION 5
#define PF_STRING_TABLE 6
#define PF_TIME_NANOS 9
#define PF_DURATION_NANOS 10
#define PF_PERIOD_TYPE 11
#define PF_PERIOD 12
/* ValueType */
#define VT_TYPE 1
#define VT_UNIT 2
/* Sample */
#define SM_LOCATION_ID 1
#define SM_VALUE 2
/* Location */
#define LC_ID 1
#define LC_LINE 4
/* Line */
#define LN_FUNCTION_ID 1
#define LN_LINE 2
/* Function */
#define FN_ID 1
#define FN_NAME 2
#define FN_SYSTEM_NAME 3
#define FN_FILENAME 4
#define FN_START_LINE 5

#define WIRE_VARINT 0
#define WIRE_LEN 2

/* A growing protobuf message; err latches the first allocation failure. */
struct pb {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err;
};

static void pb_put(struct pb *b, const void *data, size_t len)
{
	if (b->err)
		return;
	if (array_reserve(&b->p, &b->cap, b->len + len, 1)) {
		b->err = -ENOMEM;
		return;
	}
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_put(b, buf, n);
}

static void pb_uint(struct pb *b, uint32_t field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(b, len);
	pb_put(b, data, len);
}

/* Appends sub as a length-delimited field and empties it for reuse. */
static void pb_msg(struct pb *b, uint32_t field, struct pb *sub)
{
	pb_bytes(b, field, sub->p, sub->len);
	if (sub->err)
		b->err = sub->err;
	sub->len = 0;
}

/* Keys of two integers to dense ids 1..n, 0 meaning none. */
struct idmap {
	struct hash_index index;	/* over keys */
	uint64_t (*keys)[2];		/* id - 1 -> its key */
	size_t cap;
};

static uint64_t idmap_hash_of(const void *ctx, uint32_t i)
{
	const struct idmap *m = ctx;

	return hash_combine(m->keys[i][0], m->keys[i][1]);
}

/* The id of (a, b); *fresh says it was just made. 0 on ENOMEM. */
static uint32_t idmap_get(struct idmap *m, uint64_t a, uint64_t b, bool *fresh)
{
	uint32_t i, pos;

	*fresh = false;
	if (hash_index_reserve(&m->index, idmap_hash_of, m))
		return 0;
	for (i = hash_index_first(&m->index, hash_combine(a, b), &pos); i != HASH_INDEX_NONE;
	     i = hash_index_next(&m->index, &pos))
		if (m->keys[i][0] == a && m->keys[i][1] == b)
			return i + 1;
	if (array_reserve(&m->keys, &m->cap, (size_t)m->index.n + 1, sizeof(*m->keys)))
		return 0;
	i = m->index.n;
	m->keys[i][0] = a;
	m->keys[i][1] = b;
	hash_index_put(&m->index, pos, i);
	*fresh = true;
	return i + 1;
}

static void idmap_free(struct idmap *m)
{
	hash_index_free(&m->index);
	free(m->keys);
}

struct pprof {
	const struct session *s;
	const char *kind;	/* "wall", or "cpu" for a session of on-CPU time only */
	struct pb strings;	/* the string_table fields, in order */
	struct pb functions;	/* the function fields */
	struct pb locations;	/* the location fields */
	struct pb scratch;
	struct hash_index string_ids;	/* over string_v */
	char **string_v;	/* index -> the (valid UTF-8) string */
	uint32_t nstrings;
	size_t cap_strings;
	struct idmap function_ids;	/* (identifier, class attribute + 1) */
	struct idmap location_ids;	/* (function, line) */
	uint32_t *frame_location;	/* frame -> location id */
	int err;
};

/* s made valid UTF-8: each byte that does not decode becomes U+FFFD. */
static char *utf8_valid(const char *s, size_t len)
{
	char *o = malloc(3 * len + 1), *w = o;
	size_t off = 0, n;
	uint32_t cp;

	if (!o)
		return NULL;
	while (off < len) {
		n = utf8_decode((const unsigned char *)s + off, len - off, &cp);
		if (n) {
			memcpy(w, s + off, n);
			w += n;
		} else {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
		}
		off += n ? n : 1;
	}
	*w = '\0';
	return o;
}

static uint64_t string_hash_of(const void *ctx, uint32_t i)
{
	const char *v = ((const struct pprof *)ctx)->string_v[i];

	return hash_bytes(v, strlen(v));
}

/* The string_table index of s (made valid UTF-8), added when new. */
static int64_t string_index(struct pprof *p, const char *raw, size_t rawlen)
{
	char *v = utf8_valid(raw, rawlen);
	size_t len = v ? strlen(v) : 0;
	uint32_t i, pos;

	if (p->err) {
		free(v);
		return 0;
	}
	if (!v || hash_index_reserve(&p->string_ids, string_hash_of, p))
		goto enomem;
	for (i = hash_index_first(&p->string_ids, hash_bytes(v, len), &pos); i != HASH_INDEX_NONE;
	     i = hash_index_next(&p->string_ids, &pos)) {
		if (!strcmp(p->string_v[i], v)) {
			free(v);
			return i;
		}
	}
	if (array_reserve(&p->string_v, &p->cap_strings, (size_t)p->nstrings + 1,
			  sizeof(*p->string_v)))
		goto enomem;
	p->string_v[p->nstrings] = v;
	hash_index_put(&p->string_ids, pos, p->nstrings);
	pb_bytes(&p->strings, PF_STRING_TABLE, v, len);
	return p->nstrings++;
enomem:
	free(v);
	p->err = -ENOMEM;
	return 0;
}

/* "function\0file\0line" */
struct ident_parts {
	const char *function, *file;
	size_t function_len, file_len;
	long long line;
};

static void ident_split(const char *id, size_t len, struct ident_parts *o)
{
	const char *end = id + len, *nul = memchr(id, '\0', len);

	*o = (struct ident_parts){ .function = id, .function_len = nul ? (size_t)(nul - id) : len };
	if (!nul)
		return;
	o->file = nul + 1;
	nul = memchr(o->file, '\0', (size_t)(end - o->file));
	o->file_len = nul ? (size_t)(nul - o->file) : (size_t)(end - o->file);
	if (nul)
		o->line = strtoll(nul + 1, NULL, 10);
}

/* The frame's class attribute id ("c..." data) and current line ("l..."), if any. */
static void frame_extras(const struct session *s, uint32_t frame, uint32_t *cls, long long *line)
{
	uint32_t n;
	const uint32_t *attrs = session_frame_attrs(s, frame, &n);
	const char *a;
	size_t len;

	*cls = UINT32_MAX;
	for (uint32_t i = 0; i < n; i++) {
		a = session_attr(s, attrs[i], &len);
		if (len && a[0] == 'c')
			*cls = attrs[i];
		else if (len > 1 && a[0] == 'l')
			*line = strtoll(a + 1, NULL, 10);
	}
}

/*
 * pprof's viewers shorten names as C++ ones and drop "<...>" as template arguments: CPython's
 * "<module>", "<listcomp>", "<lambda>" became "<unknown>". The display name takes the look-alike
 * single guillemets; system_name keeps the code object's own name.
 */
static int display_name(char **out, const char *cls, size_t clen, const char *fn, size_t fnlen)
{
	bool bracketed = fnlen >= 2 && fn[0] == '<' && fn[fnlen - 1] == '>';

	if (bracketed)
		return asprintf(out, "%.*s%s\u2039%.*s\u203a", (int)clen, cls, clen ? "." : "",
				(int)fnlen - 2, fn + 1);
	return asprintf(out, "%.*s%s%.*s", (int)clen, cls, clen ? "." : "", (int)fnlen, fn);
}

static void put_function(struct pprof *p, uint32_t id, const struct ident_parts *ip,
			 uint32_t cls)
{
	struct pb *f = &p->scratch;
	char *name = NULL;
	const char *c = "";
	size_t clen = 0;

	if (cls != UINT32_MAX)
		c = session_attr(p->s, cls, &clen) + 1, clen--;
	if (display_name(&name, c, clen, ip->function, ip->function_len) < 0) {
		p->err = -ENOMEM;
		return;
	}
	pb_uint(f, FN_ID, id);
	pb_uint(f, FN_NAME, (uint64_t)string_index(p, name, strlen(name)));
	pb_uint(f, FN_SYSTEM_NAME, (uint64_t)string_index(p, ip->function, ip->function_len));
	pb_uint(f, FN_FILENAME, (uint64_t)string_index(p, ip->file ? ip->file : "", ip->file_len));
	pb_uint(f, FN_START_LINE, (uint64_t)ip->line);
	pb_msg(&p->functions, PF_FUNCTION, f);
	free(name);
}

static void put_location(struct pprof *p, uint32_t id, uint32_t function, long long line)
{
	struct pb line_msg = { 0 };

	pb_uint(&line_msg, LN_FUNCTION_ID, function);
	pb_uint(&line_msg, LN_LINE, (uint64_t)line);
	pb_uint(&p->scratch, LC_ID, id);
	pb_msg(&p->scratch, LC_LINE, &line_msg);
	pb_msg(&p->locations, PF_LOCATION, &p->scratch);
	free(line_msg.p);
}

/* Maps a frame to its location, making the function and location on first sight. */
static uint32_t frame_location(struct pprof *p, uint32_t frame)
{
	uint32_t ident = session_frame_ident(p->s, frame), cls, fn, loc;
	struct ident_parts ip;
	const char *id;
	long long line;
	size_t len;
	bool fresh;

	if (p->frame_location[frame])
		return p->frame_location[frame];
	id = session_ident(p->s, ident, &len);
	ident_split(id, len, &ip);
	line = ip.line;
	frame_extras(p->s, frame, &cls, &line);
	fn = idmap_get(&p->function_ids, ident, (uint64_t)cls + 1, &fresh);
	if (fn && fresh)
		put_function(p, fn, &ip, cls);
	loc = fn ? idmap_get(&p->location_ids, fn, (uint64_t)line, &fresh) : 0;
	if (loc && fresh)
		put_location(p, loc, fn, line);
	if (!loc)
		p->err = -ENOMEM;
	return p->frame_location[frame] = loc;
}

struct stack_total {
	double weight;
	uint64_t count;
};

/* Sample{location_id: the stack leaf first, value: [count, nanoseconds]} */
static void put_sample(struct pprof *p, struct pb *out, uint32_t stack,
		       const struct stack_total *st)
{
	struct pb ids = { 0 }, values = { 0 };

	for (; stack != SESSION_NO_STACK && !p->err; stack = session_stack_parent(p->s, stack))
		pb_varint(&ids, frame_location(p, session_stack_frame(p->s, stack)));
	pb_varint(&values, st->count);
	pb_varint(&values, (uint64_t)llround(st->weight * 1e9));
	pb_msg(&p->scratch, SM_LOCATION_ID, &ids);
	pb_msg(&p->scratch, SM_VALUE, &values);
	pb_msg(out, PF_SAMPLE, &p->scratch);
	free(ids.p);
	free(values.p);
}

/* Sums the records per stack; the last slot is the empty stack. */
static struct stack_total *stack_totals(const struct session *s)
{
	const struct session_header *h = session_get_header(s);
	uint32_t nstacks = session_stack_count(s);
	struct stack_total *t = calloc((size_t)nstacks + 1, sizeof(*t));
	size_t n;
	const struct session_sample *v = session_samples(s, &n);
	bool one_each = n == h->sample_count || !(h->min_interval > 0);

	for (size_t i = 0; t && i < n; i++) {
		struct stack_total *st = &t[v[i].stack < nstacks ? v[i].stack : nstacks];
		double k = one_each ? 1 : llround(v[i].weight / h->min_interval);

		st->weight += v[i].weight;
		st->count += k >= 1 ? (uint64_t)k : 1;
	}
	return t;
}

static void put_value_type(struct pprof *p, struct pb *out, uint32_t field, const char *type,
			   const char *unit)
{
	pb_uint(&p->scratch, VT_TYPE, (uint64_t)string_index(p, type, strlen(type)));
	pb_uint(&p->scratch, VT_UNIT, (uint64_t)string_index(p, unit, strlen(unit)));
	pb_msg(out, field, &p->scratch);
}

/* Builds the Profile message into out. */
static int build(struct pprof *p, struct pb *out)
{
	const struct session_header *h = session_get_header(p->s);
	uint32_t nstacks = session_stack_count(p->s);
	struct pb samples = { 0 };
	struct stack_total *totals = stack_totals(p->s);
	int err;

	p->frame_location = calloc((size_t)session_frame_count(p->s) + 1,
				   sizeof(*p->frame_location));
	if (!totals || !p->frame_location) {
		err = -ENOMEM;
		goto out;
	}
	string_index(p, "", 0);		/* string_table[0] must be "" */
	put_value_type(p, out, PF_SAMPLE_TYPE, "samples", "count");
	put_value_type(p, out, PF_SAMPLE_TYPE, p->kind, "nanoseconds");
	for (uint32_t i = 0; i <= nstacks && !p->err; i++)
		if (totals[i].count)
			put_sample(p, &samples, i < nstacks ? i : SESSION_NO_STACK, &totals[i]);
	pb_put(out, samples.p, samples.len);
	pb_put(out, p->locations.p, p->locations.len);
	pb_put(out, p->functions.p, p->functions.len);
	pb_uint(out, PF_TIME_NANOS, session_seconds_to_ns(h->start_time));
	pb_uint(out, PF_DURATION_NANOS, session_seconds_to_ns(h->duration));
	put_value_type(p, out, PF_PERIOD_TYPE, p->kind, "nanoseconds");
	pb_uint(out, PF_PERIOD, (uint64_t)llround(h->min_interval * 1e9));
	/* the string table last: the fields above added to it */
	pb_put(out, p->strings.p, p->strings.len);
	err = p->err ? p->err : samples.err ? samples.err : p->locations.err ? p->locations.err :
	      p->functions.err ? p->functions.err : p->strings.err ? p->strings.err : out->err;
out:
	free(samples.p);
	free(totals);
	return err;
}

/* gzip (deflate with windowBits 16 + 15 writes the gzip wrapper) of data to out. */
static int write_gzip(const uint8_t *data, size_t len, FILE *out)
{
	uint8_t buf[16384];
	z_stream z = { 0 };
	int zr, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		fwrite(buf, 1, sizeof(buf) - z.avail_out, out);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	return err ? err : ferror(out) ? -EIO : 0;
}

int render_pprof(struct session *s, const struct render_opts *o, FILE *out)
{
	struct pprof p = { .s = s, .kind = "wall" };
	struct pb profile = { 0 };
	int err;

	/* --mode cpu: on-CPU time, named as pprof and Pyroscope name it */
	if (o && o->mode && !strcmp(o->mode, "cpu"))
		p.kind = "cpu";
	err = build(&p, &profile);
	if (!err && profile.len > UINT32_MAX)
		err = -EFBIG;	/* a profile.proto's length is 32 bits */
	if (!err)
		err = write_gzip(profile.p, profile.len, out);
	for (uint32_t i = 0; i < p.nstrings; i++)
		free(p.string_v[i]);
	free(p.string_v);
	hash_index_free(&p.string_ids);
	idmap_free(&p.function_ids);
	idmap_free(&p.location_ids);
	free(p.frame_location);
	free(p.strings.p), free(p.functions.p), free(p.locations.p), free(p.scratch.p);
	free(profile.p);
	return err;
}
