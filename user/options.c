// SPDX-License-Identifier: MIT
/* One table per command makes its getopt_long options, its --help and its README table. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define HELP_WIDTH 80		/* --help fits an 80-column terminal */
#define HELP_COLUMN 28		/* where the help text starts */
#define LABEL_MAX 256

static bool has_short(const struct cli_option *o)
{
	return o->val > 0 && o->val < 128 && isalnum(o->val);
}

static bool is_end(const struct cli_option *o)
{
	return !o->name && !o->arg && !o->section;
}

void cli_getopt_release(struct cli_getopt *g)
{
	free(g->longopts);
	g->longopts = NULL;
}

int cli_getopt_init(struct cli_getopt *g, const struct cli_command *cmd)
{
	const struct cli_option *o;
	size_t n = 0, s = 0;

	for (o = cmd->options; !is_end(o); o++)
		n++;
	g->longopts = calloc(n + 2, sizeof(*g->longopts));
	if (!g->longopts)
		return -ENOMEM;
	n = 0;
	if (cmd->stop_at_operand)
		g->shortopts[s++] = '+';
	for (o = cmd->options; !is_end(o); o++) {
		if (!o->name)
			continue;	/* a heading, or a row that only documents */
		g->longopts[n++] = (struct option){ o->name, o->has_arg, NULL, o->val };
		if (!has_short(o))
			continue;
		if (s + 3 > sizeof(g->shortopts)) {
			cli_getopt_release(g);
			return -E2BIG;
		}
		g->shortopts[s++] = (char)o->val;
		if (o->has_arg == required_argument)
			g->shortopts[s++] = ':';
	}
	g->longopts[n] = (struct option){ "help-markdown", no_argument, NULL, CLI_OPT_MARKDOWN };
	g->shortopts[s] = '\0';
	return 0;
}

/* One option as typed: "-p, --pid PID", "--all", or a documenting row's own label. */
static void label_of(const struct cli_option *o, char *buf, size_t len)
{
	if (!o->name) {
		snprintf(buf, len, "%s", o->arg);
		return;
	}
	if (has_short(o))
		snprintf(buf, len, "-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(buf, len, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

/* Appends s to buf, dropping backquotes (--help) or escaping table pipes (markdown). */
static void append(char *buf, size_t len, const char *s, bool markdown)
{
	size_t n = strlen(buf);

	for (; *s && n + 2 < len; s++) {
		if (*s == '`' && !markdown)
			continue;
		if (*s == '|' && markdown)
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
}

struct row {
	const char *heading;	/* a heading row: its text */
	char label[LABEL_MAX * 2];	/* else the options' labels, and their help */
	const char *help;
};

static bool is_heading(const struct cli_option *o)
{
	return !o->name && !o->arg && o->section;
}

/*
 * The row at o: a heading, or the options documented together (those without help, and the
 * next with it). Returns where the next row starts, or NULL at the end of the table.
 */
static const struct cli_option *next_row(const struct cli_option *o, struct row *r,
					 bool markdown)
{
	char one[LABEL_MAX];

	r->heading = NULL;
	r->label[0] = '\0';
	for (; !is_end(o); o++) {
		if (is_heading(o)) {
			r->heading = o->section;
			return o + 1;
		}
		if (o->hidden)
			continue;
		label_of(o, one, sizeof(one));
		/* markdown: each option in backquotes, as the help text writes code */
		snprintf(r->label + strlen(r->label), sizeof(r->label) - strlen(r->label), "%s%s",
			 r->label[0] ? ", " : "", markdown ? "`" : "");
		append(r->label, sizeof(r->label), one, markdown);
		if (markdown)
			strncat(r->label, "`", sizeof(r->label) - strlen(r->label) - 1);
		if (o->help) {
			r->help = o->help;
			return o + 1;
		}
	}
	return NULL;
}

static void print_wrapped(FILE *f, const char *label, const char *help)
{
	char text[2048] = "";
	const char *p, *word;
	int col, n;

	append(text, sizeof(text), help, false);
	col = fprintf(f, "  %s", label);
	if (col >= HELP_COLUMN) {
		fputc('\n', f);
		col = 0;
	}
	fprintf(f, "%*s", HELP_COLUMN - col, "");
	col = HELP_COLUMN;
	for (p = text; *p;) {
		while (*p == ' ')
			p++;
		word = p;
		while (*p && *p != ' ')
			p++;
		n = (int)(p - word);
		if (!n)
			break;
		if (col > HELP_COLUMN && col + 1 + n > HELP_WIDTH) {
			fprintf(f, "\n%*s", HELP_COLUMN, "");
			col = HELP_COLUMN;
		}
		col += fprintf(f, "%s%.*s", col > HELP_COLUMN ? " " : "", n, word);
	}
	fputc('\n', f);
}

void cli_print_help(const struct cli_command *cmd, FILE *f)
{
	const struct cli_option *o = cmd->options;
	struct row r;

	fputs(cmd->synopsis, f);
	while ((o = next_row(o, &r, false))) {
		if (r.heading)
			fprintf(f, "%s:\n", r.heading);
		else
			print_wrapped(f, r.label, r.help);
	}
}

void cli_print_markdown(const struct cli_command *cmd, FILE *f)
{
	const struct cli_option *o = cmd->options;
	bool table = false;
	char help[2048];
	struct row r;

	while ((o = next_row(o, &r, true))) {
		if (r.heading) {
			fprintf(f, "%s**%s**\n\n", table ? "\n" : "", r.heading);
			table = false;
			continue;
		}
		if (!table)
			fputs("| option | meaning |\n|---|---|\n", f);
		table = true;
		help[0] = '\0';
		append(help, sizeof(help), r.help, true);
		fprintf(f, "| %s | %s |\n", r.label, help);
	}
}

void cli_option_name(const struct cli_command *cmd, int val, char *buf, size_t len)
{
	for (const struct cli_option *o = cmd->options; !is_end(o); o++) {
		if (o->name && o->val == val) {
			snprintf(buf, len, "--%s", o->name);
			return;
		}
	}
	snprintf(buf, len, "-%c", val);
}

void cli_try_help(const struct cli_command *cmd)
{
	fprintf(stderr, "Try '%s --help'.\n", cmd->name);
}
