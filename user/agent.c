// SPDX-License-Identifier: MIT
/*
 * pyinst-bpf agent: lets unprivileged Python processes profile themselves (docs/python-api.md).
 *
 * It listens on a Unix SOCK_SEQPACKET socket. A client sends one request with a file
 * descriptor it opened itself (SCM_RIGHTS); the agent profiles the client's own process, the
 * pid taken from the kernel (SO_PEERCRED, SO_PEERPIDFD), never from the request, by running
 * this binary with --pid, --ready-fd and the client's file as stdout. The client never names a
 * path, so the agent never opens or creates a file on anyone's behalf.
 *
 * Protocol, one message each way per step:
 *   client: "pyinst-bpf/1 start [interval=S] [mode=wall|cpu] [async=enabled|disabled] [pid=N]"
 *           + one fd
 *   agent:  "OK ready"  (sampling runs)  |  "ERR <reason> <message>"
 *   client: "stop" (or closes the socket)
 *   agent:  "OK done"   (the session is in the file)  |  "ERR <reason> <message>"
 * Reasons: busy, bad-request, not-allowed, unsupported, timeout, failed.
 *
 * Each accepted connection is served by a forked handler; the listener only counts them, so a
 * flood of connections costs it an accept and a refusal each: at most --max-sessions handlers,
 * --max-per-user per uid, and a handler whose client sends nothing ends after --request-timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "options.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77		/* Linux 6.5 */
#endif

#define REQ_MAX 512		/* bytes of a request; longer ones are refused */
#define ERR_TAIL 1024		/* bytes of the profiler's stderr kept for the reply */
#define READY_TIMEOUT_MS 30000	/* to attach the sampler (BPF load, symbols) */
#define STOP_TIMEOUT_MS 60000	/* to write the session after SIGINT */
#define MAX_HANDLERS 1024
#define WATCH_MS 250		/* how often a running session checks its target's credentials */

struct agent {
	const char *socket_path;
	char binary[PATH_MAX];
	int max_sessions;
	int max_per_user;
	int request_timeout_ms;
	bool created;		/* we bound socket_path: unlink it on exit */
	int lfd;
	struct handler { pid_t pid; uid_t uid; } handlers[MAX_HANDLERS];
	int nhandlers;
	unsigned long long refused_busy;
	sigset_t unblocked;	/* the mask ppoll() waits with: signals arrive only there */
};

struct request {
	char interval[32];
	char mode[8];
	char async_mode[12];	/* --async-mode */
	long pid;		/* 0: not given */
};

static volatile sig_atomic_t agent_stop;

static void on_stop(int sig)
{
	agent_stop = sig;
}

static void on_child(int sig)
{
	/* only interrupts poll(); reaping happens in the loop */
}

enum { AO_SOCKET = 256, AO_MAX_SESSIONS, AO_MAX_PER_USER, AO_REQUEST_TIMEOUT };

static const struct cli_option agent_options[] = {
	CLI_OPT("socket", AO_SOCKET, required_argument, "PATH",
		"listen here (default `" AGENT_DEFAULT_SOCKET "`)"),
	CLI_OPT("max-sessions", AO_MAX_SESSIONS, required_argument, "N", "sessions at once, all "
	  "users (default 32)"),
	CLI_OPT("max-per-user", AO_MAX_PER_USER, required_argument, "N", "sessions at once per "
	  "uid (default 4)"),
	CLI_OPT("request-timeout", AO_REQUEST_TIMEOUT, required_argument, "S", "a client must "
	  "send its request within S seconds (default 5)"),
	CLI_OPT("help", 'h', no_argument, NULL, "this help"),
	{ 0 },
};

static const struct cli_command agent_command = {
	.name = "pyinst-bpf agent",
	.synopsis =
	"Usage: pyinst-bpf agent [options]\n"
	"\n"
	"The privileged service behind the Python package pyinst_bpf: a process that lacks\n"
	"the capabilities asks it, over a Unix socket, to profile that process itself and\n"
	"nothing else (the caller's pid comes from the kernel). Run it as root, normally\n"
	"from systemd (pyinst-bpf-agent.socket), which passes the listening socket.\n"
	"\n",
	.options = agent_options,
};

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -EINVAL : 0;
}

