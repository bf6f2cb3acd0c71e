// SPDX-License-Identifier: MIT
/*
 * A profiling run: privileges, targets, the sampling loop until --duration, a signal or the
 * targets' end, then the report(s); and --load, which renders saved sessions.
 */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "collect.h"
#include "fleet.h"
#include "launch.h"
#include "log.h"
#include "proc.h"
#include "report.h"
#include "run.h"
#include "session.h"
#include "summary.h"

#define MAX_SESSIONS (CLI_MAX_PIDS * 16)

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

static void handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* a closed terminal or ssh session: write what we have */
	signal(SIGPIPE, SIG_IGN);
}

static double monotonic_s(const struct timespec *ts)
{
	return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

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
		launch_reap(l, WNOHANG);
		elapsed = wall_now() - started;
		if (cli->duration && elapsed >= cli->duration)
			break;
		if (collector_done(c))
			break;
		if (elapsed - last_status >= 0.25) {
			summary_status(c, cli->collect.wall, elapsed, false);
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
	summary_status(c, cli->collect.wall, wall_now() - started, true);
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
	struct session *sessions[MAX_SESSIONS];
	int pids[MAX_SESSIONS], rc = 0;
	const char *outfile = cli->report.outfile;
	char name[PATH_MAX];
	size_t i, j, n;
	int nth;

	n = collector_finish_each(c, started, wall_now() - started, desc, sessions, pids,
				  MAX_SESSIONS);
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

/* The report(s) of what was sampled. Returns the exit status. */
static int write_reports(struct cli *cli, struct collector *c, struct launch *l, double started,
			 const char *desc)
{
	struct session *s;
	int rc;

	if (cli->command) {
		cli->report.pids = &l->pid;
		cli->report.npids = 1;
	} else {
		cli->report.pids = cli->pids;
		cli->report.npids = (size_t)cli->npids;
	}
	if (cli->per_process)
		return write_each(cli, c, started, desc);
	s = collector_finish(c, started, wall_now() - started, desc);
	if (!s) {
		pr_err("out of memory");
		return 1;
	}
	rc = report_write(s, &cli->report) ? 1 : 0;
	session__free(s);
	return rc;
}

/* A launched command's own exit status is passed on, as `time` does. */
static int command_status(struct collector *c, struct launch *l)
{
	/* when its end ended the session it is exiting: give it a moment to become reapable */
	for (int i = 0; l->pid > 0 && i < 100 && l->status < 0 && collector_done(c); i++) {
		launch_reap(l, WNOHANG);
		if (l->status < 0)
			usleep(10000);
	}
	return launch_exit_code(l);
}

/* Sampling on a collector whose targets are added. Returns the exit status. */
static int sample_and_report(struct cli *cli, struct collector *c, struct launch *l,
			     double started, const char *desc)
{
	struct collect_stats st;
	int rc, sampled;

	if (fleet_enabled(&cli->fleet)) {
		rc = fleet_run(&cli->fleet, c, &cli->report, &stop_requested, cli->duration);
		summary_problems(c, wall_now() - started);
		return rc;
	}
	sampled = sample_until_done(cli, c, l, started);
	collector_stats(c, &st);
	if (!st.processes && collector_refusal(c)) {
		/* the README promises a non-zero exit; said once: as the error when the warning
		 * that told it as it happened was not shown (-q) */
		if (!log_enabled(LOG_WARN))
			pr_err("%s", collector_refusal(c));
		return 1;
	}
	summary_problems(c, wall_now() - started);
	cli->report.lost_samples = st.lost;
	rc = write_reports(cli, c, l, started, desc);
	collector_stats(c, &st);
	if (st.last_sample_ns)	/* what the data says, beside what the clock said */
		pr_info("last sample %.3f s after sampling started",
			(double)st.last_sample_ns / 1e9 - monotonic_s(&sampling_begun));
	/* what was collected is written, but a failed collection is not a success */
	if (sampled < 0)
		rc = 1;
	if (!rc && cli->command)
		rc = command_status(c, l);
	return rc;
}

int run_profile(struct cli *cli)
{
	struct launch l = LAUNCH_INIT;
	struct collector *c = NULL;
	char err[512], desc[1024];
	double started;
	int i, rc = 1;

	handle_signals();
	for (i = 0; i < cli->npids; i++) {
		if (!proc_exists(cli->pids[i])) {
			pr_err("no process with pid %d", cli->pids[i]);
			return 1;
		}
	}
	if (resolve_cgroup(cli) || check_privileges())
		return 1;
	if (cli->command) {
		rc = launch_prepare(cli->command, &l);
		if (rc) {
			pr_err("cannot start '%s': %s", cli->command[0], strerror(-rc));
			return 1;
		}
		rc = 1;
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
	rc = sample_and_report(cli, c, &l, started, desc);
out:
	launch_abandon(&l);	/* the command never started: release and reap it */
	collector__free(c);
	return rc;
}

int run_load(struct cli *cli)
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
		rc = session_combine(all, s);
		session__free(s);
		if (rc) {
			pr_err("cannot combine %s: %s", cli->loads[i], strerror(-rc));
			rc = 1;
			goto out;
		}
		rc = 1;
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
