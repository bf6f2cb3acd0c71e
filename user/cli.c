// SPDX-License-Identifier: MIT
/*
 * The command line of a profiling run: the one table of its options (getopt, --help and the
 * README's tables come from it), their parsing and the checks made before anything starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "options.h"

enum {
	OPT_LOAD = 256, OPT_UNICODE, OPT_NO_UNICODE, OPT_COLOR, OPT_NO_COLOR, OPT_SHOW_ALL,
	OPT_HIDE, OPT_HIDE_REGEX, OPT_SHOW, OPT_SHOW_REGEX, OPT_MAX_DEPTH, OPT_MODE, OPT_GIL,
	OPT_SUBPROC, OPT_NO_SUBPROC, OPT_DESCRIPTION, OPT_HIDE_IDLE, OPT_ASYNC, OPT_ASYNC_MODE, OPT_CGROUP, OPT_CONTAINER,
	OPT_ALL, OPT_PER_PROCESS, OPT_READY_FD,
};

#define REQ required_argument
#define NO no_argument

static const struct cli_option options[] = {
	CLI_SECTION("Targets"),
	CLI_OPT("pid", 'p', REQ, "PID", "profile this process (repeatable)"),
	CLI_DOC("-- COMMAND [ARG ...]", "run COMMAND and profile it until it exits; follows it "
	  "through exec (a `python3` shim that execs the interpreter is fine)"),
	CLI_OPT("cgroup", OPT_CGROUP, REQ, "PATH", "every Python process in this cgroup v2 "
	  "directory and below, filtered in the kernel; PATH may be relative to the cgroup2 "
	  "mount"),
	CLI_OPT("container", OPT_CONTAINER, REQ, "ID", "every Python process of a container: the "
	  "cgroup v2 whose name holds ID (its full id or a unique prefix)"),
	CLI_OPT("all", OPT_ALL, NO, NULL, "every Python process on the host"),
	CLI_OPT("subprocesses", OPT_SUBPROC, NO, NULL, NULL),
	CLI_OPT("no-subprocesses", OPT_NO_SUBPROC, NO, NULL, "also profile descendants that are "
	  "or become Python (the default when launching a command), or not"),
	CLI_OPT("duration", 'd', REQ, "SECONDS", "stop after this long (default: when the "
	  "targets exit, or on Ctrl-C / SIGTERM / SIGHUP; the report is written anyway)"),

	CLI_SECTION("Sampling"),
	CLI_OPT("interval", 'i', REQ, "SECONDS", "time between samples on each CPU (default "
	  "0.001, at least 0.0001; raised with a notice when sampling exceeds its CPU budget)"),
	CLI_OPT("mode", OPT_MODE, REQ, "wall|cpu", "`wall` (default, as pyinstrument): all the "
	  "time of every thread, waits shown with their reason; `cpu`: only time on a CPU "
	  "(py-spy's default)"),
	CLI_OPT("gil", OPT_GIL, NO, NULL, "only samples of the thread holding the GIL"),
	CLI_OPT("hide-idle", OPT_HIDE_IDLE, NO, NULL, "wall mode: leave out time a thread spends "
	  "parked waiting for work (an idle event loop, a pool worker)"),
	CLI_OPT("async", OPT_ASYNC, NO, NULL, "asyncio (CPython 3.11 to 3.14): every live task "
	  "as a root under its thread, its real stack while it runs, its await chain and "
	  "`[await]` while it is suspended"),
	CLI_OPT("async-mode", OPT_ASYNC_MODE, REQ, "enabled|disabled", "wall mode, as "
	  "pyinstrument's async_mode: `enabled` (default): an event loop's idle time goes to "
	  "`[await]` under its task when it has exactly one; `disabled`: it stays the loop's wait"),
	CLI_OPT("max-depth", OPT_MAX_DEPTH, REQ, "N", "frames kept per stack, root end first "
	  "(default 1024, at most 4096); a deeper stack ends in a `[truncated: N frames ...]` "
	  "frame"),

	CLI_SECTION("Output"),
	CLI_OPT("outfile", 'o', REQ, "FILE", "write the report to FILE, whole or not at all "
	  "(`-`, a device or a FIFO: written as a stream; a symbolic link is refused)"),
	CLI_OPT("renderer", 'r', REQ, "NAME", "`text`, `html`, `json`, `speedscope`, `pstats`, "
	  "`session` (alias `pyisession`), `folded`, `pprof`; default: guessed from the "
	  "extension of `-o` as pyinstrument does (`.html`, `.json`, `.speedscope.json`, "
	  "`.pyisession`, `.pstats`, `.txt`, plus `.folded`, `.pb.gz`), else text"),
	CLI_OPT("per-process", OPT_PER_PROCESS, NO, NULL, "one report per process: `-o out.html` "
	  "writes `out-PID.html` for each"),
	CLI_OPT("load", OPT_LOAD, REQ, "FILE", "render a saved `.pyisession` (ours or "
	  "pyinstrument's); repeat to combine (`Session.combine`)"),
	CLI_OPT("timeline", 't', NO, NULL, "keep calls in time order instead of aggregating"),
	CLI_OPT("show-all", OPT_SHOW_ALL, NO, NULL, "show every frame: no library hiding, no "
	  "threshold"),
	CLI_OPT("hide", OPT_HIDE, REQ, "GLOB", NULL),
	CLI_OPT("hide-regex", OPT_HIDE_REGEX, REQ, "REGEX", "hide library-like frames whose file "
	  "path matches (pyinstrument's semantics: a regular expression matches at the start)"),
	CLI_OPT("show", OPT_SHOW, REQ, "GLOB", NULL),
	CLI_OPT("show-regex", OPT_SHOW_REGEX, REQ, "REGEX", "always show frames whose file path "
	  "matches"),
	CLI_OPT("unicode", OPT_UNICODE, NO, NULL, NULL),
	CLI_OPT("no-unicode", OPT_NO_UNICODE, NO, NULL, "tree glyphs (default: from the output's "
	  "encoding; a file is UTF-8)"),
	CLI_OPT("color", OPT_COLOR, NO, NULL, NULL),
	CLI_OPT("no-color", OPT_NO_COLOR, NO, NULL, "ANSI colors (default: when stdout is a "
	  "terminal)"),
	CLI_OPT("render-option", 'P', REQ, "KEY=VALUE", "a renderer option, as pyinstrument's "
	  "`-p`: `flat`, `flat_time=total`, `time=percent_of_total`, `short_mode`, "
	  "`processor_options.filter_threshold=0`, ..."),
	CLI_OPT("target-description", OPT_DESCRIPTION, REQ, "TEXT", "the report's title "
	  "(default: the command line)"),
	CLI_OPT("ready-fd", OPT_READY_FD, REQ, "FD", "write one byte to FD once sampling has "
	  "started"),

	CLI_SECTION("Continuous mode (runs until stopped; docs/fleet.md)"),
	CLI_OPT("push", FLEET_OPT_PUSH, REQ, "URL", "push each process's profile every interval "
	  "to a Pyroscope/Grafana backend (`POST URL/ingest`, pprof)"),
	CLI_OPT("push-interval", FLEET_OPT_INTERVAL, REQ, "SECONDS", "the window (default 15)"),
	CLI_OPT("tag", FLEET_OPT_TAG, REQ, "KEY=VALUE", "a label on every profile (repeatable)"),
	CLI_OPT("push-tenant", FLEET_OPT_TENANT, REQ, "ID", "X-Scope-OrgID (or "
	  "`$PYROSCOPE_TENANT_ID`)"),
	CLI_OPT("push-basic-auth", FLEET_OPT_BASIC_AUTH, REQ, "USER:PASSWORD", "HTTP basic "
	  "authentication (or `$PYROSCOPE_BASIC_AUTH_USER` and `$PYROSCOPE_BASIC_AUTH_PASSWORD`)"),
	CLI_OPT("push-token", FLEET_OPT_TOKEN, REQ, "TOKEN", "bearer token (or "
	  "`$PYROSCOPE_AUTH_TOKEN`)"),
	CLI_OPT("push-ca-file", FLEET_OPT_CA_FILE, REQ, "FILE", "CA certificates for an https "
	  "backend"),
	CLI_OPT("spool-memory", FLEET_OPT_SPOOL_MEMORY, REQ, "SIZE", "windows kept in memory "
	  "while the backend is down (default 16M)"),
	CLI_OPT("spool-dir", FLEET_OPT_SPOOL_DIR, REQ, "DIR", "then in DIR, up to "
	  "`--spool-max-size`"),
	CLI_OPT("spool-max-size", FLEET_OPT_SPOOL_MAX, REQ, "SIZE", "what `--spool-dir` may hold "
	  "(default 256M)"),
	CLI_OPT("output-dir", FLEET_OPT_OUTPUT_DIR, REQ, "DIR", "one file per process per window "
	  "(`-r`, default pprof)"),
	CLI_OPT("output-keep", FLEET_OPT_KEEP, REQ, "N", "keep the newest N files there"),
	CLI_OPT("output-max-size", FLEET_OPT_KEEP_SIZE, REQ, "SIZE", "keep at most SIZE bytes of "
	  "them"),

	CLI_SECTION("Other"),
	CLI_OPT("quiet", 'q', NO, NULL, "errors only: no status line, no warnings or notices"),
	CLI_OPT("verbose", 'v', NO, NULL, "debug diagnostics too: libbpf's messages, the "
	  "verifier log, every counter (wins over `-q`)"),
	CLI_OPT("help", 'h', NO, NULL, "this help"),
	CLI_OPT("version", 'V', NO, NULL, "the version"),
	{ 0 },
};

static const struct cli_command command = {
	.name = "pyinst-bpf",
	.synopsis =
	"Usage: pyinst-bpf [options] --pid PID [--pid PID ...]\n"
	"       pyinst-bpf dump --pid PID [--json]\n"
	"       pyinst-bpf [options] --cgroup PATH | --container ID | --all\n"
	"       pyinst-bpf [options] -- COMMAND [ARG ...]\n"
	"       pyinst-bpf [render options] --load FILE [--load FILE ...]\n"
	"       pyinst-bpf agent [--help]   (the Python API's privileged service)\n"
	"\n"
	"Profiles running CPython processes (3.6 to 3.15) from outside with eBPF, without\n"
	"touching them, and reports like pyinstrument. Needs root (CAP_BPF, CAP_PERFMON,\n"
	"CAP_SYS_PTRACE) except with --load.\n"
	"\n",
	.options = options,
	.stop_at_operand = true,
};

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out >= min && *out <= max) ? -EINVAL : 0;
}

static int add_render_option(struct cli *cli, const char *kv)
{
	if (cli->report.noptions == REPORT_MAX_OPTIONS)
		return -E2BIG;
	cli->report.options[cli->report.noptions++] = kv;
	return 0;
}

/* --hide/--show and their -regex forms become processor options, as in pyinstrument. */
static int add_regex_option(struct cli *cli, int which, const char *key, const char *expr,
			    bool glob)
{
	char regex[CLI_REGEX_MAX];

	if (glob) {
		if (report_glob_to_regex(expr, regex, sizeof(regex)))
			return -EINVAL;
	} else {
		snprintf(regex, sizeof(regex), "%s", expr);
	}
	snprintf(cli->regex_buf[which], sizeof(cli->regex_buf[which]), "processor_options.%s=%s",
		 key, regex);
	return add_render_option(cli, cli->regex_buf[which]);
}

