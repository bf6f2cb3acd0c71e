// SPDX-License-Identifier: MIT
/*
 * From session frames and stacks to the HTML payload's (html_payload.h): identifiers split into
 * function, file and line, flags from the file (frame_file_kind decides what is application
 * code), and the contract's root order: process root, thread root, Python frames, with missing
 * roots supplied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame_tree.h"
#include "html_payload.h"

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

/* A frame's flags; FLAG_APP is the reports' library rule (frame_file_kind), <string> and
 * <stdin> depend on the caller: not set. */
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
	return frame_file_kind(s, file) == FRAME_FILE_APP ? FLAG_APP : 0;
}

/* A process root's label: the program's base name ("python3" of "/usr/bin/python3 app.py"). */
static uint32_t short_process_name(struct payload *pl, const char *cmdline)
{
	size_t n = strcspn(cmdline, " ");
	const char *base = cmdline;

	for (size_t i = 0; i < n; i++)
		if (cmdline[i] == '/' && i + 1 < n)
			base = cmdline + i + 1;
	return payload_intern_str(pl, base, n - (size_t)(base - cmdline));
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
		     payload_intern_str(pl, p, strlen(p));
	f.file = payload_intern_str(pl, file, strlen(file));
	for (uint32_t i = 0; i < nattrs; i++) {
		a = session_attr(s, attrs[i], &alen);
		if (alen && a[0] == 'c')
			f.cls = payload_intern_str(pl, a + 1, alen - 1);
		else if (alen && a[0] == 'h' && strcmp(a + 1, "0"))
			f.flags |= FLAG_TRACEBACKHIDE;
	}
	return payload_intern_frame(pl, &f);
}

static uint32_t synthetic_frame(struct payload *pl, const char *name, const char *file,
				long long line, uint32_t flags)
{
	struct oframe f = { .cls = NONE, .flags = flags, .line = line };

	f.function = payload_intern_str(pl, name, strlen(name));
	f.file = payload_intern_str(pl, file, strlen(file));
	return payload_intern_frame(pl, &f);
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
	return payload_intern_frame(pl, &f);
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
	f.file = payload_intern_str(pl, "<process>", 9);
	pl->default_proc = payload_push(pl, NONE, payload_intern_frame(pl, &f), cmd);
	return pl->default_proc;
}

/* A thread root under a process root, for stacks recorded without one. */
uint32_t payload_default_thread(struct payload *pl, uint32_t proc_stack)
{
	uint32_t proc = pl->stacks[proc_stack].process, stack;

	if (pl->procs[proc].thread != NONE)
		return pl->procs[proc].thread;
	stack = payload_push(pl, proc_stack,
			     synthetic_frame(pl, "MainThread", "<thread>", 0, FLAG_THREAD),
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
		return payload_push(pl, NONE, frame, function);
	parent = parent == SESSION_NO_STACK ? default_process(pl) : pl->stack_map[parent];
	if (pl->err)
		return 0;
	if (pl->stacks[parent].thread == NONE && !(flags & FLAG_THREAD))
		parent = payload_default_thread(pl, parent);
	/* roots below their place (a thread root inside a thread) are ordinary frames */
	if ((flags & FLAG_PROCESS) || ((flags & FLAG_THREAD) && pl->stacks[parent].thread != NONE))
		frame = reflag(pl, frame, flags & ~(uint32_t)(FLAG_PROCESS | FLAG_THREAD));
	if (pl->err)
		return 0;
	return payload_push(pl, parent, frame, NULL);
}

/* The payload stack of a session stack, converting it and its unconverted ancestors. */
uint32_t payload_map_stack(struct payload *pl, uint32_t stack)
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
