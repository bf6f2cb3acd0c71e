/* SPDX-License-Identifier: MIT */
/*
 * Continuous mode (docs/fleet.md): the collector runs until stopped and every --push-interval
 * seconds each process's profile for that window is pushed to a Pyroscope-compatible backend
 * (POST /ingest, pprof) and/or written to --output-dir. Pieces:
 *   labels: what a process is called in the backend (service_name, host, pid, ...)
 *   spool:  windows waiting to be sent, bounded in memory and then on disk
 *   push:   the sender thread (libcurl), retries with backoff
 *   outdir: one file per process per window, atomically, with retention
 */
#ifndef PYINST_FLEET_H
#define PYINST_FLEET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct collector;
struct report_opts;

#define FLEET_MAX_TAGS 32
#define FLEET_LABEL_MAX 128	/* a label value's bytes, at most */

/* ---- options ------------------------------------------------------------------------------ */

struct fleet_opts {
	const char *push_url;		/* --push URL */
	double interval;		/* --push-interval SECONDS */
	const char *tags[FLEET_MAX_TAGS];	/* --tag KEY=VALUE, validated */
	size_t ntags;
	const char *tenant;		/* --push-tenant, else $PYROSCOPE_TENANT_ID */
	const char *basic_auth;		/* --push-basic-auth USER:PASSWORD, else the environment */
	const char *token;		/* --push-token, else $PYROSCOPE_AUTH_TOKEN */
	const char *ca_file;		/* --push-ca-file: https with a private CA */
	const char *spool_dir;		/* --spool-dir DIR: windows kept while the backend is down */
	uint64_t spool_mem;		/* --spool-memory SIZE */
	uint64_t spool_max;		/* --spool-max-size SIZE (the directory's cap) */
	const char *output_dir;		/* --output-dir DIR */
	uint64_t keep;			/* --output-keep N files (0: no limit) */
	uint64_t keep_bytes;		/* --output-max-size SIZE (0: no limit) */
};

/* getopt_long's values of the options continuous mode adds (named in user/cli.c's table). */
enum fleet_option {
	FLEET_OPT_PUSH = 1024, FLEET_OPT_INTERVAL, FLEET_OPT_TAG, FLEET_OPT_TENANT,
	FLEET_OPT_BASIC_AUTH, FLEET_OPT_TOKEN, FLEET_OPT_CA_FILE, FLEET_OPT_SPOOL_DIR,
	FLEET_OPT_SPOOL_MEMORY, FLEET_OPT_SPOOL_MAX, FLEET_OPT_OUTPUT_DIR, FLEET_OPT_KEEP,
	FLEET_OPT_KEEP_SIZE,
	FLEET_OPT_END,
};

void fleet_opts_init(struct fleet_opts *o);
/* One option (opt: an enum fleet_option), as the user typed it in name ("--push").
 * 0, or -EINVAL with a message naming it. */
int fleet_parse_option(struct fleet_opts *o, int opt, const char *name, const char *arg);
/* Continuous mode asked for. */
bool fleet_enabled(const struct fleet_opts *o);
/*
 * Checks everything that can be checked before sampling: the URL, the credentials, the
 * directories. Fills in what comes from the environment. 0 or -EINVAL (reported).
 */
int fleet_check(struct fleet_opts *o, struct report_opts *report);

/*
 * Runs continuous mode on a started collector until *stop, duration (if not 0) or, with
 * only --pid targets, until they exit. Returns the exit status.
 */
int fleet_run(struct fleet_opts *o, struct collector *c, struct report_opts *report,
	      volatile sig_atomic_t *stop, double duration);

/* ---- labels ------------------------------------------------------------------------------- */

/* KEY=VALUE as --tag takes it: a label name ([A-Za-z_][A-Za-z0-9_]*) and a plain value. */
int fleet_tag_valid(const char *kv, char *why, size_t whylen);
/* Replaces what cannot stand in a label value; returns the length written (< len). */
size_t fleet_label_value(const char *in, size_t inlen, char *out, size_t len);
/* service_name from a NUL-separated environ block (OTEL_SERVICE_NAME, then
 * PYROSCOPE_APPLICATION_NAME); false when neither is set. */
bool fleet_service_from_environ(const char *env, size_t len, char *out, size_t outlen);
/* service_name from a NUL-separated argv: the script's name without .py, the -m module, or
 * the program's name. */
void fleet_service_from_argv(const char *argv, size_t len, char *out, size_t outlen);
/* Container and pod ids from /proc/PID/cgroup text (empty strings when none). */
void fleet_ids_from_cgroup(const char *text, char *container, size_t clen, char *pod,
			   size_t plen);
/* "svc{k=v,...}" for pid; reads /proc. The session's name in the backend. */
int fleet_process_labels(int pid, int py_major, int py_minor, const struct fleet_opts *o,
			 char *out, size_t len);

/* ---- spool -------------------------------------------------------------------------------- */

struct spool;
struct spool_item {
	struct spool_item *next;
	uint64_t seq;
	char *query;		/* the ingest query string (name, from, until, ...) */
	uint8_t *body;		/* the pprof */
	size_t len;
	bool on_disk;
};
struct spool_stats {
	uint64_t queued, sent, dropped, rejected, mem_bytes, disk_bytes, disk_items;
};

/* dir may be NULL (memory only). Returns NULL with err set. */
struct spool *spool__new(uint64_t mem_cap, const char *dir, uint64_t disk_cap, char *err,
			 size_t errlen);
void spool__free(struct spool *sp);
/* Takes query and body (copied). 0, or -ENOSPC when past every cap (counted as dropped). */
int spool_put(struct spool *sp, const char *query, const uint8_t *body, size_t len);
/* The oldest item, waiting up to timeout_ms; NULL if none. The caller ends it with spool_done. */
struct spool_item *spool_get(struct spool *sp, int timeout_ms);
/* sent: delivered (or rejected for good when rejected): forgotten; else back at the front. */
void spool_done(struct spool *sp, struct spool_item *it, bool sent, bool rejected);
/* At exit: what is still in memory goes to the directory if there is one; else counted as
 * dropped. Returns the items kept on disk. */
uint64_t spool_persist(struct spool *sp);
void spool_stats(struct spool *sp, struct spool_stats *st);
/* Wakes spool_get callers (shutdown). */
void spool_wake(struct spool *sp);

/* ---- push --------------------------------------------------------------------------------- */

struct pusher;
struct pusher *pusher__new(const struct fleet_opts *o, struct spool *sp, char *err,
			   size_t errlen);
/* Waits until the spool is empty or timeout_s passes, then stops the thread. */
void pusher__free(struct pusher *p, double timeout_s);
/* Whether the URL is one we can send to (http or https, a host). */
int push_url_check(const char *url, char *err, size_t errlen);
/* The ingest query string for one profile. */
int push_query(char *out, size_t len, const char *name, double from, double until,
	       double interval);

/* ---- output directory --------------------------------------------------------------------- */

struct outdir;
struct outdir *outdir__open(const char *path, uint64_t keep, uint64_t keep_bytes, char *err,
			    size_t errlen);
void outdir__free(struct outdir *d);
/*
 * Writes data under name (pyinst-...) atomically: a temporary file renamed without replacing
 * anything. 0 or -errno (reported).
 */
int outdir_write(struct outdir *d, const char *name, const uint8_t *data, size_t len);
/* Retention: the oldest of the files this tool wrote there go past --output-keep/-max-size. */
void outdir_retain(struct outdir *d);

#endif
