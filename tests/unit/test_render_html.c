// SPDX-License-Identifier: MIT
/*
 * The HTML renderer: the page is head + one payload element + tail (html_assets.h), and the
 * payload, decoded here as the viewer does (base64, zlib inflate, JSON), matches the session
 * and docs/html-report.md: tables, parent-first stacks, per-thread times, escaping.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>
#include <zlib.h>

#include "frame_tree.h"
#include "html_assets.h"
#include "render_util.h"
#include "render.h"
#include "session.h"

#define ELEMENT "<script type=\"application/octet-stream\" id=\"pyi-data\" data-encoding=\""
#define HOSTILE "</script><img src=x onerror=alert(1)>"

struct report {
	char *html;
	size_t len;
	char encoding[32];
	cJSON *payload;
};

/* "name\0file\0line" plus attributes such as "\x01cWorker". */
static uint32_t frame(struct session *s, const char *name, const char *file, const char *line,
		      const char *attrs)
{
	char buf[8192];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", name) + 1;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", file) + 1;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", line, attrs ? attrs : "");
	return session_intern_frame(s, buf, n);
}

static int b64_value(char c)
{
	const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(set, c) : NULL;

	return p ? (int)(p - set) : -1;
}

static unsigned char *b64_decode(const char *p, size_t n, size_t *out_len)
{
	unsigned char *out = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0, v;

	assert_non_null(out);
	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n && p[i] != '='; i++) {
		v = b64_value(p[i]);
		assert_true(v >= 0);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out_len = o;
	return out;
}