/* 0: go on; 1: done (--help); 2: a usage error, reported. */
static int agent_option(struct agent *a, int opt, const char *arg)
{
	char name[32];
	long v = 0;

	switch (opt) {
	case AO_SOCKET:
		a->socket_path = arg;
		return 0;
	case AO_MAX_SESSIONS:
		if (parse_int(arg, 1, MAX_HANDLERS, &v))
			break;
		a->max_sessions = (int)v;
		return 0;
	case AO_MAX_PER_USER:
		if (parse_int(arg, 1, MAX_HANDLERS, &v))
			break;
		a->max_per_user = (int)v;
		return 0;
	case AO_REQUEST_TIMEOUT:
		if (parse_int(arg, 1, 3600, &v))
			break;
		a->request_timeout_ms = (int)v * 1000;
		return 0;
	case 'h':
		cli_print_help(&agent_command, stdout);
		return 1;
	case CLI_OPT_MARKDOWN:
		cli_print_markdown(&agent_command, stdout);
		return 1;
	default:
		cli_try_help(&agent_command);
		return 2;
	}
	cli_option_name(&agent_command, opt, name, sizeof(name));
	pr_err("agent: invalid value '%s' for %s", arg, name);
	return 2;
}

static int agent_parse(struct agent *a, int argc, char **argv)
{
	struct cli_getopt g;
	int opt, rc = 0;

	if (cli_getopt_init(&g, &agent_command)) {
		pr_err("agent: out of memory");
		return 2;
	}
	optind = 1;
	while (!rc && (opt = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1)
		rc = agent_option(a, opt, optarg);
	cli_getopt_release(&g);
	if (rc)
		return rc;
	if (optind < argc) {
		pr_err("agent: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (strlen(a->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		pr_err("agent: --socket: path too long");
		return 2;
	}
	return 0;
}

/* ---- the listening socket ----------------------------------------------------------------- */

/* systemd socket activation: LISTEN_FDS=1 for us, the socket at fd 3. */
static int inherited_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0;
	socklen_t len = sizeof(type);
	long v;

	if (!pid || !fds || parse_int(pid, 1, INT_MAX, &v) || v != getpid() ||
	    parse_int(fds, 1, 1, &v))
		return -ENOENT;
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_SEQPACKET) {
		pr_err("agent: the socket systemd passed is not a SOCK_SEQPACKET socket "
		       "(the unit needs SocketMode and SequentialPacket=yes)");
		return -EINVAL;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
}

/* An existing path is replaced only if it is a socket nobody listens on (a stale one). */
static int check_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, busy;

	if (lstat(sa->sun_path, &st)) {
		if (errno == ENOENT)
			return 0;
		pr_err("agent: %s: %s", sa->sun_path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("agent: %s exists and is not a socket: not replacing it", sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_err("agent: socket: %s", strerror(errno));
		return -errno;
	}
	busy = !connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (busy) {
		pr_err("agent: another agent listens on %s", sa->sun_path);
		return -EADDRINUSE;
	}
	if (unlink(sa->sun_path)) {
		pr_err("agent: cannot remove the stale %s: %s", sa->sun_path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int listen_socket(struct agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	fd = inherited_socket();
	if (fd != -ENOENT)
		return fd;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->socket_path);
	err = check_stale(&sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_err("agent: socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		pr_err("agent: cannot listen on %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return err;
	}
	a->created = true;
	/* any local user may ask; what they may ask for is checked per request */
	if (chmod(sa.sun_path, 0666) || listen(fd, 128)) {
		err = -errno;
		pr_err("agent: %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

/* ---- replies ------------------------------------------------------------------------------ */

/* One message; the text is ours or sanitized, never a raw name from the target. */
static void reply(int fd, const char *fmt, ...)
{
	char msg[REQ_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("agent: reply not sent: %s", strerror(errno));
}

/* ---- a handler: one client, one session --------------------------------------------------- */

static int parse_request(char *buf, struct request *r, const char **why)
{
	char *save = NULL, *tok;
	double d;
	int i = 0;

	snprintf(r->interval, sizeof(r->interval), "0.001");
	snprintf(r->mode, sizeof(r->mode), "wall");
	snprintf(r->async_mode, sizeof(r->async_mode), "enabled");
	r->pid = 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
		char *end;

		if (i == 0 && strcmp(tok, "pyinst-bpf/1")) {
			*why = "unknown protocol (expected pyinst-bpf/1)";
			return -EINVAL;
		}
		if (i == 1 && strcmp(tok, "start")) {
			*why = "unknown command (expected start)";
			return -EINVAL;
		}
		if (i < 2)
			continue;
		if (!strncmp(tok, "interval=", 9)) {
			errno = 0;
			d = strtod(tok + 9, &end);
			if (errno || *end || end == tok + 9 || !(d >= 0.00001 && d <= 10)) {
				*why = "interval must be between 0.00001 and 10 seconds";
				return -EINVAL;
			}
			snprintf(r->interval, sizeof(r->interval), "%.9g", d);
		} else if (!strcmp(tok, "mode=wall") || !strcmp(tok, "mode=cpu")) {
			snprintf(r->mode, sizeof(r->mode), "%s", tok + 5);
		} else if (!strcmp(tok, "async=enabled") || !strcmp(tok, "async=disabled")) {
			snprintf(r->async_mode, sizeof(r->async_mode), "%s", tok + 6);
		} else if (!strncmp(tok, "pid=", 4)) {
			if (parse_int(tok + 4, 1, INT_MAX, &r->pid)) {
				*why = "pid must be a positive number";
				return -EINVAL;
			}
		} else {
			*why = "unknown field in the request";
			return -EINVAL;
		}
	}
	if (i < 2) {
		*why = "empty request";
		return -EINVAL;
	}
	return 0;
}

/* Receives the request and its one descriptor. Returns the fd, or -1 after replying. */
static int receive_request(int c, int timeout_ms, struct request *r)
{
	char buf[REQ_MAX + 1], cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { c, POLLIN, 0 };
	const char *why = NULL;
	struct cmsghdr *cm;
	int fd = -1, nfds = 0, i;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1) {
		reply(c, "ERR timeout no request within %d s", timeout_ms / 1000);
		return -1;
	}
	n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)); i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				fd = got;
			else
				close(got);
		}
	}
	buf[n] = '\0';
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		why = "request too long";
	else if (nfds != 1)
		why = "a request carries exactly one file descriptor, for the session";
	else
		parse_request(buf, r, &why);
	if (why) {
		reply(c, "ERR bad-request %s", why);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The session goes to a regular file the client opened for writing. */
static bool writable_file(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_ACCMODE) != O_RDONLY && !fstat(fd, &st) && S_ISREG(st.st_mode);
}

/* All four uids of /proc/PID/status equal to uid (no setuid program), checked by line. */
static bool uids_are(pid_t pid, uid_t uid)
{
	char path[64], line[256];
	bool ok = false;
	unsigned int u[4];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Uid:", 4))
			continue;
		ok = sscanf(line + 4, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4 &&
		     u[0] == uid && u[1] == uid && u[2] == uid && u[3] == uid;
		break;
	}
	fclose(f);
	return ok;
}

static int peer_pidfd(int c, pid_t pid)
{
	socklen_t len = sizeof(int);
	int fd = -1;

	if (!getsockopt(c, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) && fd >= 0)
		return fd;
	/* before 6.5: open it now; the liveness check below still catches a reused pid
	 * only if the new process fails the uid checks, which the caller cannot arrange */
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * The caller may profile its own process only: the pid comes from the kernel. The process
 * must still be the one that connected (its pidfd alive after the checks), run with the
 * caller's uid in every slot (not a setuid program) and be dumpable (/proc/PID owned by it).
 */
static int authorize(int c, const struct ucred *cr, const struct request *r)
{
	char path[64];
	struct stat st;
	int pidfd, alive;

	if (r->pid && r->pid != cr->pid) {
		reply(c, "ERR not-allowed pid %ld is not the calling process (%d): a caller may "
		      "profile only its own process", r->pid, cr->pid);
		return -EPERM;
	}
	pidfd = peer_pidfd(c, cr->pid);
	if (pidfd < 0) {
		reply(c, "ERR not-allowed the calling process %d is gone", cr->pid);
		return -ESRCH;
	}
	snprintf(path, sizeof(path), "/proc/%d", cr->pid);
	if (!uids_are(cr->pid, cr->uid) || stat(path, &st) || st.st_uid != cr->uid) {
		reply(c, "ERR not-allowed process %d does not run wholly as uid %u (setuid, or "
		      "not dumpable)", cr->pid, cr->uid);
		close(pidfd);
		return -EPERM;
	}
	alive = !syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
	close(pidfd);
	if (!alive) {
		reply(c, "ERR not-allowed the calling process %d is gone", cr->pid);
		return -ESRCH;
	}
	return 0;
}

/* The target may exec a setuid program after it was authorized: that ends the session. A
 * target that is gone is fine (the profiler ends on its own). */
static bool still_own(const struct ucred *cr)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", cr->pid);
	if (stat(path, &st))
		return true;
	if (st.st_uid == cr->uid && uids_are(cr->pid, cr->uid))
		return true;
	return stat(path, &st) != 0;	/* not ours, unless it just exited */
}

/* Moves fd to at least 10 so the dup2s onto 1, 2, 3 cannot overwrite one another. */
static int high_fd(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static pid_t spawn_profiler(const struct agent *a, const struct ucred *cr, const struct request *r,
			    int outfd, int ready_w, int err_w)
{
	char pid[16];
	char *argv[] = { "pyinst-bpf", "--pid", pid, "--no-subprocesses", "-q", "-r", "session",
			 "-i", (char *)r->interval, "--mode", (char *)r->mode,
			 "--async-mode", (char *)r->async_mode, "--ready-fd", "3",
			 "--target-description", "Python API session", NULL };
	int out, err, rdy, nul;
	pid_t child;

	snprintf(pid, sizeof(pid), "%d", cr->pid);
	child = fork();
	if (child)
		return child;
	out = high_fd(outfd);
	err = high_fd(err_w);
	rdy = high_fd(ready_w);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || err < 0 || rdy < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0 || dup2(rdy, 3) < 0)
		_exit(126);
	signal(SIGCHLD, SIG_DFL);
	execv(a->binary, argv);
	pr_err("agent: cannot run %s: %s", a->binary, strerror(errno));
	_exit(127);
}

/* Keeps the last ERR_TAIL bytes of the profiler's stderr. */
static bool drain_stderr(int fd, char *tail, size_t *len)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return false;
	if ((size_t)n >= ERR_TAIL) {
		memcpy(tail, buf + n - (ERR_TAIL - 1), ERR_TAIL - 1);
		*len = ERR_TAIL - 1;
	} else {
		if (*len + n >= ERR_TAIL) {
			size_t drop = *len + n - (ERR_TAIL - 1);

			memmove(tail, tail + drop, *len - drop);
			*len -= drop;
		}
		memcpy(tail + *len, buf, n);
		*len += n;
	}
	tail[*len] = '\0';
	return true;
}

/* The profiler's last message, printable, as the reason's text. */
static const char *last_message(char *tail)
{
	char *p, *start;

	for (p = tail; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			*p = '?';
	while (p > tail && p[-1] == '\n')
		*--p = '\0';
	start = strrchr(tail, '\n');
	start = start ? start + 1 : tail;
	if (!strncmp(start, "pyinst-bpf: ", 12))
		start += 12;
	if (!strncmp(start, "error: ", 7))
		start += 7;
	return *start ? start : "the profiler failed";
}

static const char *failure_reason(const char *msg)
{
	return strstr(msg, "not supported") || strstr(msg, "not a Python process") ||
	       strstr(msg, "CPython") ? "unsupported" : "failed";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The profiler exited: the session is in the client's file, or its last message says why not. */
static int final_reply(int c, int status, char *tail)
{
	const char *msg;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		reply(c, "OK done");
		return 0;
	}
	msg = last_message(tail);
	reply(c, "ERR %s %s", failure_reason(msg), msg);
	return 1;
}

/* Until stopping, wake up every WATCH_MS to look at the target's credentials. */
static int poll_timeout(bool stopping, long long left)
{
	if (stopping)
		return (int)left;
	return left < WATCH_MS ? (int)left : WATCH_MS;
}

/* One running session, as the handler sees it. */
struct run {
	pid_t child;
	int ready_fd, err_fd;
	bool is_ready, stopping, err_open;
	long long deadline;
	char tail[ERR_TAIL + 1];
	size_t tail_len;
};

/* The ready pipe: a byte once sampling runs, or end of file if the profiler gave up. */
static void on_ready(struct run *r, int c)
{
	char b;

	r->is_ready = true;
	if (read(r->ready_fd, &b, 1) == 1)
		reply(c, "OK ready");
	else
		r->stopping = true;	/* exited before attaching: its stderr says why */
}

/* "stop", anything else, or a hang-up: the profiler writes the session and exits. */
static void on_client(struct run *r, int c)
{
	char b[16];

	if (recv(c, b, sizeof(b), MSG_DONTWAIT) < 0 && errno == EAGAIN)
		return;
	kill(r->child, SIGINT);
	r->stopping = true;
	r->deadline = now_ms() + STOP_TIMEOUT_MS;
}

/* Ends the session early with a reply. */
static int abort_run(struct run *r)
{
	kill(r->child, SIGKILL);
	waitpid(r->child, NULL, 0);
	return 1;
}

/* Waits for the profiler's events until it exits (its stderr closes). 0, or 1 if replied. */
static int watch(struct run *r, int c, const struct ucred *cr)
{
	while (r->err_open) {
		struct pollfd p[3] = {
			{ r->err_fd, POLLIN, 0 },
			{ r->is_ready ? -1 : r->ready_fd, POLLIN, 0 },
			{ r->stopping ? -1 : c, POLLIN, 0 },
		};
		/* a running session has no deadline */
		long long left = r->is_ready && !r->stopping ? WATCH_MS : r->deadline - now_ms();

		if (left <= 0) {
			reply(c, "ERR timeout the profiler did not %s in time",
			      r->is_ready ? "finish" : "start");
			return abort_run(r);
		}
		if (poll(p, 3, poll_timeout(r->stopping, left)) < 0 && errno != EINTR) {
			kill(r->child, SIGKILL);
			return 0;
		}
		/* from the spawn on: the sampler reads the target while it attaches too */
		if (!r->stopping && !still_own(cr)) {
			reply(c, "ERR not-allowed process %d changed credentials (a setuid "
			      "program?): session dropped", cr->pid);
			return abort_run(r);
		}
		if (p[0].revents)
			r->err_open = drain_stderr(r->err_fd, r->tail, &r->tail_len);
		if (p[1].revents)
			on_ready(r, c);
		if (p[2].revents)
			on_client(r, c);
	}
	return 0;
}

/* Runs one session: ready, then until the client says stop or hangs up, or the target ends. */
static int run_session(const struct agent *a, int c, const struct ucred *cr,
		       const struct request *req, int outfd)
{
	struct run r = { .err_open = true, .deadline = now_ms() + READY_TIMEOUT_MS };
	int ready[2], errp[2], status = 0;

	if (pipe2(ready, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		reply(c, "ERR failed %s", strerror(errno));
		return 1;
	}
	r.child = spawn_profiler(a, cr, req, outfd, ready[1], errp[1]);
	close(ready[1]);
	close(errp[1]);
	close(outfd);
	if (r.child < 0) {
		reply(c, "ERR failed fork: %s", strerror(errno));
		return 1;
	}
	r.ready_fd = ready[0];
	r.err_fd = errp[0];
	if (watch(&r, c, cr))
		return 1;
	waitpid(r.child, &status, 0);
	return final_reply(c, status, r.tail);
}

static int handle(const struct agent *a, int c, const struct ucred *cr)
{
	struct request r;
	int outfd, rc;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &a->unblocked, NULL);	/* the profiler inherits it */
	outfd = receive_request(c, a->request_timeout_ms, &r);
	if (outfd < 0)
		return 1;
	if (!writable_file(outfd)) {
		reply(c, "ERR bad-request the descriptor must be a regular file open for writing");
		return 1;
	}
	if (authorize(c, cr, &r))
		return 1;
	pr_info("agent: profiling pid %d for uid %u (interval %s, %s)", cr->pid, cr->uid,
		r.interval, r.mode);
	rc = run_session(a, c, cr, &r, outfd);
	return rc;
}

/* ---- the listener ------------------------------------------------------------------------- */

static int sessions_of(const struct agent *a, uid_t uid)
{
	int i, n = 0;

	for (i = 0; i < a->nhandlers; i++)
		n += a->handlers[i].uid == uid;
	return n;
}

static void reap(struct agent *a)
{
	pid_t pid;
	int i;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (i = 0; i < a->nhandlers; i++) {
			if (a->handlers[i].pid == pid) {
				a->handlers[i] = a->handlers[--a->nhandlers];
				break;
			}
		}
	}
}

static void serve(struct agent *a, int c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	pid_t pid;

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		close(c);
		return;
	}
	if (a->nhandlers >= a->max_sessions || sessions_of(a, cr.uid) >= a->max_per_user) {
		reply(c, "ERR busy %s", a->nhandlers >= a->max_sessions ?
		      "the agent runs as many sessions as it allows (--max-sessions)" :
		      "this user already runs as many sessions as allowed (--max-per-user)");
		a->refused_busy++;
		close(c);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(a->lfd);
		_exit(handle(a, c, &cr));
	}
	close(c);
	if (pid < 0) {
		pr_warn("agent: fork: %s", strerror(errno));
		return;
	}
	a->handlers[a->nhandlers].pid = pid;
	a->handlers[a->nhandlers++].uid = cr.uid;
}

static void agent_loop(struct agent *a)
{
	unsigned long long reported = 0;
	long long last_report = 0;
	int i, c;

	while (!agent_stop) {
		struct pollfd p = { a->lfd, POLLIN, 0 };
		struct timespec second = { 1, 0 };

		reap(a);
		if (a->refused_busy != reported && now_ms() - last_report > 10000) {
			pr_warn("agent: %llu requests refused as busy so far", a->refused_busy);
			reported = a->refused_busy;
			last_report = now_ms();
		}
		/* SIGCHLD and SIGTERM are blocked except in here: none is lost between the reap
		 * above and the wait */
		if (ppoll(&p, 1, &second, &a->unblocked) <= 0)
			continue;
		/* a bounded batch, so reaping keeps up under a flood */
		for (i = 0; i < 64; i++) {
			c = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				break;
			serve(a, c);
		}
	}
}

int agent_main(int argc, char **argv)
{
	struct sigaction stop = { .sa_handler = on_stop }, chld = { .sa_handler = on_child };
	struct agent *a = calloc(1, sizeof(*a));
	sigset_t block;
	ssize_t n;
	int rc;

	if (!a)
		return 1;
	a->socket_path = AGENT_DEFAULT_SOCKET;
	a->max_sessions = 32;
	a->max_per_user = 4;
	a->request_timeout_ms = 5000;
	log_set_level(LOG_INFO);	/* a line per session: the journal is the audit trail */
	rc = agent_parse(a, argc, argv);
	if (rc) {
		free(a);
		return rc == 1 ? 0 : 2;
	}
	n = readlink("/proc/self/exe", a->binary, sizeof(a->binary) - 1);
	if (n <= 0) {
		pr_err("agent: cannot find its own binary: %s", strerror(errno));
		free(a);
		return 1;
	}
	a->binary[n] = '\0';
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &a->unblocked);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGCHLD, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->lfd = listen_socket(a);
	if (a->lfd < 0) {	/* said why */
		free(a);
		return 1;
	}
	/* accept() must not block: signals reach us only inside ppoll() */
	fcntl(a->lfd, F_SETFL, fcntl(a->lfd, F_GETFL) | O_NONBLOCK);
	pr_info("agent: listening on %s (at most %d sessions, %d per user)",
		a->created ? a->socket_path : "the socket from systemd", a->max_sessions,
		a->max_per_user);
	agent_loop(a);
	close(a->lfd);
	if (a->created)
		unlink(a->socket_path);
	free(a);
	return 0;
}
