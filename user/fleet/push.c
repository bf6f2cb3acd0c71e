// SPDX-License-Identifier: MIT
/*
 * The sender: a thread that takes the oldest window off the spool and POSTs it to Pyroscope's
 * ingest API (POST /ingest?name=...&from=...&until=...&format=pprof, the pprof as the multipart
 * field "profile"), with libcurl for HTTP and TLS. It runs apart from the sampling loop so that
 * a slow or dead backend never delays the ring buffer.
 *
 * A window that fails for a reason that may pass (no connection, a timeout, 5xx, 408, 429) goes
 * back to the front of the spool and is tried again after a backoff that doubles up to a cap.
 * One the backend refuses for good (other 4xx: bad request, authentication, no such endpoint)
 * is dropped and counted, with the reason said once per kind: retrying it cannot succeed.
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fleet.h"
#include "log.h"

#define CONNECT_TIMEOUT_S 5L
#define REQUEST_TIMEOUT_S 20L
#define REPORT_EVERY_S 300.0	/* while failing, a reminder this often */

struct pusher {
	struct spool *sp;
	const struct fleet_opts *o;
	char url[2048];
	pthread_t thread;
	bool started;
	volatile bool stopping;
	double backoff_cap;
	/* said once per kind, then every REPORT_EVERY_S while it lasts */
	bool failing;
	double fail_since, last_report;
	long last_status;
	uint64_t late;		/* windows delivered after a failure */
};

int push_url_check(const char *url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || !host[0]) {
		snprintf(err, errlen, "--push %s: not a URL (expected http[s]://HOST[:PORT][/PATH])",
			 url);
		rc = -EINVAL;
	} else if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		snprintf(err, errlen, "--push %s: only http and https are supported", url);
		rc = -EINVAL;
	} else if (strlen(url) > 1900) {
		snprintf(err, errlen, "--push: the URL is too long");
		rc = -EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static size_t put_escaped(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s && n + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, len - n, "%%%02X", c);
	}
	out[n] = '\0';
	return *s ? len : n;
}

int push_query(char *out, size_t len, const char *name, double from, double until,
	       double interval)
{
	size_t n = (size_t)snprintf(out, len, "name=");

	if (n >= len)
		return -ENAMETOOLONG;
	n += put_escaped(out + n, len - n, name);
	if (n >= len)
		return -ENAMETOOLONG;
	/* whole seconds, as the API takes them; the pprof carries the exact window */
	n += (size_t)snprintf(out + n, len - n,
			      "&from=%lld&until=%lld&format=pprof&sampleRate=%ld&spyName=pyinst-bpf",
			      (long long)floor(from), (long long)floor(until),
			      lround(interval > 0 ? 1 / interval : 100));
	return n < len ? 0 : -ENAMETOOLONG;
}

/* The server's answer, kept short: the first line of its body, for the message. */
struct answer {
	char text[160];
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct answer *a = ctx;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n && a->len + 1 < sizeof(a->text); i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n' || c == '\r')
			a->len = sizeof(a->text);	/* first line only */
		else
			a->text[a->len++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	if (a->len < sizeof(a->text))
		a->text[a->len] = '\0';
	return n;
}

static void set_auth(CURL *h, const struct fleet_opts *o, struct curl_slist **headers)
{
	char hdr[512];

	if (o->tenant) {
		snprintf(hdr, sizeof(hdr), "X-Scope-OrgID: %s", o->tenant);
		*headers = curl_slist_append(*headers, hdr);
	}
	if (o->token) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, o->token);
	} else if (o->basic_auth) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, o->basic_auth);
	}
	if (o->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
}

/* One POST. Returns the HTTP status, or -1 with a curl error in answer. */
static long post(struct pusher *p, CURL *h, const struct spool_item *it, struct answer *a)
{
	char url[sizeof(p->url) + 4096];
	struct curl_slist *headers = NULL;
	curl_mime *mime;
	curl_mimepart *part;
	CURLcode rc;
	long status = -1;

	snprintf(url, sizeof(url), "%s%s%s", p->url, strchr(p->url, '?') ? "&" : "?", it->query);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pyinst-bpf/" PYINST_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	set_auth(h, p->o, &headers);
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	mime = curl_mime_init(h);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "profile");
	curl_mime_filename(part, "profile.pprof");
	curl_mime_type(part, "application/octet-stream");
	curl_mime_data(part, (const char *)it->body, it->len);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	a->len = 0;
	a->text[0] = '\0';
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(a->text, sizeof(a->text), "%s", curl_easy_strerror(rc));
	curl_mime_free(mime);
	curl_slist_free_all(headers);
	return status;
}

