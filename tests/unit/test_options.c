// SPDX-License-Identifier: MIT
/* One table per command: the getopt options, --help and the README's markdown come from it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

enum { O_ALL = 256, O_MODE, O_SECRET };

static const struct cli_option options[] = {
	CLI_SECTION("Targets"),
	CLI_OPT("pid", 'p', required_argument, "PID", "profile this process"),
	CLI_DOC("-- COMMAND", "run COMMAND"),
	CLI_OPT("all", O_ALL, no_argument, NULL, NULL),
	CLI_OPT("mode", O_MODE, required_argument, "wall|cpu", "`wall` or `cpu`: which time "
		"is counted, a help text long enough to be wrapped at eighty columns by --help"),
	{ .name = "secret", .val = O_SECRET, .has_arg = no_argument, .help = "not shown",
	  .hidden = true },
	CLI_SECTION("Other"),
	CLI_OPT("quiet", 'q', no_argument, NULL, "errors only"),
	{ 0 },
};

static const struct cli_command command = {
	.name = "tool",
	.synopsis = "Usage: tool\n\n",
	.options = options,
	.stop_at_operand = true,
};

/* What fn printed for command, as a string to free. */
static char *printed(void (*fn)(const struct cli_command *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(&command, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_getopt_table(void **state)
{
	struct cli_getopt g;
	size_t n;

	(void)state;
	assert_int_equal(cli_getopt_init(&g, &command), 0);
	assert_string_equal(g.shortopts, "+p:q");
	for (n = 0; g.longopts[n].name; n++)
		;
	/* pid, all, mode, secret, quiet and --help-markdown; no row for -- COMMAND or headings */
	assert_int_equal(n, 6);
	assert_string_equal(g.longopts[0].name, "pid");
	assert_int_equal(g.longopts[0].has_arg, required_argument);
	assert_int_equal(g.longopts[0].val, 'p');
	assert_string_equal(g.longopts[2].name, "mode");
	assert_int_equal(g.longopts[2].val, O_MODE);
	assert_string_equal(g.longopts[5].name, "help-markdown");
	assert_int_equal(g.longopts[5].val, CLI_OPT_MARKDOWN);
	cli_getopt_release(&g);
}

static void test_help_text(void **state)
{
	char *got = printed(cli_print_help);

	(void)state;
	assert_string_equal(got,
		"Usage: tool\n\n"
		"Targets:\n"
		"  -p, --pid PID             profile this process\n"
		"  -- COMMAND                run COMMAND\n"
		"  --all, --mode wall|cpu    wall or cpu: which time is counted, a help text long\n"
		"                            enough to be wrapped at eighty columns by --help\n"
		"Other:\n"
		"  -q, --quiet               errors only\n");
	free(got);
}

static void test_markdown(void **state)
{
	char *got = printed(cli_print_markdown);

	(void)state;
	assert_string_equal(got,
		"**Targets**\n\n"
		"| option | meaning |\n|---|---|\n"
		"| `-p, --pid PID` | profile this process |\n"
		"| `-- COMMAND` | run COMMAND |\n"
		"| `--all`, `--mode wall\\|cpu` | `wall` or `cpu`: which time is counted, a help "
		"text long enough to be wrapped at eighty columns by --help |\n"
		"\n**Other**\n\n"
		"| option | meaning |\n|---|---|\n"
		"| `-q, --quiet` | errors only |\n");
	free(got);
}

static void test_option_name(void **state)
{
	char name[32];

	(void)state;
	cli_option_name(&command, O_MODE, name, sizeof(name));
	assert_string_equal(name, "--mode");
	cli_option_name(&command, 'q', name, sizeof(name));
	assert_string_equal(name, "--quiet");
	cli_option_name(&command, 'x', name, sizeof(name));
	assert_string_equal(name, "-x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getopt_table),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_option_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
