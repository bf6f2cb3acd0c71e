// SPDX-License-Identifier: MIT
/*
 * pyinst-bpf dump --pid PID [--json]: every thread of a Python process with its name, its
 * state and its Python stack, read once by the wall iterator (bpf/sampler.bpf.c). Nothing runs
 * in the target: a process blocked for hours or stopped by SIGSTOP is read like any other.
 * Names come from the target and are hostile: the text form escapes every control character.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "dump.h"
#include "log.h"
#include "options.h"
#include "proc.h"
#include "session.h"
#include "utf8.h"
#include "waits.h"

struct dump_thread {
	int tid;
	__u32 reason;
	__u32 flags;
	uint32_t stack;		/* leaf; its root is the thread's root frame */
};

struct dump {
	struct session *s;
	struct dump_thread *threads;
	size_t n, cap;
	bool oom;
};

static void on_thread(void *ctx, struct session *s, const struct pyi_sample *rec,
		      uint32_t stack)
{
	struct dump *d = ctx;
	struct dump_thread *t;

	if (stack == SESSION_NO_STACK)
		return;
	if (d->n == d->cap) {
		t = realloc(d->threads, (d->cap ? d->cap * 2 : 16) * sizeof(*t));
		if (!t) {
			d->oom = true;
			return;
		}
		d->threads = t;
		d->cap = d->cap ? d->cap * 2 : 16;
	}
	d->s = s;
	d->threads[d->n++] = (struct dump_thread){ .tid = (int)rec->tid, .reason = rec->reason,
						   .flags = rec->flags, .stack = stack };
}