static bool retryable(long status)
{
	return status < 0 || status >= 500 || status == 408 || status == 429;
}

static const char *status_hint(long status)
{
	switch (status) {
	case 401:
	case 403:
		return " (authentication refused: check --push-basic-auth, --push-token, "
		       "--push-tenant)";
	case 404:
	case 405:
		return " (no ingest endpoint there: check the --push URL)";
	case 413:
		return " (a profile too large for the backend)";
	default:
		return "";
	}
}

static void said_failure(struct pusher *p, long status, const struct answer *a, bool dropped)
{
	double now = monotonic_s();

	if (p->failing && status == p->last_status && now - p->last_report < REPORT_EVERY_S)
		return;
	if (!p->failing)
		p->fail_since = now;
	p->failing = true;
	p->last_status = status;
	p->last_report = now;
	if (status < 0)
		pr_warn("push to %s failed: %s; retrying with backoff, windows kept in the spool",
			p->url, a->text);
	else if (dropped)
		pr_warn("push to %s refused: HTTP %ld%s%s%s; such windows are dropped and counted",
			p->url, status, status_hint(status), a->text[0] ? ": " : "", a->text);
	else
		pr_warn("push to %s failed: HTTP %ld%s%s; retrying with backoff, windows kept in "
			"the spool", p->url, status, a->text[0] ? ": " : "", a->text);
}

static void said_success(struct pusher *p)
{
	if (!p->failing)
		return;
	p->failing = false;
	pr_warn("push to %s works again after %.0f s", p->url, monotonic_s() - p->fail_since);
}

/* Sleeps up to s seconds, returning early when the pusher is stopping. */
static void nap(struct pusher *p, double s)
{
	struct timespec ts;

	for (double left = s; left > 0 && !p->stopping; left -= 0.05) {
		ts.tv_sec = 0;
		ts.tv_nsec = 50000000L;
		nanosleep(&ts, NULL);
	}
}

static void *run(void *arg)
{
	struct pusher *p = arg;
	struct spool_item *it;
	struct answer a;
	double backoff = 0;
	CURL *h = curl_easy_init();
	long status;

	if (!h) {
		pr_err("push: cannot start libcurl");
		return NULL;
	}
	while (!p->stopping) {
		it = spool_get(p->sp, 200);
		if (!it)
			continue;
		status = post(p, h, it, &a);
		if (status >= 200 && status < 300) {
			said_success(p);
			spool_done(p->sp, it, true, false);
			backoff = 0;
			continue;
		}
		if (!retryable(status)) {
			said_failure(p, status, &a, true);
			spool_done(p->sp, it, true, true);
			continue;
		}
		said_failure(p, status, &a, false);
		spool_done(p->sp, it, false, false);
		/* doubling, with jitter so that a fleet does not come back at the same instant */
		backoff = backoff ? fmin(backoff * 2, p->backoff_cap) : 0.5;
		nap(p, backoff * (0.75 + 0.5 * (double)rand() / RAND_MAX));
	}
	curl_easy_cleanup(h);
	return NULL;
}

struct pusher *pusher__new(const struct fleet_opts *o, struct spool *sp, char *err,
			   size_t errlen)
{
	struct pusher *p = calloc(1, sizeof(*p));
	size_t n;

	if (!p || curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "cannot start libcurl");
		free(p);
		return NULL;
	}
	p->sp = sp;
	p->o = o;
	/* the base URL names the server; /ingest is added unless it is there already */
	snprintf(p->url, sizeof(p->url), "%s", o->push_url);
	n = strlen(p->url);
	while (n && p->url[n - 1] == '/')
		p->url[--n] = '\0';
	if (n < 7 || strcmp(p->url + n - 7, "/ingest"))
		snprintf(p->url + n, sizeof(p->url) - n, "/ingest");
	p->backoff_cap = fmin(60, fmax(5, 4 * o->interval));
	srand((unsigned int)(monotonic_s() * 1e6));
	if (pthread_create(&p->thread, NULL, run, p)) {
		snprintf(err, errlen, "cannot start the push thread");
		free(p);
		return NULL;
	}
	p->started = true;
	return p;
}

void pusher__free(struct pusher *p, double timeout_s)
{
	struct spool_stats st;
	double until = monotonic_s() + timeout_s;

	if (!p)
		return;
	/* the last windows: a little time to go out */
	for (;;) {
		spool_stats(p->sp, &st);
		if ((!st.mem_bytes && !st.disk_bytes) || monotonic_s() >= until)
			break;
		nap(p, 0.1);
	}
	p->stopping = true;
	spool_wake(p->sp);
	if (p->started)
		pthread_join(p->thread, NULL);
	curl_global_cleanup();
	free(p);
}