/* zlib-wrapped deflate, as DecompressionStream('deflate') reads it. */
static char *inflate_all(const unsigned char *in, size_t n)
{
	size_t cap = n * 8 + 1024;
	char *out = malloc(cap);
	z_stream z = { 0 };
	int ret;

	assert_non_null(out);
	assert_int_equal(inflateInit(&z), Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	do {
		if (z.total_out + 1 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		z.next_out = (unsigned char *)out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out - 1);
		ret = inflate(&z, Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
	} while (ret != Z_STREAM_END);
	out[z.total_out] = '\0';
	inflateEnd(&z);
	return out;
}

/* Checks the page around the payload and decodes the payload. */
static void decode_report(struct report *r)
{
	size_t hlen, tlen, body_len, raw_len;
	const char *head = html_assets_report_head(&hlen), *tail = html_assets_report_tail(&tlen);
	char *el, *body, *end, *json;
	unsigned char *raw;

	assert_true(r->len > hlen + tlen);
	assert_memory_equal(r->html, head, hlen);
	assert_memory_equal(r->html + r->len - tlen, tail, tlen);
	el = strstr(r->html, ELEMENT);
	assert_non_null(el);
	assert_null(strstr(el + 1, ELEMENT));	/* exactly one data element */
	assert_int_equal(el - r->html, (long)hlen);
	body = strchr(el + strlen(ELEMENT), '"');
	snprintf(r->encoding, sizeof(r->encoding), "%.*s", (int)(body - el - strlen(ELEMENT)),
		 el + strlen(ELEMENT));
	body += 2;	/* "> */
	end = strstr(body, "</script>");
	assert_int_equal(end - r->html + 9, (long)(r->len - tlen));
	body_len = (size_t)(end - body);
	assert_null(memchr(body, '<', body_len));
	if (!strcmp(r->encoding, "json")) {
		json = strndup(body, body_len);
	} else {
		assert_string_equal(r->encoding, "deflate-base64");
		raw = b64_decode(body, body_len, &raw_len);
		json = inflate_all(raw, raw_len);
		free(raw);
	}
	r->payload = cJSON_Parse(json);
	if (!r->payload)
		fprintf(stderr, "bad JSON near: %.80s\n", cJSON_GetErrorPtr());
	assert_non_null(r->payload);
	free(json);
}

static void render_report(struct session *s, const struct render_opts *o, struct report *r)
{
	FILE *mem = open_memstream(&r->html, &r->len);

	assert_non_null(mem);
	assert_int_equal(render_html(s, o, mem), 0);
	assert_int_equal(fclose(mem), 0);
	decode_report(r);
}

static void report_free(struct report *r)
{
	cJSON_Delete(r->payload);
	free(r->html);
}

static cJSON *get(const cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		fail_msg("payload has no '%s'", key);
	return v;
}

static int item_int(const cJSON *a, int i)
{
	return cJSON_GetArrayItem(a, i)->valueint;
}

static const char *frame_string(const cJSON *p, int frame, int field)
{
	const cJSON *f = cJSON_GetArrayItem(get(p, "frames"), frame);

	return cJSON_GetArrayItem(get(p, "strings"), item_int(f, field))->valuestring;
}

static int frame_flags(const cJSON *p, int frame)
{
	return item_int(cJSON_GetArrayItem(get(p, "frames"), frame), 4);
}

static int stack_frame(const cJSON *p, int stack)
{
	return item_int(cJSON_GetArrayItem(get(p, "stacks"), stack), 1);
}

/* An array of numbers as doubles (cJSON's arrays are lists: no indexing in loops). */
static double *numbers(const cJSON *a, int *n)
{
	double *v = malloc(((size_t)cJSON_GetArraySize(a) + 1) * sizeof(*v));
	const cJSON *e;
	int i = 0;

	assert_non_null(v);
	cJSON_ArrayForEach(e, a) {
		assert_true(cJSON_IsNumber(e));
		v[i++] = e->valuedouble;
	}
	*n = i;
	return v;
}

/* flags[frame] */
static int *all_frame_flags(const cJSON *p)
{
	const cJSON *frames = get(p, "frames"), *f;
	int *flags = malloc(((size_t)cJSON_GetArraySize(frames) + 1) * sizeof(*flags)), i = 0;
	int nstr = cJSON_GetArraySize(get(p, "strings"));

	assert_non_null(flags);
	cJSON_ArrayForEach(f, frames) {
		assert_int_equal(cJSON_GetArraySize(f), 5);
		assert_in_range(item_int(f, 0), 0, nstr - 1);
		assert_in_range(item_int(f, 1), 0, nstr - 1);
		assert_true(item_int(f, 3) >= -1 && item_int(f, 3) < nstr);
		flags[i++] = item_int(f, 4);
	}
	return flags;
}

/*
 * Checks the stacks (parents first; process root on top, thread roots right below one) and
 * returns thread[stack]: the threads[] index the stack descends from, or -1.
 */
static int *check_stacks(const cJSON *p)
{
	const cJSON *stacks = get(p, "stacks"), *threads = get(p, "threads"), *st, *t;
	int n = cJSON_GetArraySize(stacks), *flags = all_frame_flags(p), i = 0;
	int *thread = malloc(((size_t)n + 1) * sizeof(*thread));
	int *frame = malloc(((size_t)n + 1) * sizeof(*frame));
	int nfr = cJSON_GetArraySize(get(p, "frames"));

	assert_non_null(thread);
	assert_non_null(frame);
	for (i = 0; i < n; i++)
		thread[i] = -1;
	i = 0;
	cJSON_ArrayForEach(t, threads) {
		thread[get(t, "stack_prefix")->valueint] = i++;
	}
	i = 0;
	cJSON_ArrayForEach(st, stacks) {
		int parent = item_int(st, 0);

		frame[i] = item_int(st, 1);
		assert_true(parent >= -1 && parent < i);
		assert_in_range(frame[i], 0, nfr - 1);
		if (parent == -1)
			assert_int_equal(flags[frame[i]] & 16, 16);
		if (flags[frame[i]] & 8)
			assert_true(parent >= 0 && (flags[frame[parent]] & 16));
		else if (parent >= 0 && thread[parent] >= 0)
			thread[i] = thread[parent];
		i++;
	}
	free(flags);
	free(frame);
	return thread;
}

/* The contract's invariants; returns the sum of the weights. */
static double check_payload(const cJSON *p)
{
	const cJSON *samples = get(p, "samples");
	int n, nw, nt, nst = cJSON_GetArraySize(get(p, "stacks"));
	double *stack = numbers(get(samples, "stack"), &n), *weight, *time, *elapsed, sum = 0;
	int *thread, *count;

	assert_int_equal(get(p, "version")->valueint, 1);
	weight = numbers(get(samples, "weight"), &nw);
	time = numbers(get(samples, "time"), &nt);
	assert_int_equal(nw, n);
	assert_int_equal(nt, n);
	thread = check_stacks(p);
	elapsed = calloc((size_t)cJSON_GetArraySize(get(p, "threads")) + 1, sizeof(*elapsed));
	count = calloc((size_t)cJSON_GetArraySize(get(p, "threads")) + 1, sizeof(*count));
	for (int i = 0; i < n; i++) {
		int s = (int)stack[i], t;

		assert_in_range(s, 0, nst - 1);
		t = thread[s];
		assert_true(t >= 0);
		assert_true(!i || time[i] >= time[i - 1]);
		/* a sample's time: its thread's earlier weight (6 decimals written) */
		assert_true(fabs(time[i] - elapsed[t]) < 1e-6 * (double)++count[t]);
		elapsed[t] += weight[i];
		sum += weight[i];
	}
	free(elapsed);
	free(count);
	free(thread);
	free(stack);
	free(weight);
	free(time);
	return sum;
}

static double session_weight(const struct session *s, size_t *count)
{
	size_t n;
	const struct session_sample *smp = session_samples(s, &n);
	double sum = 0;

	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (smp[i].stack != SESSION_NO_STACK) {
			sum += smp[i].weight;
			++*count;
		}
	}
	return sum;
}

static void test_render_html_demo_payload(void **state)
{
	struct session *s = load_sample("demo.pyisession");
	struct render_opts o;
	struct report r = { 0 };
	const cJSON *p, *meta, *thread, *proc;
	size_t count;
	double want = session_weight(s, &count);
	static const int pids[] = { 4242 };
	int prefix;

	render_opts_init(&o);
	o.pids = pids;
	o.npids = 1;
	o.mode = "wall";
	o.lost_samples = 7;
	render_report(s, &o, &r);
	p = r.payload;
	assert_string_equal(r.encoding, "json");
	assert_true(fabs(check_payload(p) - want) < 1e-5);
	assert_int_equal(cJSON_GetArraySize(get(get(p, "samples"), "stack")), (int)count);
	meta = get(p, "meta");
	assert_string_equal(get(meta, "target_description")->valuestring, "Program: demo.py");
	assert_int_equal(get(meta, "sample_count")->valueint, 50);
	assert_int_equal(get(meta, "precision")->valueint, 3);
	assert_string_equal(get(meta, "mode")->valuestring, "wall");
	assert_int_equal(get(meta, "lost_samples")->valueint, 7);
	assert_int_equal(item_int(get(meta, "pids"), 0), 4242);
	assert_true(fabs(get(meta, "interval")->valuedouble - 0.001) < 1e-12);
	assert_int_equal(cJSON_GetArraySize(get(meta, "sys_prefixes")), 4);
	/* one thread under a supplied process root carrying the pid */
	assert_int_equal(cJSON_GetArraySize(get(p, "threads")), 1);
	thread = cJSON_GetArrayItem(get(p, "threads"), 0);
	assert_string_equal(get(thread, "name")->valuestring, "MainThread");
	assert_int_equal(get(thread, "pid")->valueint, 4242);
	prefix = get(thread, "stack_prefix")->valueint;
	assert_string_equal(frame_string(p, stack_frame(p, prefix), 1), "<thread>");
	assert_int_equal(cJSON_GetArraySize(get(p, "processes")), 1);
	proc = cJSON_GetArrayItem(get(p, "processes"), 0);
	assert_int_equal(get(proc, "pid")->valueint, 4242);
	assert_string_equal(get(proc, "cmdline")->valuestring, "demo.py");
	report_free(&r);
	session__free(s);
}

static void test_render_html_pyinstrument_session_is_wall_clock(void **state)
{
	/* pyinstrument records wall-clock time and counts no lost samples: "wall", null */
	struct session *s = load_sample("combined.pyisession");
	struct report r = { 0 };
	size_t count;
	double want = session_weight(s, &count);

	render_report(s, NULL, &r);
	assert_string_equal(get(get(r.payload, "meta"), "mode")->valuestring, "wall");
	assert_true(cJSON_IsNull(get(get(r.payload, "meta"), "lost_samples")));
	assert_int_equal(cJSON_GetArraySize(get(get(r.payload, "meta"), "pids")), 0);
	assert_true(fabs(check_payload(r.payload) - want) < 1e-5);
	/* two recordings, two thread roots (different idents) */
	assert_int_equal(cJSON_GetArraySize(get(r.payload, "threads")), 2);
	report_free(&r);
	session__free(s);
}

static void test_render_html_session_origin_wins(void **state)
{
	/* a session recorded here and loaded again: its own mode, pid and lost count, whatever
	 * the options of the --load run say */
	struct session_origin origin = { SESSION_MODE_CPU, 555, 3 };
	struct session *s = load_sample("demo.pyisession");
	struct render_opts o;
	struct report r = { 0 };
	const cJSON *meta, *thread;

	session_set_origin(s, &origin);
	render_opts_init(&o);
	o.mode = "wall";
	render_report(s, &o, &r);
	meta = get(r.payload, "meta");
	assert_string_equal(get(meta, "mode")->valuestring, "cpu");
	assert_int_equal(get(meta, "lost_samples")->valueint, 3);
	assert_int_equal(cJSON_GetArraySize(get(meta, "pids")), 1);
	assert_int_equal(item_int(get(meta, "pids"), 0), 555);
	thread = cJSON_GetArrayItem(get(r.payload, "threads"), 0);
	assert_int_equal(get(thread, "pid")->valueint, 555);
	assert_int_equal(get(cJSON_GetArrayItem(get(r.payload, "processes"), 0), "pid")->valueint, 555);
	report_free(&r);
	session__free(s);
}

static void test_render_html_empty_session(void **state)
{
	struct session *s = load_sample("empty.pyisession");
	struct report r = { 0 };

	render_report(s, NULL, &r);
	assert_string_equal(r.encoding, "json");
	check_payload(r.payload);
	assert_int_equal(cJSON_GetArraySize(get(get(r.payload, "samples"), "stack")), 0);
	report_free(&r);
	session__free(s);
}

static int find_string(const cJSON *p, const char *want)
{
	const cJSON *strings = get(p, "strings");

	for (int i = 0; i < cJSON_GetArraySize(strings); i++)
		if (!strcmp(cJSON_GetArrayItem(strings, i)->valuestring, want))
			return i;
	return -1;
}

static int find_frame(const cJSON *p, const char *function)
{
	int idx = find_string(p, function);
	const cJSON *frames = get(p, "frames");

	for (int i = 0; idx >= 0 && i < cJSON_GetArraySize(frames); i++)
		if (item_int(cJSON_GetArrayItem(frames, i), 0) == idx)
			return i;
	fail_msg("no frame named %s", function);
	return -1;
}

/* Wall-mode reasons, classes, __tracebackhide__, truncation, two processes. */
static struct session *flags_session(void)
{
	struct session *s = session__new();
	uint32_t p1, p2, t1, t2, f;

	p1 = session_stack_push(s, SESSION_NO_STACK, frame(s, "/usr/bin/python3 a.py", "<process>",
							   "101", NULL));
	p2 = session_stack_push(s, SESSION_NO_STACK, frame(s, "python3 b.py", "<process>", "202",
							   NULL));
	t1 = session_stack_push(s, p1, frame(s, "MainThread", "<thread>", "140000000000001", NULL));
	t2 = session_stack_push(s, p2, frame(s, "Worker", "<thread>", "140000000000002", NULL));
	f = session_stack_push(s, t1, frame(s, "handle", "/app/a.py", "10", "\x01" "cServer"
					    "\x01" "l12"));
	session_add_record(s, session_stack_push(s, f, frame(s, "[sleeping]", "<idle>", "0", NULL)),
			   0.5);
	session_add_record(s, session_stack_push(s, f, frame(s, "[in select]", "<wait>", "0",
							      NULL)), 0.25);
	session_add_record(s, session_stack_push(s, f, frame(s, "hidden", "/app/a.py", "20",
							      "\x01h1")), 0.125);
	session_add_record(s, session_stack_push(s, t2, frame(s, "[truncated: 9 frames]",
							      "<truncated>", "0", NULL)), 0.001);
	f = session_stack_push(s, t2, session_intern_frame(s, "[self]", 6));
	session_add_record(s, f, 0.002);
	session_add_record(s, f, 0.001);
	session_add_record(s, p2, 0.003);	/* a sample of a process with no thread frame */
	session_set_interval(s, 0.001, 0.001);
	return s;
}

static void test_render_html_frame_flags(void **state)
{
	struct session *s = flags_session();
	struct report r = { 0 };
	const cJSON *p, *pids;
	int handle;

	assert_int_equal(session_error(s), 0);
	render_report(s, NULL, &r);
	p = r.payload;
	assert_true(fabs(check_payload(p) - 0.882) < 1e-9);
	handle = find_frame(p, "handle");
	assert_string_equal(frame_string(p, handle, 3), "Server");
	assert_int_equal(item_int(cJSON_GetArrayItem(get(p, "frames"), handle), 2), 10);
	assert_int_equal(frame_flags(p, handle), 2);
	assert_int_equal(frame_flags(p, find_frame(p, "[sleeping]")), 1 | 32);
	assert_int_equal(frame_flags(p, find_frame(p, "[in select]")), 1);
	assert_int_equal(frame_flags(p, find_frame(p, "hidden")), 2 | 4);
	assert_int_equal(frame_flags(p, find_frame(p, "[truncated: 9 frames]")), 1);
	assert_int_equal(frame_flags(p, find_frame(p, "[self]")), 1);
	assert_int_equal(frame_flags(p, find_frame(p, "Worker")), 8);
	assert_int_equal(frame_flags(p, find_frame(p, "python3")), 16);
	pids = get(get(p, "meta"), "pids");
	assert_int_equal(cJSON_GetArraySize(pids), 2);
	assert_int_equal(item_int(pids, 0), 101);
	assert_int_equal(item_int(pids, 1), 202);
	assert_string_equal(get(cJSON_GetArrayItem(get(p, "processes"), 0), "cmdline")->valuestring,
			    "/usr/bin/python3 a.py");
	/* Worker plus the thread supplied for the bare process sample, in process 202 */
	assert_int_equal(cJSON_GetArraySize(get(p, "threads")), 3);
	assert_int_equal(get(cJSON_GetArrayItem(get(p, "threads"), 1), "pid")->valueint, 202);
	report_free(&r);
	session__free(s);
}

static void test_render_html_escapes_hostile_names(void **state)
{
	struct session *s = session__new();
	struct report r = { 0 };
	uint32_t t, f;
	size_t hlen, tlen;
	const cJSON *p;

	html_assets_report_head(&hlen);
	html_assets_report_tail(&tlen);
	t = session_stack_push(s, SESSION_NO_STACK, frame(s, "<!-- thread", "<thread>", "1", NULL));
	f = session_stack_push(s, t, frame(s, HOSTILE, "/app/\"q\"&'s'.py", "1",
					   "\x01" "c<b>bold</b>"));
	session_add_record(s, f, 0.001);
	f = session_stack_push(s, f, frame(s, "bad \xff\xfe utf8 \xed\xa0\x80 \x02 \xe2\x80\xa8",
					   "/app/x.py", "2", NULL));
	session_add_record(s, f, 0.002);
	session_set_target_description(s, "Program: " HOSTILE);
	session_add_sys_path(s, "/app/</script>");
	render_report(s, NULL, &r);
	p = r.payload;
	assert_string_equal(r.encoding, "json");
	/* between head and tail, only the element's own tags have '<' */
	assert_null(memmem(r.html + hlen, r.len - hlen - tlen, "<img", 4));
	assert_null(memmem(r.html + hlen + 1, r.len - hlen - tlen - 10, "<", 1));
	assert_non_null(memmem(r.html, r.len, "\\u003c/script\\u003e", 19));
	assert_non_null(memmem(r.html, r.len, "\\u0002", 6));
	assert_non_null(memmem(r.html, r.len, "\\u2028", 6));
	check_payload(p);
	assert_true(find_string(p, HOSTILE) >= 0);
	assert_true(find_string(p, "<b>bold</b>") >= 0);
	assert_true(find_string(p, "/app/\"q\"&'s'.py") >= 0);
	assert_true(find_string(p, "bad \xef\xbf\xbd\xef\xbf\xbd utf8 "
				"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \x02 \xe2\x80\xa8") >= 0);
	assert_string_equal(get(get(p, "meta"), "target_description")->valuestring,
			    "Program: " HOSTILE);
	report_free(&r);
	session__free(s);
}

/* A random walk over a small call graph: nthreads threads, n samples, round robin. */
static struct session *walk_session(size_t n, unsigned nthreads)
{
	struct session *s = session__new();
	uint32_t proc, fr[16], path[8][32], depth[8] = { 0 };
	unsigned seed = 1;
	char name[32];

	assert_true(nthreads <= 8);
	proc = session_stack_push(s, SESSION_NO_STACK, frame(s, "python3 app.py", "<process>",
							     "4000", NULL));
	for (unsigned i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "fn%u", i);
		fr[i] = frame(s, name, i % 3 ? "/app/work.py" : "/usr/lib/python3.11/json.py",
			      i % 3 ? "10" : "300", i % 5 ? NULL : "\x01" "cKlass");
	}
	for (unsigned t = 0; t < nthreads; t++) {
		char ident[32];

		snprintf(name, sizeof(name), t ? "Worker-%u" : "MainThread", t);
		snprintf(ident, sizeof(ident), "%u", 139700000 + t);
		path[t][0] = session_stack_push(s, proc, frame(s, name, "<thread>", ident, NULL));
	}
	for (size_t i = 0; i < n; i++) {
		unsigned t = (unsigned)(i % nthreads), r = rand_r(&seed);

		if (r % 100 < 45 && depth[t] > 0) {
			depth[t]--;
		} else if (r % 100 < 90 && depth[t] < 30) {
			path[t][depth[t] + 1] = session_stack_push(s, path[t][depth[t]],
								  fr[(r >> 8) % 16]);
			depth[t]++;
		}
		session_add_record(s, path[t][depth[t]], 0.001);
	}
	session_set_times(s, 1795559549.692, (double)n / nthreads * 0.001);
	session_set_interval(s, 0.001, 0.001);
	session_set_sample_count(s, n);
	assert_int_equal(session_error(s), 0);
	return s;
}

