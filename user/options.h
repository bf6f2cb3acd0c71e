/* SPDX-License-Identifier: MIT */
/*
 * A command's options, defined once: the getopt_long table, the --help text and the README's
 * options tables (--help-markdown, checked against README.md by scripts/readme_options.py) are
 * all made from one array of struct cli_option.
 */
#ifndef PYINST_OPTIONS_H
#define PYINST_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* getopt_long's value for --help-markdown, in every command; hidden from --help */
#define CLI_OPT_MARKDOWN 0x7fff

/*
 * A row of the table: an option (OPT), a row that only documents (DOC: -- COMMAND), or the
 * heading of the options that follow (SECTION). The table ends with { 0 }.
 */
struct cli_option {
	const char *name;	/* the long name; NULL: a row that only documents, or a heading */
	int val;		/* getopt_long's value: a short option's letter, else >= 256 */
	int has_arg;		/* no_argument or required_argument */
	const char *arg;	/* the argument's name (PID); for a row without name, its label */
	/*
	 * What it does, with `code` in backquotes (dropped in --help). NULL: documented with the
	 * next option, on one row (--unicode, --no-unicode).
	 */
	const char *help;
	const char *section;	/* a heading row's text */
	bool hidden;		/* parsed, not documented */
};

#define CLI_OPT(n, v, a, m, h) { .name = (n), .val = (v), .has_arg = (a), .arg = (m), .help = (h) }
#define CLI_DOC(label, h) { .arg = (label), .help = (h) }
#define CLI_SECTION(text) { .section = (text) }

struct cli_command {
	const char *name;	/* "pyinst-bpf", "pyinst-bpf dump": what "Try '... --help'" names */
	const char *synopsis;	/* --help's text before the options */
	const struct cli_option *options;	/* ends with { 0 } */
	bool stop_at_operand;	/* options end at the first operand (a command follows) */
};

/* The options of one command in getopt_long's form. */
struct cli_getopt {
	struct option *longopts;	/* ends with a zeroed entry */
	char shortopts[64];
};

/* Fills g from cmd (longopts allocated; CLI_OPT_MARKDOWN added). 0 or -ENOMEM/-E2BIG. */
int cli_getopt_init(struct cli_getopt *g, const struct cli_command *cmd);
void cli_getopt_release(struct cli_getopt *g);

/* --help: the synopsis, then each section's options, help wrapped to 80 columns. */
void cli_print_help(const struct cli_command *cmd, FILE *f);
/* --help-markdown: the README's options, a table per section. */
void cli_print_markdown(const struct cli_command *cmd, FILE *f);
/* "--name" of the option getopt returned as val ("-x" when it has no long name). */
void cli_option_name(const struct cli_command *cmd, int val, char *buf, size_t len);
/* After an unknown option or a missing argument (getopt said which): where to look. */
void cli_try_help(const struct cli_command *cmd);

#endif