struct verbosity {
	bool quiet, verbose;
};

/* One option. Returns 0, 1 when done (help, version), 2 on a usage error (reported). */
static int parse_option(struct cli *cli, struct verbosity *v, int opt, const char *arg)
{
	char name[32];
	double d;
	int rc = 0;

	switch (opt) {
	case 'p':
		if (cli->npids == CLI_MAX_PIDS || parse_double(arg, 1, 4194304, &d) || d != (int)d)
			goto bad;
		cli->pids[cli->npids++] = (int)d;
		break;
	case 'd':
		if (parse_double(arg, 0.001, 1e9, &cli->duration)) {
			pr_err("--duration: '%s' is not a number of seconds from 0.001 to 1e9", arg);
			return 2;
		}
		break;
	case 'i':
		if (parse_double(arg, COLLECT_MIN_INTERVAL, 10, &cli->collect.interval)) {
			pr_err("--interval: '%s' is not a number of seconds from %g to 10 (below %g "
			       "the sampler would cost the host more than it can afford)", arg,
			       COLLECT_MIN_INTERVAL, COLLECT_MIN_INTERVAL);
			return 2;
		}
		break;
	case OPT_MAX_DEPTH:
		if (parse_double(arg, 1, PYI_FRAMES_CAP, &d) || d != (unsigned int)d)
			goto bad;
		cli->collect.max_depth = (unsigned int)d;
		break;
	case OPT_MODE:
		if (strcmp(arg, "wall") && strcmp(arg, "cpu"))
			goto bad;
		cli->collect.wall = !strcmp(arg, "wall");
		cli->report.mode = cli->collect.wall ? "wall" : "cpu";
		break;
	case OPT_LOAD:
		if (cli->nloads == CLI_MAX_LOADS)
			goto bad;
		cli->loads[cli->nloads++] = arg;
		break;
	case 'o':
		cli->report.outfile = arg;
		break;
	case 'r':
		cli->report.renderer = arg;
		break;
	case 'P':
		rc = add_render_option(cli, arg);
		break;
	case 't':
		rc = add_render_option(cli, "timeline");
		break;
	case OPT_SHOW_ALL:
		/* pyinstrument's --show-all: show_all, and show_regex ".*" */
		rc = add_render_option(cli, "show_all") ?:
		     add_render_option(cli, "processor_options.show_regex=.*");
		break;
	case OPT_UNICODE:
	case OPT_NO_UNICODE:
		cli->report.unicode_set = true;
		cli->report.unicode = opt == OPT_UNICODE;
		break;
	case OPT_COLOR:
	case OPT_NO_COLOR:
		cli->report.color_set = true;
		cli->report.color = opt == OPT_COLOR;
		break;
	case OPT_HIDE:
	case OPT_HIDE_REGEX:
		rc = add_regex_option(cli, 0, "hide_regex", arg, opt == OPT_HIDE);
		break;
	case OPT_SHOW:
	case OPT_SHOW_REGEX:
		rc = add_regex_option(cli, 1, "show_regex", arg, opt == OPT_SHOW);
		break;
	case OPT_GIL:
		cli->collect.gil_only = true;
		break;
	case OPT_HIDE_IDLE:
		cli->collect.hide_idle = true;
		break;
	case OPT_ASYNC:
		cli->collect.async_tasks = true;
		break;
	case OPT_ASYNC_MODE:
		if (strcmp(arg, "enabled") && strcmp(arg, "disabled"))
			goto bad;
		cli->collect.no_await = !strcmp(arg, "disabled");
		break;
	case OPT_CGROUP:
		if (!arg[0])
			goto bad;	/* "" would mean the whole host: --all says so */
		cli->cgroup = arg;
		break;
	case OPT_CONTAINER:
		cli->container = arg;
		break;
	case OPT_ALL:
		cli->all = true;
		break;
	case OPT_PER_PROCESS:
		cli->per_process = true;
		break;
	case OPT_SUBPROC:
	case OPT_NO_SUBPROC:
		cli->subprocesses = opt == OPT_SUBPROC;
		break;
	case OPT_DESCRIPTION:
		cli->description = arg;
		break;
	case OPT_READY_FD:
		if (parse_double(arg, 3, INT_MAX, &d) || d != (int)d || fcntl((int)d, F_GETFD) < 0)
			goto bad;
		cli->ready_fd = (int)d;
		break;
	case 'q':
		v->quiet = true;
		break;
	case 'v':
		v->verbose = true;
		break;
	case 'h':
		cli_print_help(&command, stdout);
		return 1;
	case CLI_OPT_MARKDOWN:
		cli_print_markdown(&command, stdout);
		return 1;
	case 'V':
		printf("pyinst-bpf %s (CPython 3.6 to 3.15)\n", PYINST_VERSION);
		return 1;
	default:
		if (opt >= FLEET_OPT_PUSH && opt < FLEET_OPT_END) {
			cli_option_name(&command, opt, name, sizeof(name));
			return fleet_parse_option(&cli->fleet, opt, name, arg) ? 2 : 0;
		}
		cli_try_help(&command);
		return 2;
	}
	if (!rc)
		return 0;
bad:
	cli_option_name(&command, opt, name, sizeof(name));
	pr_err("%s: invalid value '%s' (see --help)", name, arg);
	return 2;
}