static void check_walk(size_t n, unsigned nthreads, bool merged)
{
	struct session *s = walk_session(n, nthreads);
	struct report r = { 0 };
	const cJSON *p;
	int got;

	render_report(s, NULL, &r);
	p = r.payload;
	assert_string_equal(r.encoding, "deflate-base64");
	fprintf(stderr, "# %zu samples, %u threads: %.2f MB\n", n, nthreads, r.len / 1e6);
	if (n <= 1000000)
		assert_true(r.len < 10 * 1000 * 1000);
	assert_true(fabs(check_payload(p) - (double)n * 0.001) < 1e-6 * (double)n);
	got = cJSON_GetArraySize(get(get(p, "samples"), "stack"));
	if (merged) {
		/* past the session's bound the timeline is coarsened (docs/long-sessions.md) */
		assert_true(got < (int)n);
		assert_true(got <= (int)SESSION_MAX_RECORDS ||
			    got <= 2 * (int)session_stack_count(s));
		assert_true(get(get(p, "meta"), "resolution")->valuedouble > 0);
	} else {
		assert_int_equal(got, (int)n);
		assert_true(get(get(p, "meta"), "resolution")->valuedouble == 0);
	}
	assert_int_equal(cJSON_GetArraySize(get(p, "threads")), (int)nthreads);
	assert_int_equal(get(get(p, "meta"), "sample_count")->valueint, (int)n);
	report_free(&r);
	session__free(s);
}

