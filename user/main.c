// SPDX-License-Identifier: MIT
/*
 * pyinst-bpf: a subcommand (agent, dump), or a profiling run: its command line (cli.c), then
 * the run (run.c) or the rendering of saved sessions.
 */
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "dump.h"
#include "run.h"

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "agent"))
		return agent_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "dump"))
		return dump_main(argc - 1, argv + 1);
	rc = cli_parse(&cli, argc, argv);
	if (rc)
		return rc == 1 ? 0 : 2;
	return cli.nloads ? run_load(&cli) : run_profile(&cli);
}
