// SPDX-License-Identifier: MIT
/*
 * HTML report benchmark helper: builds a session of N samples over T threads (a random walk over
 * a 24-function call graph, 1 ms samples, round robin like a wall-mode recording), renders it
 * with render_html and prints "samples threads records_ms render_ms bytes". With a third
 * argument, also saves the session as .pyisession (for `pyinst-bpf --load`).
 * usage: html_gen SAMPLES THREADS OUT.html [OUT.pyisession]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "session.h"

#define MAX_THREADS 64
#define MAX_DEPTH 40

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t frame(struct session *s, const char *name, const char *file, unsigned line,
		      const char *attrs)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%u%s", name, 0, file, 0, line, attrs);

	return session_intern_frame(s, buf, (size_t)n);
}

static struct session *build(size_t n, unsigned nthreads)
{
	static const char *const files[] = {
		"/home/dev/app/main.py", "/home/dev/app/work.py",
		"/usr/local/lib/python3.11/json/decoder.py",
		"/opt/venv/lib/python3.11/site-packages/requests/api.py",
	};
	struct session *s = session__new();
	uint32_t proc, fr[24], path[MAX_THREADS][MAX_DEPTH + 1];
	unsigned depth[MAX_THREADS] = { 0 }, seed = 1;
	char name[64];

	proc = session_stack_push(s, SESSION_NO_STACK,
				  frame(s, "python3 app.py", "<process>", 4000, ""));
	for (unsigned i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "function_%u", i);
		fr[i] = frame(s, name, files[i % 4], 10 * i + 1, i % 5 ? "" : "\x01" "cWorker");
	}
	for (unsigned t = 0; t < nthreads; t++) {
		snprintf(name, sizeof(name), t ? "Worker-%u" : "MainThread", t);
		path[t][0] = session_stack_push(s, proc,
						frame(s, name, "<thread>", 139700000 + t, ""));
	}
	for (size_t i = 0; i < n; i++) {
		unsigned t = (unsigned)(i % nthreads), r = (unsigned)rand_r(&seed);

		if (r % 100 < 45 && depth[t] > 0) {
			depth[t]--;
		} else if (r % 100 < 90 && depth[t] < MAX_DEPTH) {
			path[t][depth[t] + 1] = session_stack_push(s, path[t][depth[t]],
								  fr[(r >> 8) % 24]);
			depth[t]++;
		}
		session_add_record(s, path[t][depth[t]], 0.001);
	}
	session_set_times(s, 1795559549.692, (double)n / nthreads * 0.001);
	session_set_interval(s, 0.001, 0.001);
	session_set_cpu_time(s, (double)n * 0.0008);
	session_set_sample_count(s, n);
	session_set_target_description(s, "Program: app.py");
	session_add_sys_prefix(s, "/usr/local");
	session_add_sys_prefix(s, "/opt/venv");
	return s;
}

int main(int argc, char **argv)
{
	struct render_opts o;
	struct session *s;
	double t0, t1, t2;
	size_t n;
	unsigned threads;
	FILE *out;
	int err;

	if (argc < 4) {
		fprintf(stderr, "usage: html_gen SAMPLES THREADS OUT.html [OUT.pyisession]\n");
		return 2;
	}
	n = strtoull(argv[1], NULL, 10);
	threads = (unsigned)atoi(argv[2]);
	if (!threads || threads > MAX_THREADS)
		return 2;
	t0 = now_ms();
	s = build(n, threads);
	t1 = now_ms();
	out = fopen(argv[3], "w");
	if (!out || session_error(s))
		return 1;
	render_opts_init(&o);
	o.mode = "wall";
	err = render_html(s, &o, out);
	err = fclose(out) || err;
	t2 = now_ms();
	if (argc > 4 && session_save_path(s, argv[4], (char[256]){ 0 }, 256))
		err = 1;
	printf("%zu\t%u\t%.0f\t%.0f\n", n, threads, t1 - t0, t2 - t1);
	session__free(s);
	return err ? 1 : 0;
}
