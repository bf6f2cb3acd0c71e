// SPDX-License-Identifier: MIT
/* pyinst-bpf: wires the command line to the collector, the session and the report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cgroup.h"
#include "collect.h"
#include "fleet.h"
#include "dump.h"
#include "log.h"
#include "proc.h"
#include "report.h"
#include "session.h"

#define MAX_PIDS 64
#define MAX_LOADS 64
#define REGEX_MAX 4096

struct cli {
	int pids[MAX_PIDS];
	int npids;
	const char *loads[MAX_LOADS];
	int nloads;
	const char *cgroup;	/* --cgroup PATH */
	const char *container;	/* --container ID */
	bool all;		/* --all */
	bool per_process;
	char cgroup_path[PATH_MAX];
	double duration;	/* 0: until the targets exit, or Ctrl-C / SIGTERM */
	char **command;		/* launch mode: the argv after -- */
	int subprocesses;	/* -1: default (on when launching) */
	bool quiet;
	const char *description;
	int ready_fd;		/* --ready-fd: a byte is written here once sampling runs */
	struct collect_opts collect;
	struct report_opts report;
	struct fleet_opts fleet;	/* continuous mode (--push, --output-dir) */
	char regex_buf[2][REGEX_MAX + 64];
};

static volatile sig_atomic_t stop_requested;
static volatile uint64_t *stop_word;	/* ends sampling in the kernel (collector_stop_word) */
static struct timespec stopped_at, sampling_begun;

/* The handler runs when this process next gets a CPU, which under load may be long before the
 * main loop does: sampling ends here, in the kernel, and the loop follows. */
static void on_signal(int sig)
{
	if (stop_word && !stop_requested) {
		*stop_word = 1;
		clock_gettime(CLOCK_MONOTONIC, &stopped_at);
	}
	stop_requested = sig;
}