static int by_tid(const void *a, const void *b)
{
	const struct dump_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* What the thread is doing, in words: "running", "waiting on a lock", "stopped"... */
static const char *state_text(const struct dump_thread *t, char *buf, size_t len)
{
	const char *label;
	size_t n;

	switch (t->reason) {
	case PYI_REASON_ONCPU:
		return "running";
	case PYI_REASON_PREEMPTED:
		return "runnable (waiting for a CPU)";
	case PYI_REASON_STOPPED:
		return "stopped";
	default:
		break;
	}
	/* the wait labels are "[sleeping]": the words without the brackets */
	label = waits_label(t->reason, buf, len);
	n = strlen(label);
	if (n >= 2 && label[0] == '[' && label[n - 1] == ']') {
		memmove(buf, label + 1, n - 2);
		buf[n - 2] = '\0';
		return buf;
	}
	return label;
}

/* Text for a terminal: control characters, C1 controls and bad UTF-8 become escapes. */
static void put_text(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	size_t n;

	for (; p < end; p += n) {
		n = utf8_decode(p, (size_t)(end - p), &cp);
		if (!n || cp < 0x20 || cp == 0x7f) {
			fprintf(out, "\\x%02x", *p);
			n = 1;
		} else if (cp >= 0x80 && cp < 0xa0) {
			fprintf(out, "\\u%04x", cp);
		} else {
			fwrite(p, 1, n, out);
		}
	}
}

/* A frame_info's fields: function \0 file \0 first line [\x01 attributes]. */
struct frame_fields {
	const char *func, *file, *cls;
	size_t func_len, file_len, cls_len;
	long line;
};

static void frame_fields(const char *info, size_t len, struct frame_fields *f)
{
	const char *end = info + len, *p, *attr;

	memset(f, 0, sizeof(*f));
	f->func = info;
	p = memchr(info, '\0', len);
	f->func_len = p ? (size_t)(p - info) : len;
	if (!p)
		return;
	f->file = p + 1;
	p = memchr(f->file, '\0', (size_t)(end - f->file));
	f->file_len = p ? (size_t)(p - f->file) : (size_t)(end - f->file);
	if (!p)
		return;
	f->line = strtol(p + 1, NULL, 10);
	/* attributes: \x01 then a letter: l = current line, c = class name */
	for (attr = memchr(p, '\x01', (size_t)(end - p)); attr;
	     attr = memchr(attr + 1, '\x01', (size_t)(end - attr - 1))) {
		const char *next = memchr(attr + 1, '\x01', (size_t)(end - attr - 1));
		size_t alen = (size_t)((next ? next : end) - attr) - 1;

		if (alen >= 1 && attr[1] == 'l')
			f->line = strtol(attr + 2, NULL, 10);
		else if (alen >= 1 && attr[1] == 'c') {
			f->cls = attr + 2;
			f->cls_len = alen - 1;
		}
	}
}

static void json_string(FILE *out, const char *s, size_t len)
{
	session_json_write_string(out, s, len);
}

/* The thread's root frame (name \0 "<thread>" \0 ident). */
static uint32_t root_of(const struct session *s, uint32_t stack)
{
	while (session_stack_parent(s, stack) != SESSION_NO_STACK)
		stack = session_stack_parent(s, stack);
	return stack;
}

static void print_thread(FILE *out, const struct dump *d, const struct dump_thread *t, bool json,
			 bool first)
{
	uint32_t root = root_of(d->s, t->stack), st;
	struct frame_fields f;
	const char *info, *state;
	char buf[64];
	size_t len;
	bool any = false;

	info = session_frame_info(d->s, session_stack_frame(d->s, root), &len);
	frame_fields(info, len, &f);
	state = state_text(t, buf, sizeof(buf));
	if (json) {
		fprintf(out, "%s{\"tid\": %d, \"name\": ", first ? "" : ", ", t->tid);
		json_string(out, f.func, f.func_len);
		fputs(", \"state\": ", out);
		json_string(out, state, strlen(state));
		fprintf(out, ", \"gil\": %s, \"python\": %s, \"frames\": [",
			t->flags & PYI_SF_GIL_HELD ? "true" : "false",
			t->flags & PYI_SF_NO_TSTATE ? "false" : "true");
	} else {
		fprintf(out, "\nThread %d \"", t->tid);
		put_text(out, f.func, f.func_len);
		fprintf(out, "\" (%s%s)%s\n", state,
			t->flags & PYI_SF_GIL_HELD ? ", holding the GIL" : "",
			t->flags & PYI_SF_NO_TSTATE ? ": no Python code" : "");
	}
	/* leaf first, as py-spy dump and tracebacks read from the bottom */
	for (st = t->stack; st != root; st = session_stack_parent(d->s, st)) {
		info = session_frame_info(d->s, session_stack_frame(d->s, st), &len);
		frame_fields(info, len, &f);
		if (json) {
			fprintf(out, "%s{\"function\": ", any ? ", " : "");
			json_string(out, f.func, f.func_len);
			fputs(", \"class\": ", out);
			if (f.cls)
				json_string(out, f.cls, f.cls_len);
			else
				fputs("null", out);
			fputs(", \"file\": ", out);
			json_string(out, f.file, f.file_len);
			fprintf(out, ", \"line\": %ld}", f.line);
		} else {
			fputs("    ", out);
			if (f.cls) {
				put_text(out, f.cls, f.cls_len);
				fputc('.', out);
			}
			put_text(out, f.func, f.func_len);
			fputs(" (", out);
			put_text(out, f.file, f.file_len);
			fprintf(out, ":%ld)\n", f.line);
		}
		any = true;
	}
	if (json)
		fputs("]}", out);
}

static void print_dump(FILE *out, struct dump *d, int pid, struct collector *c, bool json)
{
	char cmdline[512] = "";
	int major = 0, minor = 0;

	proc_cmdline(pid, cmdline, sizeof(cmdline));
	collector_python_version(c, pid, &major, &minor);
	qsort(d->threads, d->n, sizeof(*d->threads), by_tid);
	if (json) {
		fprintf(out, "{\"pid\": %d, \"command\": ", pid);
		json_string(out, cmdline, strlen(cmdline));
		fprintf(out, ", \"python\": \"%d.%d\", \"threads\": [", major, minor);
	} else {
		fprintf(out, "Process %d: ", pid);
		put_text(out, cmdline, strlen(cmdline));
		fprintf(out, "\nPython %d.%d\n", major, minor);
	}
	for (size_t i = 0; i < d->n; i++)
		print_thread(out, d, &d->threads[i], json, i == 0);
	if (json)
		fputs("]}\n", out);
}

enum { DO_JSON = 256 };

static const struct cli_option options[] = {
	CLI_OPT("pid", 'p', required_argument, "PID", "the process"),
	CLI_OPT("json", DO_JSON, no_argument, NULL, "JSON instead of text"),
	CLI_OPT("help", 'h', no_argument, NULL, "this help"),
	{ 0 },
};

static const struct cli_command command = {
	.name = "pyinst-bpf dump",
	.synopsis =
	"Usage: pyinst-bpf dump --pid PID [--json]\n"
	"\n"
	"Prints every thread of a running CPython process once: its name, what it is doing\n"
	"(running, runnable, stopped, or what it waits for) and its Python stack, innermost\n"
	"call first. Reads the process from outside: it is neither stopped nor slowed.\n"
	"\n",
	.options = options,
	.stop_at_operand = true,
};

int dump_main(int argc, char **argv)
{
	struct collect_opts co = { .interval = 0.001, .max_depth = PYI_DEFAULT_MAX_DEPTH,
				   .dump = true };
	struct dump d = { 0 };
	struct collector *c;
	char err[256], *end;
	struct cli_getopt g;
	bool json = false;
	long pid = 0;
	int opt, rc, done = 0;	/* done: 1 to exit 0 (--help), 2 to exit 2 (usage error) */

	if (cli_getopt_init(&g, &command)) {
		pr_err("out of memory");
		return 1;
	}
	optind = 1;
	while (!done && (opt = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pid < 1 || pid > 4194304) {
				pr_err("invalid value '%s' for --pid", optarg);
				done = 2;
			}
			break;
		case DO_JSON:
			json = true;
			break;
		case 'h':
			cli_print_help(&command, stdout);
			done = 1;
			break;
		case CLI_OPT_MARKDOWN:
			cli_print_markdown(&command, stdout);
			done = 1;
			break;
		default:
			cli_try_help(&command);
			done = 2;
			break;
		}
	}
	cli_getopt_release(&g);
	if (done)
		return done == 1 ? 0 : 2;
	if (optind < argc) {
		pr_err("dump: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!pid) {
		pr_err("dump: --pid PID is required");
		return 2;
	}
	c = collector__new(&co, err, sizeof(err));
	if (!c) {
		pr_err("%s", err);
		return 1;
	}
	rc = collector_dump(c, (int)pid, on_thread, &d, err, sizeof(err));
	if (rc) {
		pr_err("%s", err);
	} else if (d.oom) {
		pr_err("out of memory");
		rc = -ENOMEM;
	} else {
		print_dump(stdout, &d, (int)pid, c, json);
		if (fflush(stdout) == EOF)
			rc = -errno;
	}
	free(d.threads);
	collector__free(c);
	return rc ? 1 : 0;
}