static void test_render_html_big_session(void **state)
{
	size_t n = getenv("PYI_HTML_TEST_SMALL") ? 100000 : 1000000;

	check_walk(n, 8, n > SESSION_MAX_RECORDS);
}

/*
 * The timeline's byte budget (docs/long-sessions.md): a session whose samples fit is written
 * record for record at full resolution; one whose samples would take more than 256 KiB of the
 * report (300 000 records, under the session's own bound) is coarsened, its totals exact.
 */
static void test_render_html_timeline_budget(void **state)
{
	check_walk(20000, 4, false);
	check_walk(300000, 8, true);
}

/* The node of the frame named function, depth first. */
static const struct frame_node *find_node(const struct frame_tree *t, const struct frame_node *n,
					  const char *function)
{
	const struct frame_node *hit;

	if (!strcmp(t->idents[n->ident].function, function))
		return n;
	for (uint32_t i = 0; i < n->nchildren; i++)
		if ((hit = find_node(t, n->children[i], function)))
			return hit;
	return NULL;
}

/*
 * The HTML payload's application-code flag and the text report's rule (frame_tree, which the
 * json report and library grouping use too) say the same of every file. They once disagreed on
 * an empty sys_prefixes entry, which Python's str.startswith matches with every path: the text
 * report took every frame for library code, the HTML payload none.
 */
