// SPDX-License-Identifier: MIT
/*
 * Continuous mode (docs/fleet.md): options, and the loop that cuts the collector's sessions into
 * windows and hands each process's window to the spool (push) and/or the output directory.
 * The sampling loop never waits on the network: the sender is its own thread.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "fleet.h"
#include "log.h"
#include "render.h"
#include "report.h"
#include "session.h"
#include "waits.h"

#define MAX_WINDOW_SESSIONS 4096
#define LABELS_MAX 2048
#define FLUSH_TIMEOUT_S 10.0	/* at exit, how long the last windows may take to go out */
#define DROP_REPORT_S 300.0

void fleet_opts_init(struct fleet_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval = 15;
	o->spool_mem = 16ULL << 20;
	o->spool_max = 256ULL << 20;
}

bool fleet_enabled(const struct fleet_opts *o)
{
	return o->push_url || o->output_dir;
}

/* 123, 64K, 16M, 2G (powers of 1024). */
static int parse_size(const char *s, uint64_t min, uint64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v > 1e15)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if ((*end == 'b' || *end == 'B') && end[1] == '\0')
		end++;
	if (*end || v < (double)min)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

int fleet_parse_option(struct fleet_opts *o, int opt, const char *name, const char *arg)
{
	char why[160] = "";
	char *end;

	switch (opt) {
	case FLEET_OPT_PUSH:
		o->push_url = arg;
		return 0;
	case FLEET_OPT_INTERVAL:
		errno = 0;
		o->interval = strtod(arg, &end);
		if (errno || end == arg || *end || !(o->interval >= 0.1 && o->interval <= 86400))
			snprintf(why, sizeof(why), "seconds from 0.1 to 86400");
		break;
	case FLEET_OPT_TAG:
		if (o->ntags == FLEET_MAX_TAGS)
			snprintf(why, sizeof(why), "at most %d tags", FLEET_MAX_TAGS);
		else if (!fleet_tag_valid(arg, why, sizeof(why)))
			o->tags[o->ntags++] = arg;
		break;
	case FLEET_OPT_TENANT:
		o->tenant = arg;
		break;
	case FLEET_OPT_BASIC_AUTH:
		if (!strchr(arg, ':'))
			snprintf(why, sizeof(why), "expected USER:PASSWORD");
		o->basic_auth = arg;
		break;
	case FLEET_OPT_TOKEN:
		o->token = arg;
		break;
	case FLEET_OPT_CA_FILE:
		o->ca_file = arg;
		break;
	case FLEET_OPT_SPOOL_DIR:
		o->spool_dir = arg;
		break;
	case FLEET_OPT_SPOOL_MEMORY:
		if (parse_size(arg, 64 << 10, &o->spool_mem))
			snprintf(why, sizeof(why), "a size such as 16M, at least 64K");
		break;
	case FLEET_OPT_SPOOL_MAX:
		if (parse_size(arg, 0, &o->spool_max))
			snprintf(why, sizeof(why), "a size such as 256M");
		break;
	case FLEET_OPT_OUTPUT_DIR:
		o->output_dir = arg;
		break;
	case FLEET_OPT_KEEP:
		errno = 0;
		o->keep = strtoull(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-')
			snprintf(why, sizeof(why), "a number of files");
		break;
	case FLEET_OPT_KEEP_SIZE:
		if (parse_size(arg, 0, &o->keep_bytes))
			snprintf(why, sizeof(why), "a size such as 1G");
		break;
	default:
		return -EINVAL;
	}
	if (!why[0])
		return 0;
	pr_err("invalid value for %s: %s", name, why);
	return -EINVAL;
}

/* A value for a header: printable ASCII only, so nothing can end the header early. */
static bool header_safe(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

static int check_credentials(struct fleet_opts *o)
{
	static char basic[1024];
	const char *user = getenv("PYROSCOPE_BASIC_AUTH_USER");
	const char *pass = getenv("PYROSCOPE_BASIC_AUTH_PASSWORD");

	if (!o->tenant && getenv("PYROSCOPE_TENANT_ID") && *getenv("PYROSCOPE_TENANT_ID"))
		o->tenant = getenv("PYROSCOPE_TENANT_ID");
	if (!o->token && !o->basic_auth && getenv("PYROSCOPE_AUTH_TOKEN") &&
	    *getenv("PYROSCOPE_AUTH_TOKEN"))
		o->token = getenv("PYROSCOPE_AUTH_TOKEN");
	if (!o->token && !o->basic_auth && user && *user) {
		snprintf(basic, sizeof(basic), "%s:%s", user, pass ? pass : "");
		o->basic_auth = basic;
	}
	if (o->token && o->basic_auth) {
		pr_err("--push-token and --push-basic-auth: give one of them");
		return -EINVAL;
	}
	if ((o->tenant && !header_safe(o->tenant)) || (o->token && !header_safe(o->token)) ||
	    (o->basic_auth && !header_safe(o->basic_auth))) {
		pr_err("--push-tenant, --push-token and --push-basic-auth take printable ASCII only");
		return -EINVAL;
	}
	if (!o->push_url && (o->tenant || o->token || o->basic_auth || o->spool_dir)) {
		pr_err("--push-tenant, --push-token, --push-basic-auth and --spool-dir go with "
		       "--push URL");
		return -EINVAL;
	}
	return 0;
}

int fleet_check(struct fleet_opts *o, struct report_opts *report)
{
	struct report_opts probe;
	char err[512];

	if (!fleet_enabled(o)) {
		if (o->ntags || o->keep || o->keep_bytes) {
			pr_err("--tag, --output-keep and --output-max-size go with --push or "
			       "--output-dir");
			return -EINVAL;
		}
		return check_credentials(o);
	}
	if (report->outfile) {
		pr_err("-o writes one report at the end: continuous mode writes a file per window "
		       "with --output-dir DIR");
		return -EINVAL;
	}
	if (o->push_url && push_url_check(o->push_url, err, sizeof(err))) {
		pr_err("%s", err);
		return -EINVAL;
	}
	if (!o->output_dir && (o->keep || o->keep_bytes)) {
		pr_err("--output-keep and --output-max-size go with --output-dir DIR");
		return -EINVAL;
	}
	if (o->output_dir) {
		struct outdir *d = outdir__open(o->output_dir, o->keep, o->keep_bytes, err,
						sizeof(err));

		if (!d) {
			pr_err("%s", err);
			return -EINVAL;
		}
		outdir__free(d);
	}
	if (o->spool_dir) {
		struct spool *sp = spool__new(o->spool_mem, o->spool_dir, o->spool_max, err,
					      sizeof(err));

		if (!sp) {
			pr_err("%s", err);
			return -EINVAL;
		}
		spool__free(sp);
	}
	if (!report->renderer)
		report->renderer = "pprof";
	probe = *report;
	probe.outfile = "window";	/* files, never a terminal */
	if (report_check(&probe))
		return -EINVAL;
	return check_credentials(o);
}

/* ---- windows ------------------------------------------------------------------------------ */

struct label_entry {
	int pid;
	unsigned long long start;	/* the process's start time: a reused pid is another one */
	uint64_t seen;			/* the window it was last used in */
	char *labels;
};

struct fleet {
	struct fleet_opts *o;
	struct collector *c;
	struct report_opts *report;
	struct spool *sp;
	struct pusher *pusher;
	struct outdir *out;
	struct session **sessions;
	int *pids;
	struct label_entry *labels;
	size_t nlabels, labels_cap;
	uint64_t window;
	uint64_t dropped_said;
	double drop_said_at;
	bool wall;
};

static double wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static unsigned long long proc_start(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		       "%*d %*d %llu", &v);
	fclose(f);
	return v;
}

/* The process's name in the backend, computed once per process (it reads its environment). */
static const char *labels_for(struct fleet *f, int pid)
{
	unsigned long long start = proc_start(pid);
	struct label_entry *e = NULL, *grown;
	char buf[LABELS_MAX];
	int major = 0, minor = 0;
	size_t i;

	for (i = 0; i < f->nlabels; i++) {
		if (f->labels[i].pid == pid && (!start || f->labels[i].start == start)) {
			f->labels[i].seen = f->window;
			return f->labels[i].labels;
		}
	}
	collector_python_version(f->c, pid, &major, &minor);
	if (fleet_process_labels(pid, major, minor, f->o, buf, sizeof(buf)))
		return NULL;
	if (f->nlabels == f->labels_cap) {
		grown = realloc(f->labels, (f->labels_cap ? f->labels_cap * 2 : 32) * sizeof(*e));
		if (!grown)
			return NULL;
		f->labels = grown;
		f->labels_cap = f->labels_cap ? f->labels_cap * 2 : 32;
	}
	e = &f->labels[f->nlabels];
	e->labels = strdup(buf);
	if (!e->labels)
		return NULL;
	e->pid = pid;
	e->start = start;
	e->seen = f->window;
	f->nlabels++;
	return e->labels;
}

/* Processes not seen for a few windows are forgotten: flat memory as processes come and go. */
static void labels_expire(struct fleet *f)
{
	size_t i, kept = 0;

	for (i = 0; i < f->nlabels; i++) {
		if (f->window - f->labels[i].seen > 4)
			free(f->labels[i].labels);
		else
			f->labels[kept++] = f->labels[i];
	}
	f->nlabels = kept;
}

static bool is_wait_frame(const struct session *s, uint32_t frame)
{
	size_t len;
	const char *info = session_frame_info(s, frame, &len);
	const char *file = memchr(info, '\0', len);

	/* a loop's idle time given to its suspended task (asyncio_view.h) is a wait too */
	if (session_frame_ident(s, frame) == SESSION_IDENT_AWAIT)
		return true;
	if (!file)
		return false;
	file++;
	return !strcmp(file, WAIT_FILE) || !strcmp(file, IDLE_FILE);
}

/* Wall mode: the on-CPU part of a window (samples whose leaf is not a wait), for the cpu type. */
static struct session *cpu_part(const struct session *s, double *total)
{
	const struct session_header *h = session_get_header(s);
	uint32_t nstacks = session_stack_count(s), *memo;
	const struct session_sample *v;
	struct session *out = session__new();
	uint64_t count = 0;
	size_t n, i;

	memo = malloc(((size_t)nstacks + 1) * sizeof(*memo));
	if (!out || !memo) {
		free(memo);
		session__free(out);
		return NULL;
	}
	memset(memo, 0xff, ((size_t)nstacks + 1) * sizeof(*memo));
	*total = 0;
	v = session_samples(s, &n);
	for (i = 0; i < n; i++) {
		uint32_t stack = v[i].stack, chain[SESSION_MAX_DEPTH], depth = 0, copy;

		if (stack == SESSION_NO_STACK || stack >= nstacks ||
		    is_wait_frame(s, session_stack_frame(s, stack)))
			continue;
		/* the part of the stack not copied yet, then copied root first */
		for (copy = stack; copy != SESSION_NO_STACK && memo[copy] == UINT32_MAX &&
		     depth < SESSION_MAX_DEPTH; copy = session_stack_parent(s, copy))
			chain[depth++] = copy;
		copy = copy == SESSION_NO_STACK ? SESSION_NO_STACK : memo[copy];
		while (depth--) {
			size_t len;
			const char *info = session_frame_info(s, session_stack_frame(s, chain[depth]),
							      &len);

			copy = session_stack_push(out, copy, session_intern_frame(out, info, len));
			memo[chain[depth]] = copy;
		}
		session_add_record(out, memo[stack], v[i].weight);
		*total += v[i].weight;
		count += h->min_interval > 0 ? (uint64_t)llround(v[i].weight / h->min_interval) : 1;
	}
	free(memo);
	session_set_times(out, h->start_time, h->duration);
	session_set_interval(out, h->min_interval, h->max_interval);
	session_set_cpu_time(out, h->cpu_time);
	session_set_target_description(out, h->target_description);
	session_set_sample_count(out, count);
	if (session_error(out)) {
		session__free(out);
		return NULL;
	}
	return out;
}

static double session_total(const struct session *s)
{
	const struct session_sample *v;
	double t = 0;
	size_t n;

	v = session_samples(s, &n);
	for (size_t i = 0; i < n; i++)
		t += v[i].weight;
	return t;
}

/* The session rendered into memory. */
static uint8_t *render_mem(struct session *s, struct report_opts *ro, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int rc;

	if (!f)
		return NULL;
	rc = report_render(s, ro, f);
	if (fclose(f) || rc) {
		free(buf);
		return NULL;
	}
	return (uint8_t *)buf;
}

static void push_one(struct fleet *f, struct session *s, const char *kind, const char *name,
		     double from, double until)
{
	struct report_opts ro = { .renderer = "pprof", .outfile = "window", .mode = kind };
	char query[LABELS_MAX * 3 + 256];
	uint8_t *body;
	size_t len;

	if (push_query(query, sizeof(query), name, from, until,
		       session_get_header(s)->min_interval))
		return;
	body = render_mem(s, &ro, &len);
	if (!body) {
		pr_warn("push: cannot render a window of %s", name);
		return;
	}
	spool_put(f->sp, query, body, len);
	free(body);
}

static const char *extension(const char *renderer)
{
	static const struct { const char *r, *ext; } map[] = {
		{ "pprof", "pb.gz" }, { "session", "pyisession" }, { "pyisession", "pyisession" },
		{ "speedscope", "speedscope.json" }, { "json", "json" }, { "html", "html" },
		{ "pstats", "pstats" }, { "folded", "folded" }, { "text", "txt" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(map[i].r, renderer))
			return map[i].ext;
	}
	return "out";
}

static void write_one(struct fleet *f, struct session *s, int pid, const char *labels,
		      double from)
{
	char name[256], service[FLEET_LABEL_MAX], stamp[32];
	struct report_opts ro = *f->report;
	const char *brace = strchr(labels, '{');
	time_t t = (time_t)from;
	struct tm tm;
	uint8_t *data;
	size_t len;

	fleet_label_value(labels, brace ? (size_t)(brace - labels) : strlen(labels), service,
			  sizeof(service));
	for (char *p = service; *p; p++)
		*p = *p == '/' ? '_' : *p;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	/* the time first: retention's "oldest" is the first name */
	snprintf(name, sizeof(name), "pyinst-%s.%03dZ-%d-%s.%s", stamp,
		 (int)((from - floor(from)) * 1000), pid, service, extension(ro.renderer));
	ro.outfile = name;
	ro.pids = &pid;
	ro.npids = 1;
	data = render_mem(s, &ro, &len);
	if (!data) {
		pr_warn("--output-dir: cannot render %s", name);
		return;
	}
	outdir_write(f->out, name, data, len);
	free(data);
}

static void say_drops(struct fleet *f)
{
	struct spool_stats st;

	spool_stats(f->sp, &st);
	if (st.dropped == f->dropped_said || wall_now() - f->drop_said_at < DROP_REPORT_S)
		return;
	pr_warn("push: %llu windows dropped so far: the backend is not taking them and the spool "
		"is full (--spool-memory, --spool-dir, --spool-max-size)",
		(unsigned long long)st.dropped);
	f->dropped_said = st.dropped;
	f->drop_said_at = wall_now();
}

static void emit_window(struct fleet *f, double from, double until)
{
	size_t n, i;

	n = collector_take_window(f->c, from, until - from, "continuous", f->sessions, f->pids,
				  MAX_WINDOW_SESSIONS);
	f->window++;
	for (i = 0; i < n; i++) {
		struct session *s = f->sessions[i], *cpu;
		const char *labels;
		double cpu_total;

		if (session_total(s) <= 0)
			goto next;
		labels = labels_for(f, f->pids[i]);
		if (!labels)
			goto next;
		if (f->out)
			write_one(f, s, f->pids[i], labels, from);
		if (!f->sp)
			goto next;
		if (!f->wall) {
			push_one(f, s, "cpu", labels, from, until);
			goto next;
		}
		push_one(f, s, "wall", labels, from, until);
		cpu = cpu_part(s, &cpu_total);
		if (cpu && cpu_total > 0)
			push_one(f, cpu, "cpu", labels, from, until);
		session__free(cpu);
next:
		session__free(s);
	}
	if (f->out)
		outdir_retain(f->out);
	labels_expire(f);
	if (f->sp)
		say_drops(f);
}

static int fleet_open(struct fleet *f)
{
	char err[512];

	f->sessions = calloc(MAX_WINDOW_SESSIONS, sizeof(*f->sessions));
	f->pids = calloc(MAX_WINDOW_SESSIONS, sizeof(*f->pids));
	if (!f->sessions || !f->pids) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	if (f->o->output_dir) {
		f->out = outdir__open(f->o->output_dir, f->o->keep, f->o->keep_bytes, err,
				      sizeof(err));
		if (!f->out) {
			pr_err("%s", err);
			return -EINVAL;
		}
	}
	if (f->o->push_url) {
		f->sp = spool__new(f->o->spool_mem, f->o->spool_dir, f->o->spool_max, err,
				   sizeof(err));
		if (!f->sp) {
			pr_err("%s", err);
			return -EINVAL;
		}
		f->pusher = pusher__new(f->o, f->sp, err, sizeof(err));
		if (!f->pusher) {
			pr_err("%s", err);
			return -EINVAL;
		}
	}
	return 0;
}

/* summary: say what the spool did (not when continuous mode never started). */
static int fleet_close(struct fleet *f, bool summary)
{
	struct spool_stats st;
	uint64_t kept = 0;
	int rc = 0;

	if (f->pusher)
		pusher__free(f->pusher, FLUSH_TIMEOUT_S);
	if (f->sp) {
		kept = spool_persist(f->sp);
		spool_stats(f->sp, &st);
		rc = st.dropped || st.rejected ? 1 : 0;
		/* profiles lost fail the run: then an error, shown even with -q */
		if (summary)
			log_msg(rc ? LOG_ERROR : LOG_WARN, "push: %llu profiles sent, %llu refused by "
				"the backend, %llu dropped (spool full or exiting), %llu kept in "
				"--spool-dir for the next run", (unsigned long long)st.sent,
				(unsigned long long)st.rejected, (unsigned long long)st.dropped,
				(unsigned long long)kept);
	}
	spool__free(f->sp);
	outdir__free(f->out);
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i].labels);
	free(f->labels);
	free(f->sessions);
	free(f->pids);
	return rc;
}