/* What only the whole command line can say: one kind of target, and what goes with it. */
static int check_args(struct cli *cli)
{
	bool targets = cli->npids || cli->cgroup || cli->container || cli->all;

	if (!!cli->nloads + targets + !!cli->command != 1 ||
	    !!cli->npids + !!cli->cgroup + !!cli->container + cli->all > 1) {
		pr_err(cli->nloads || targets || cli->command ?
		       "give one of --load, a command after --, or one kind of target (--pid, "
		       "--cgroup, --container, --all)" :
		       "nothing to profile: give --pid PID, -- COMMAND, --cgroup PATH, "
		       "--container ID, --all or --load FILE");
		cli_try_help(&command);
		return 2;
	}
	if (cli->collect.async_tasks && cli->collect.no_await) {
		pr_err("--async-mode disabled leaves a loop's idle time to the loop: not with "
		       "--async, which makes every task a root");
		return 2;
	}
	if (cli->per_process && !cli->report.outfile) {
		pr_err("--per-process writes files: give -o FILE (the pid goes before its extension)");
		return 2;
	}
	if (cli->subprocesses < 0)
		cli->subprocesses = cli->command != NULL;
	if (fleet_enabled(&cli->fleet) && (cli->nloads || cli->per_process)) {
		pr_err("--push and --output-dir profile live processes, one file per process "
		       "already: not with --load or --per-process");
		return 2;
	}
	if (fleet_check(&cli->fleet, &cli->report))
		return 2;
	if (fleet_enabled(&cli->fleet)) {
		/* a profiler left running on every host costs a fixed, small share: off-CPU
		 * stacks are looked at less often (their time stays exact) */
		cli->collect.continuous = true;
		return 0;
	}
	return report_check(&cli->report) ? 2 : 0;
}

int cli_parse(struct cli *cli, int argc, char **argv)
{
	struct verbosity v = { 0 };
	struct cli_getopt g;
	int opt, rc = 0;

	memset(cli, 0, sizeof(*cli));
	fleet_opts_init(&cli->fleet);
	cli->subprocesses = -1;
	cli->ready_fd = -1;
	cli->collect.interval = 0.001;
	cli->collect.max_depth = PYI_DEFAULT_MAX_DEPTH;
	cli->collect.wall = true;	/* pyinstrument's wall-clock time */
	cli->report.mode = "wall";
	if (cli_getopt_init(&g, &command)) {
		pr_err("out of memory");
		return 2;
	}
	while (!rc && (opt = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1)
		rc = parse_option(cli, &v, opt, optarg);
	cli_getopt_release(&g);
	if (rc)
		return rc;
	/* levels: -q errors only, -v everything; -v wins (it asks for more) */
	log_set_level(v.verbose ? LOG_DEBUG : v.quiet ? LOG_ERROR : LOG_WARN);
	if (optind < argc)
		cli->command = argv + optind;
	return check_args(cli);
}