static double monotonic_s(const struct timespec *ts)
{
	return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fputs("Usage: pyinst-bpf [options] --pid PID [--pid PID ...]\n"
	      "       pyinst-bpf dump --pid PID [--json]\n"
	      "       pyinst-bpf [options] --cgroup PATH | --container ID | --all\n"
	      "       pyinst-bpf [options] -- COMMAND [ARG ...]\n"
	      "       pyinst-bpf [render options] --load FILE [--load FILE ...]\n"
	      "       pyinst-bpf agent [--help]   (the Python API's privileged service)\n"
	      "\n"
	      "Profiles running CPython processes (3.6 to 3.15) from outside with eBPF, without\n"
	      "touching them, and reports like pyinstrument. Needs root (CAP_BPF, CAP_PERFMON,\n"
	      "CAP_SYS_PTRACE) except with --load.\n"
	      "\n"
	      "Targets:\n"
	      "  -p, --pid PID             profile this process (repeatable)\n"
	      "  -- COMMAND [ARG ...]      run COMMAND and profile it until it exits\n"
	      "  --cgroup PATH             every Python process in this cgroup v2 (and below),\n"
	      "                            filtered in the kernel; PATH may be relative to the\n"
	      "                            cgroup2 mount\n"
	      "  --container ID            every Python process of a container (its id or a\n"
	      "                            unique prefix, found in /proc/*/cgroup)\n"
	      "  --all                     every Python process on the host\n"
	      "  --subprocesses            also profile descendants that are or become Python\n"
	      "                            (default when launching a command)\n"
	      "  --no-subprocesses         only the process itself\n"
	      "  -d, --duration SECONDS    stop after this long (default: when the targets exit,\n"
	      "                            or on Ctrl-C / SIGTERM; the report is written anyway)\n"
	      "Sampling:\n"
	      "  -i, --interval SECONDS    time between samples on each CPU (default 0.001)\n"
	      "  --mode wall|cpu           wall (default, as pyinstrument): all the time of\n"
	      "                            every thread, waits shown with their reason;\n"
	      "                            cpu: only time on a CPU (py-spy's default)\n"
	      "  --gil                     only samples of the thread holding the GIL\n"
	      "  --hide-idle               wall mode: leave out time a thread spends parked\n"
	      "                            waiting for work (an idle event loop, a pool worker)\n"
	      "  --async                   asyncio (CPython 3.11-3.14): every live task as a\n"
	      "                            root under its thread, its real stack while it runs,\n"
	      "                            its await chain and [await] while it is suspended\n"
	      "  --max-depth N             frames kept per stack, root end first (default 1024,\n"
	      "                            at most 4096); deeper stacks are marked truncated\n"
	      "Output:\n"
	      "  -o, --outfile FILE        write the report to FILE, whole or not at all\n"
	      "  -r, --renderer NAME       text, html, json, speedscope, pstats, session\n"
	      "                            (pyisession), folded, pprof; default: guessed from\n"
	      "                            the -o extension as pyinstrument does, else text\n"
	      "  --per-process             one report per process: FILE-PID.EXT for -o FILE.EXT\n"
	      "  --load FILE               render a saved .pyisession (ours or pyinstrument's);\n"
	      "                            several are combined like Session.combine\n"
	      "  -t, --timeline            keep calls in time order instead of aggregating\n"
	      "  --show-all                show every frame: no library hiding, no threshold\n"
	      "  --hide GLOB               hide library-like frames whose path matches GLOB\n"
	      "  --hide-regex REGEX        the same with a regular expression\n"
	      "  --show GLOB               always show frames whose path matches GLOB\n"
	      "  --show-regex REGEX        the same with a regular expression\n"
	      "  --unicode, --no-unicode   tree glyphs (default: from the output's encoding)\n"
	      "  --color, --no-color       ANSI colors (default: when stdout is a terminal)\n"
	      "  -P, --render-option KEY=VALUE\n"
	      "                            a renderer option, as pyinstrument's -p: flat,\n"
	      "                            time=percent_of_total, short_mode,\n"
	      "                            processor_options.filter_threshold=0, ...\n"
	      "  --target-description TEXT the report's title (default: the command line)\n"
	      "  --ready-fd FD             write one byte to FD once sampling has started\n"
	      "Continuous mode (runs until stopped; docs/fleet.md):\n"
	      "  --push URL                push each process's profile every interval to a\n"
	      "                            Pyroscope/Grafana backend (POST URL/ingest, pprof)\n"
	      "  --push-interval SECONDS   the window (default 15)\n"
	      "  --tag KEY=VALUE           a label on every profile (repeatable)\n"
	      "  --push-tenant ID          X-Scope-OrgID (or $PYROSCOPE_TENANT_ID)\n"
	      "  --push-basic-auth USER:PASSWORD  (or $PYROSCOPE_BASIC_AUTH_USER/_PASSWORD)\n"
	      "  --push-token TOKEN        bearer token (or $PYROSCOPE_AUTH_TOKEN)\n"
	      "  --push-ca-file FILE       CA certificates for an https backend\n"
	      "  --spool-memory SIZE       windows kept in memory while the backend is down\n"
	      "                            (default 16M)\n"
	      "  --spool-dir DIR           then in DIR, up to --spool-max-size (default 256M)\n"
	      "  --output-dir DIR          one file per process per window (-r, default pprof)\n"
	      "  --output-keep N           keep the newest N files there\n"
	      "  --output-max-size SIZE    keep at most SIZE bytes of them\n"
	      "Other:\n"
	      "  -q, --quiet               no live status line, no notices\n"
	      "  -v, --verbose             more diagnostics (libbpf, the verifier log)\n"
	      "  -h, --help                this help\n"
	      "  -V, --version             the version\n", f);
}