static void test_render_html_library_rule_matches_text(void **state)
{
	static const char *const prefix_sets[][2] = {
		{ "/usr", NULL }, { "", NULL }, { "/usr", "" }, { "/opt/venv", "/usr/lib" },
	};
	static const char *const files[][2] = {
		{ "app_code", "/app/x.py" },
		{ "stdlib", "/usr/lib/python3.11/json/decoder.py" },
		{ "venv_lib", "/opt/venv/lib/python3.11/site-packages/requests/api.py" },
		{ "notebook", "<ipython-input-3-1f2e>" },
		{ "builtin", "<built-in>" },
		{ "frozen", "<frozen runpy>" },
		{ "relative", "app/rel.py" },
	};
	const size_t nfiles = sizeof(files) / sizeof(files[0]);

	for (size_t k = 0; k < sizeof(prefix_sets) / sizeof(prefix_sets[0]); k++) {
		struct session *s = session__new();
		struct report r = { 0 };
		struct frame_tree *t;
		uint32_t th;

		th = session_stack_push(s, SESSION_NO_STACK, frame(s, "MainThread", "<thread>", "1",
								   NULL));
		for (size_t i = 0; i < nfiles; i++)
			session_add_record(s, session_stack_push(s, th, frame(s, files[i][0],
							  files[i][1], "1", NULL)), 0.01);
		for (size_t i = 0; i < 2 && prefix_sets[k][i]; i++)
			session_add_sys_prefix(s, prefix_sets[k][i]);
		assert_int_equal(session_error(s), 0);
		t = frame_tree__new(s, false);
		assert_non_null(t);
		render_report(s, NULL, &r);
		for (size_t i = 0; i < nfiles; i++) {
			const struct frame_node *n = find_node(t, t->root, files[i][0]);
			int f = find_frame(r.payload, files[i][0]);
			bool html_app = frame_flags(r.payload, f) & 2;

			assert_non_null(n);
			if (frame_is_application_code(t, n) != html_app)
				fail_msg("prefixes \"%s\", \"%s\": %s: text says %s, html %s",
					 prefix_sets[k][0], prefix_sets[k][1] ?: "", files[i][1],
					 html_app ? "library" : "app",
					 html_app ? "app" : "library");
		}
		frame_tree__free(t);
		report_free(&r);
		session__free(s);
	}
}

static void test_render_html_merges_huge_sessions(void **state)
{
	if (getenv("PYI_HTML_TEST_SMALL"))
		skip();
	check_walk(2500000, 4, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_html_demo_payload),
		cmocka_unit_test(test_render_html_pyinstrument_session_is_wall_clock),
		cmocka_unit_test(test_render_html_session_origin_wins),
		cmocka_unit_test(test_render_html_empty_session),
		cmocka_unit_test(test_render_html_frame_flags),
		cmocka_unit_test(test_render_html_library_rule_matches_text),
		cmocka_unit_test(test_render_html_escapes_hostile_names),
		cmocka_unit_test(test_render_html_big_session),
		cmocka_unit_test(test_render_html_timeline_budget),
		cmocka_unit_test(test_render_html_merges_huge_sessions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