int fleet_run(struct fleet_opts *o, struct collector *c, struct report_opts *report,
	      volatile sig_atomic_t *stop, double duration)
{
	struct fleet f = { .o = o, .c = c, .report = report };
	double start = wall_now(), from = start, next = start + o->interval, now;
	int rc, polled = 0;

	f.wall = !report->mode || strcmp(report->mode, "cpu");
	if (fleet_open(&f)) {
		fleet_close(&f, false);
		return 1;
	}
	pr_warn("continuous mode: a window every %g s%s%s%s%s", o->interval,
		o->push_url ? " pushed to " : "", o->push_url ? o->push_url : "",
		o->output_dir ? " written to " : "", o->output_dir ? o->output_dir : "");
	while (!*stop) {
		polled = collector_poll(c, 50);
		if (polled < 0) {
			pr_err("sampling stopped: the collector failed: %s", strerror(-polled));
			break;
		}
		now = wall_now();
		if (duration && now - start >= duration)
			break;
		if (collector_done(c))
			break;
		if (now >= next) {
			emit_window(&f, from, now);
			from = now;
			next += o->interval;
			if (next <= now)	/* fell behind (a suspended machine): start afresh */
				next = now + o->interval;
		}
	}
	emit_window(&f, from, wall_now());
	rc = fleet_close(&f, true);
	/* what was collected went out, but a failed collection is not a success */
	return polled < 0 ? 1 : rc;
}