enum {
	OPT_LOAD = 256, OPT_UNICODE, OPT_NO_UNICODE, OPT_COLOR, OPT_NO_COLOR, OPT_SHOW_ALL,
	OPT_HIDE, OPT_HIDE_REGEX, OPT_SHOW, OPT_SHOW_REGEX, OPT_MAX_DEPTH, OPT_MODE, OPT_GIL,
	OPT_SUBPROC, OPT_NO_SUBPROC, OPT_DESCRIPTION, OPT_HIDE_IDLE, OPT_ASYNC, OPT_CGROUP, OPT_CONTAINER,
	OPT_ALL, OPT_PER_PROCESS, OPT_READY_FD,
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "outfile", required_argument, NULL, 'o' },
	{ "renderer", required_argument, NULL, 'r' },
	{ "render-option", required_argument, NULL, 'P' },
	{ "timeline", no_argument, NULL, 't' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "load", required_argument, NULL, OPT_LOAD },
	{ "unicode", no_argument, NULL, OPT_UNICODE },
	{ "no-unicode", no_argument, NULL, OPT_NO_UNICODE },
	{ "color", no_argument, NULL, OPT_COLOR },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "show-all", no_argument, NULL, OPT_SHOW_ALL },
	{ "hide", required_argument, NULL, OPT_HIDE },
	{ "hide-regex", required_argument, NULL, OPT_HIDE_REGEX },
	{ "show", required_argument, NULL, OPT_SHOW },
	{ "show-regex", required_argument, NULL, OPT_SHOW_REGEX },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "gil", no_argument, NULL, OPT_GIL },
	{ "subprocesses", no_argument, NULL, OPT_SUBPROC },
	{ "no-subprocesses", no_argument, NULL, OPT_NO_SUBPROC },
	{ "target-description", required_argument, NULL, OPT_DESCRIPTION },
	{ "hide-idle", no_argument, NULL, OPT_HIDE_IDLE },
	{ "async", no_argument, NULL, OPT_ASYNC },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "per-process", no_argument, NULL, OPT_PER_PROCESS },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ 0 },
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
	char regex[REGEX_MAX];

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

/* The option's name as the user can type it, for error messages. */
static void option_name(int opt, char *buf, size_t len)
{
	for (const struct option *o = long_options; o->name; o++) {
		if (o->val == opt) {
			snprintf(buf, len, "--%s", o->name);
			return;
		}
	}
	snprintf(buf, len, "-%c", opt);
}

/* One option. Returns 0, 1 when done (help, version), 2 on a usage error (reported). */
static int parse_option(struct cli *cli, int opt, const char *arg)
{
	char name[32];
	double d;
	int rc = 0;

	switch (opt) {
	case 'p':
		if (cli->npids == MAX_PIDS || parse_double(arg, 1, 4194304, &d) || d != (int)d)
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
		if (cli->nloads == MAX_LOADS)
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
		cli->quiet = true;
		break;
	case 'v':
		cli->collect.verbose = true;
		log_set_level(LOG_DEBUG);
		break;
	case 'h':
		usage(stdout);
		return 1;
	case 'V':
		printf("pyinst-bpf %s (CPython 3.6 to 3.15)\n", PYINST_VERSION);
		return 1;
	default:
		if (opt >= FLEET_OPT_BASE)
			return fleet_parse_option(&cli->fleet, opt, arg) ? 2 : 0;
		fputs("Try 'pyinst-bpf --help'.\n", stderr);
		return 2;
	}
	if (!rc)
		return 0;
bad:
	option_name(opt, name, sizeof(name));
	pr_err("%s: invalid value '%s' (see --help)", name, arg);
	return 2;
}

static int parse_args(struct cli *cli, int argc, char **argv)
{
	static struct option all_options[sizeof(long_options) / sizeof(long_options[0]) + 16];
	const size_t nbase = sizeof(long_options) / sizeof(long_options[0]) - 1;
	bool targets;
	int opt, rc;

	memset(cli, 0, sizeof(*cli));
	fleet_opts_init(&cli->fleet);
	memcpy(all_options, long_options, nbase * sizeof(*long_options));
	memcpy(all_options + nbase, fleet_long_options,
	       fleet_nlong_options * sizeof(*fleet_long_options));
	cli->subprocesses = -1;
	cli->ready_fd = -1;
	cli->collect.interval = 0.001;
	cli->collect.max_depth = PYI_DEFAULT_MAX_DEPTH;
	cli->collect.wall = true;	/* pyinstrument's wall-clock time */
	cli->report.mode = "wall";
	while ((opt = getopt_long(argc, argv, "+p:d:i:o:r:P:tqvhV", all_options, NULL)) != -1) {
		rc = parse_option(cli, opt, optarg);
		if (rc)
			return rc;
	}
	if (optind < argc)
		cli->command = argv + optind;
	targets = cli->npids || cli->cgroup || cli->container || cli->all;
	if (!!cli->nloads + targets + !!cli->command != 1 ||
	    !!cli->npids + !!cli->cgroup + !!cli->container + cli->all > 1) {
		pr_err(cli->nloads || targets || cli->command ?
		       "give one of --load, a command after --, or one kind of target (--pid, "
		       "--cgroup, --container, --all)" :
		       "nothing to profile: give --pid PID, -- COMMAND, --cgroup PATH, "
		       "--container ID, --all or --load FILE");
		fputs("Try 'pyinst-bpf --help'.\n", stderr);
		return 2;
	}
	if (cli->per_process && !cli->report.outfile) {
		pr_err("--per-process writes files: give -o FILE (the pid goes before its extension)");
		return 2;
	}
	if (cli->subprocesses < 0)
		cli->subprocesses = cli->command != NULL;
	if (fleet_check(&cli->fleet, &cli->report) || (fleet_enabled(&cli->fleet) &&
	    (cli->nloads || cli->per_process))) {
		if (cli->nloads || cli->per_process)
			pr_err("--push and --output-dir profile live processes, one file per "
			       "process already: not with --load or --per-process");
		return 2;
	}
	if (fleet_enabled(&cli->fleet))
		return 0;
	return report_check(&cli->report) ? 2 : 0;
}

/* ---- privileges --------------------------------------------------------------------------- */

static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
	};
	char missing[128] = "";
	size_t i;

	if (syscall(SYS_capget, &hdr, data))
		return 0;	/* let the BPF load say what is wrong */
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;
		bool has = data[c / 32].effective & (1u << (c % 32));
		bool admin = data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));

		if (!has && !(admin && c != CAP_SYS_PTRACE)) {
			strcat(missing, missing[0] ? ", " : "");
			strcat(missing, need[i].name);
		}
	}
	if (!missing[0])
		return 0;
	pr_err("not enough privileges: missing %s (run as root, e.g. with sudo)", missing);
	return -EPERM;
}

/* ---- launch mode -------------------------------------------------------------------------- */

struct launch {
	pid_t pid;
	int go_fd;	/* write a byte: the child may exec; -1 once closed */
	int err_fd;	/* the child writes errno here if exec fails; closes on success */
	int status;	/* its wait status once reaped, else -1 */
};

static int launch_prepare(char **argv, struct launch *l)
{
	int go[2], err[2], e;

	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	l->pid = fork();
	if (l->pid < 0)
		return -errno;
	if (l->pid == 0) {
		char c;

		close(go[1]);
		close(err[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	l->go_fd = go[1];
	l->err_fd = err[0];
	return 0;
}

/* Reaps the launched command once, keeping its status. flags: 0 to wait, or WNOHANG. */
static void launch_reap(struct launch *l, int flags)
{
	int status;

	if (l->pid > 0 && l->status < 0 && waitpid(l->pid, &status, flags) == l->pid)
		l->status = status;
}

/* The launched command's exit status as a shell reports it (128 + N when killed by N). */
static int launch_exit_code(const struct launch *l)
{
	if (l->status < 0)
		return 0;
	if (WIFSIGNALED(l->status))
		return 128 + WTERMSIG(l->status);
	return WEXITSTATUS(l->status);
}

static int launch_start(struct launch *l, const char *cmd)
{
	int e = 0;
	ssize_t n;

	if (write(l->go_fd, "x", 1) != 1)
		return -errno;
	close(l->go_fd);
	l->go_fd = -1;	/* closed: the number may be reused by the collector */
	n = read(l->err_fd, &e, sizeof(e));
	close(l->err_fd);
	l->err_fd = -1;
	if (n == sizeof(e)) {
		launch_reap(l, 0);
		pr_err("cannot run '%s': %s", cmd, strerror(e));
		return -e;
	}
	return 0;
}

/* ---- the session ---------------------------------------------------------------------------- */

static double wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* Our resident memory in MiB (/proc/self/statm), 0 when unreadable. */
static double resident_mib(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/*
 * What was recorded, at a glance: redrawn on a terminal while sampling, and once at the end
 * wherever stderr goes (the final summary). Blocked: wall mode's threads waiting now.
 */
static void status_line(const struct cli *cli, struct collector *c, double elapsed, bool final)
{
	bool tty = isatty(STDERR_FILENO);
	struct collect_stats st;
	char blocked[32] = "";

	if (cli->quiet || (!tty && !final))
		return;
	collector_stats(c, &st);
	if (final && !st.processes && collector_refusal(c))
		return;	/* the refusal is the run's one line: it failed */
	if (cli->collect.wall)
		snprintf(blocked, sizeof(blocked), " (%u blocked)", st.blocked);
	fprintf(stderr, "%spyinst-bpf: %.1fs, %llu samples, %u thread%s%s in %u process%s, "
		"%llu lost, %.0f MiB%s", tty ? "\r\033[K" : "", elapsed,
		(unsigned long long)st.samples, st.threads, st.threads == 1 ? "" : "s", blocked,
		st.processes, st.processes == 1 ? "" : "es", (unsigned long long)st.lost,
		resident_mib(), final ? "\n" : "");
}

/* What sampling cost the host: kernel time per CPU, and what the budget took away. */
static void report_cost(const struct collect_stats *st, double elapsed, int ncpus)
{
	if (st->budget_skipped)
		pr_warn("%llu samples skipped to keep the sampler within its CPU budget",
			(unsigned long long)st->budget_skipped);
	pr_info("sampler cost: %.2f ms of kernel time per CPU-second (budget %.0f), interval "
		"%.3g ms", elapsed > 0 ? (double)st->kernel_ns / 1e6 / elapsed / ncpus : 0,
		COLLECT_BUDGET_NS_PER_S / 1e6, st->interval * 1e3);
}

/*
 * What went wrong in the kernel, each with what it cost the profile and what to do about it.
 * Counted only for real losses: an exiting thread or a frame without code is not one.
 */
static const struct {
	bool always_warn;	/* else a warning past 1% of the samples, info below */
	const char *what;
} problems[PYI_ERR_MAX] = {
	[PYI_ERR_RINGBUF] = { true, "records dropped: the ring buffer was full, so those samples "
		"are missing; a longer --interval lowers the rate" },
	[PYI_ERR_READ_TSTATE] = { false, "samples could not read their interpreter's thread "
		"list and are missing; if it persists, run with -v and report it" },
	[PYI_ERR_READ_FRAME] = { false, "stacks stopped at an unreadable frame and miss their "
		"callers; if it persists, run with -v and report it" },
	[PYI_ERR_READ_CODE] = { false, "samples had a frame whose code object was unreadable, "
		"left out of their stack; if it persists, run with -v and report it" },
	[PYI_ERR_NO_TSTATE] = { false, "samples of threads running no Python (starting, ending "
		"or native threads): not in the profile, nothing to do" },
	[PYI_ERR_TRUNCATED] = { true, "stacks were deeper than --max-depth and keep their root "
		"end only; raise --max-depth (up to 4096) to keep them whole" },
	[PYI_ERR_THREADS_FULL] = { true, "thread state lookups were not cached (more threads than "
		"the cache holds): the profile is whole, sampling cost more" },
	[PYI_ERR_SYMBOL_DEFERRED] = { false, "code objects were described late, from user space: "
		"nothing to do" },
	[PYI_ERR_PROCS_FULL] = { true, "child processes were not followed (the process table was "
		"full); profile them with --pid" },
};

static void report_problems(struct collector *c, const struct cli *cli, double elapsed)
{
	struct collect_stats st;
	uint64_t n;
	int i;

	collector_stats(c, &st);
	for (i = 0; i < PYI_ERR_MAX; i++) {
		n = st.errors[i];
		if (!problems[i].what || !n)
			continue;
		if (i != PYI_ERR_NO_TSTATE && i != PYI_ERR_SYMBOL_DEFERRED &&
		    (problems[i].always_warn || n * 100 > st.samples))
			pr_warn("%llu %s", (unsigned long long)n, problems[i].what);
		else
			pr_info("%llu %s", (unsigned long long)n, problems[i].what);
	}
	if (st.unresolved)
		pr_warn("%llu frames could not be named (their code object was freed before it was "
			"read) and show as <unknown>", (unsigned long long)st.unresolved);
	if (!st.samples && !cli->quiet)
		pr_warn("no samples were recorded");
	report_cost(&st, elapsed, (int)sysconf(_SC_NPROCESSORS_ONLN));
}

static void describe(const struct cli *cli, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	if (cli->description) {
		snprintf(buf, len, "%s", cli->description);
		return;
	}
	if (cli->all) {
		char host[256] = "this host";

		gethostname(host, sizeof(host) - 1);
		snprintf(buf, len, "Every Python process on %s", host);
		return;
	}
	if (cli->cgroup_path[0]) {
		snprintf(buf, len, "Python processes in cgroup %.900s", cli->cgroup_path);
		return;
	}
	if (cli->command) {
		n = snprintf(buf, len, "Program:");
		for (i = 0; cli->command[i] && n < len; i++)
			n += snprintf(buf + n, len - n, " %s", cli->command[i]);
		return;
	}
	for (i = 0; i < cli->npids && n < len; i++) {
		int pid = cli->pids[i], ns_pid = proc_ns_pid(pid, pid);
		char cmd[256] = "?", ns[64] = "";

		proc_cmdline(pid, cmd, sizeof(cmd));
		if (ns_pid != pid)	/* in another pid namespace: say both */
			snprintf(ns, sizeof(ns), " (pid %d in its namespace)", ns_pid);
		n += snprintf(buf + n, len - n, "%sProcess %d%s: %s", i ? "; " : "", pid, ns, cmd);
	}
}

/* Samples until --duration, a signal or the targets' end. 0, or -errno if collection failed. */
static int sample_until_done(const struct cli *cli, struct collector *c, struct launch *l,
			     double started)
{
	double last_status = 0, elapsed, left, end_s, begun_s;
	struct timespec now, begun;
	const char *msg;
	int rc = 0, timeout;

	clock_gettime(CLOCK_MONOTONIC, &begun);
	sampling_begun = begun;
	begun_s = wall_now() - started;
	if (cli->duration)
		collector_stop_at(c, cli->duration - (wall_now() - started));
	stop_word = collector_stop_word(c);
	pr_info("sampling started");
	while (!stop_requested) {
		/* never sleep past the end of --duration; a poll returns within its timeout + 20 ms
		 * whatever the event rate, so the clock and signals are looked at every 50 ms */
		left = cli->duration ? cli->duration - (wall_now() - started) : 1;
		timeout = left <= 0 ? 0 : left < 0.03 ? (int)(left * 1000) + 1 : 30;
		rc = collector_poll(c, timeout);
		if (rc < 0) {
			pr_err("sampling stopped: the collector failed: %s", strerror(-rc));
			break;
		}
		while ((msg = collector_next_notice(c)))
			if (!cli->quiet)
				pr_warn("%s", msg);
		launch_reap(l, WNOHANG);
		elapsed = wall_now() - started;
		if (cli->duration && elapsed >= cli->duration)
			break;
		if (collector_done(c))
			break;
		if (elapsed - last_status >= 0.25) {
			status_line(cli, c, elapsed, false);
			last_status = elapsed;
		}
	}
	stop_word = NULL;
	collector_stop(c);
	/* when sampling ended in the kernel: at the signal's handler, at --duration, or now */
	clock_gettime(CLOCK_MONOTONIC, &now);
	end_s = begun_s + monotonic_s(stopped_at.tv_sec ? &stopped_at : &now) -
		monotonic_s(&begun);
	if (cli->duration && end_s > cli->duration)
		end_s = cli->duration;
	/* CLOCK_MONOTONIC too: a test compares it with when it sent a signal */
	pr_info("sampling ended after %.3f s (monotonic %.6f)", end_s,
		monotonic_s(&begun) + end_s - begun_s);
	status_line(cli, c, wall_now() - started, true);
	return rc < 0 ? rc : 0;
}

static int add_targets(const struct cli *cli, struct collector *c, struct launch *l)
{
	char err[512];
	int i;

	if (cli->command) {
		if (collector_add_pid(c, l->pid, cli->subprocesses, false, err, sizeof(err))) {
			pr_err("%s", err);
			return -1;
		}
		return launch_start(l, cli->command[0]) ? -1 : 0;
	}
	for (i = 0; i < cli->npids; i++) {
		if (collector_add_pid(c, cli->pids[i], cli->subprocesses, true, err, sizeof(err))) {
			pr_err("%s", err);
			return -1;
		}
	}
	return 0;
}

static int resolve_cgroup(struct cli *cli)
{
	struct cgroup_target cg;
	char err[512];
	int rc = 0;

	cli->collect.discover_all = cli->all;
	if (!cli->cgroup && !cli->container)
		return 0;
	rc = cli->cgroup ? cgroup_resolve(cli->cgroup, &cg, err, sizeof(err)) :
			   cgroup_find_container(cli->container, &cg, err, sizeof(err));
	if (rc) {
		pr_err("%s", err);
		return rc;
	}
	cli->collect.cgroup_id = cg.id;
	cli->collect.cgroup_level = cg.level;
	snprintf(cli->cgroup_path, sizeof(cli->cgroup_path), "%s", cg.path);
	pr_info("profiling cgroup %s (id %llu, level %u)", cg.path, (unsigned long long)cg.id,
		cg.level);
	return 0;
}

/*
 * FILE.EXT -> FILE-PID.EXT (the longest known extension, e.g. .speedscope.json, stays whole);
 * FILE-PID-N.EXT for the Nth session of a pid (it called exec, or the pid was reused).
 */
static void per_process_name(const char *outfile, int pid, int nth, char *buf, size_t len)
{
	const char *slash = strrchr(outfile, '/'), *dot = strchr(slash ? slash : outfile, '.');
	char id[32];

	snprintf(id, sizeof(id), nth > 1 ? "%d-%d" : "%d", pid, nth);
	if (!dot || dot == (slash ? slash + 1 : outfile))
		snprintf(buf, len, "%s-%s", outfile, id);
	else
		snprintf(buf, len, "%.*s-%s%s", (int)(dot - outfile), outfile, id, dot);
}

static int write_each(struct cli *cli, struct collector *c, double started, const char *desc)
{
	struct session *sessions[MAX_PIDS * 16];
	int pids[MAX_PIDS * 16], rc = 0;
	const char *outfile = cli->report.outfile;
	char name[PATH_MAX];
	size_t i, j, n;
	int nth;

	n = collector_finish_each(c, started, wall_now() - started, desc, sessions, pids,
				  MAX_PIDS * 16);
	if (!n)
		pr_warn("no Python process was profiled: nothing written");
	for (i = 0; i < n; i++) {
		for (j = 0, nth = 1; j < i; j++)
			nth += pids[j] == pids[i];
		per_process_name(outfile, pids[i], nth, name, sizeof(name));
		cli->report.outfile = name;
		cli->report.pids = &pids[i];
		cli->report.npids = 1;
		rc |= report_write(sessions[i], &cli->report);
		session__free(sessions[i]);
	}
	cli->report.outfile = outfile;
	return rc ? 1 : 0;
}

/* --ready-fd: the sampler is attached; whoever started us may go on (the Python API). */
static void signal_ready(struct cli *cli)
{
	if (cli->ready_fd < 0)
		return;
	if (write(cli->ready_fd, "R", 1) != 1)
		pr_warn("--ready-fd %d: %s", cli->ready_fd, strerror(errno));
	close(cli->ready_fd);
	cli->ready_fd = -1;
}

static int profile(struct cli *cli)
{
	struct launch l = { .pid = -1, .go_fd = -1, .err_fd = -1, .status = -1 };
	struct collector *c = NULL;
	struct session *s = NULL;
	char err[512], desc[1024];
	struct collect_stats st;
	double started;
	int i, err_code = 1, sampled;

	for (i = 0; i < cli->npids; i++) {
		if (!proc_exists(cli->pids[i])) {
			pr_err("no process with pid %d", cli->pids[i]);
			return 1;
		}
	}
	if (resolve_cgroup(cli))
		return 1;
	if (check_privileges())
		return 1;
	if (cli->command && launch_prepare(cli->command, &l)) {
		pr_err("cannot start '%s': %s", cli->command[0], strerror(errno));
		return 1;
	}
	c = collector__new(&cli->collect, err, sizeof(err));
	if (!c) {
		pr_err("%s", err);
		goto out;
	}
	describe(cli, desc, sizeof(desc));
	started = wall_now();
	if (add_targets(cli, c, &l))
		goto out;
	signal_ready(cli);

	if (fleet_enabled(&cli->fleet)) {
		err_code = fleet_run(&cli->fleet, c, &cli->report, &stop_requested, cli->duration,
				     cli->quiet);
		report_problems(c, cli, wall_now() - started);
		goto out;
	}
	sampled = sample_until_done(cli, c, &l, started);
	collector_stats(c, &st);
	if (!st.processes && collector_refusal(c)) {
		/* told as it happened unless -q; the README promises a non-zero exit */
		if (cli->quiet)
			pr_err("%s", collector_refusal(c));
		goto out;
	}
	report_problems(c, cli, wall_now() - started);
	cli->report.lost_samples = st.lost;
	if (cli->command) {
		cli->report.pids = &l.pid;
		cli->report.npids = 1;
	} else {
		cli->report.pids = cli->pids;
		cli->report.npids = (size_t)cli->npids;
	}
	if (cli->per_process) {
		err_code = write_each(cli, c, started, desc);
	} else {
		s = collector_finish(c, started, wall_now() - started, desc);
		if (!s)
			pr_err("out of memory");
		else
			err_code = report_write(s, &cli->report) ? 1 : 0;
	}
	collector_stats(c, &st);
	if (st.last_sample_ns)	/* what the data says, beside what the clock said */
		pr_info("last sample %.3f s after sampling started",
			(double)st.last_sample_ns / 1e9 - monotonic_s(&sampling_begun));
	/* what was collected is written, but a failed collection is not a success */
	if (sampled < 0)
		err_code = 1;
	/* a launched command's own exit status is passed on, as `time` does; when its end
	 * ended the session it is exiting: give it a moment to become reapable */
	for (i = 0; l.pid > 0 && i < 100 && l.status < 0 && collector_done(c); i++) {
		launch_reap(&l, WNOHANG);
		if (l.status < 0)
			usleep(10000);
	}
	if (!err_code && cli->command)
		err_code = launch_exit_code(&l);
out:
	if (l.pid > 0 && l.go_fd >= 0) {
		/* the command never started: release and reap it */
		close(l.go_fd);
		launch_reap(&l, 0);
	}
	session__free(s);
	collector__free(c);
	return err_code;
}

static int load_and_render(struct cli *cli)
{
	struct session *all = NULL, *s;
	char err[512];
	int i, rc = 1;

	for (i = 0; i < cli->nloads; i++) {
		if (session_load(cli->loads[i], &s, err, sizeof(err))) {
			pr_err("%s", err);
			goto out;
		}
		if (!all) {
			all = s;
			continue;
		}
		session_combine(all, s);
		session__free(s);
	}
	if (cli->description && session_set_target_description(all, cli->description)) {
		pr_err("out of memory");
		goto out;
	}
	rc = report_write(all, &cli->report) ? 1 : 0;
out:
	session__free(all);
	return rc;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct cli cli;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "agent"))
		return agent_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "dump"))
		return dump_main(argc - 1, argv + 1);
	rc = parse_args(&cli, argc, argv);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (cli.nloads)
		return load_and_render(&cli);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* a closed terminal or ssh session: write what we have */
	signal(SIGPIPE, SIG_IGN);
	return profile(&cli);
}
