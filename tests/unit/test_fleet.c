// SPDX-License-Identifier: MIT
/* Continuous mode's pure parts: labels from hostile process data, --tag, the spool's caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleet.h"

static void test_tags(void **state)
{
	char why[160];

	assert_int_equal(fleet_tag_valid("env=prod", why, sizeof(why)), 0);
	assert_int_equal(fleet_tag_valid("_x1=a.b-c/d:e@f+g", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("env", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("=x", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("1env=x", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("__name__=x", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("bad key=x", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("env=", why, sizeof(why)), 0);
	/* what would break name{k=v,...} */
	assert_int_not_equal(fleet_tag_valid("k=a,b", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("k=a}", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("k=a=b", why, sizeof(why)), 0);
	assert_int_not_equal(fleet_tag_valid("k=a\nb", why, sizeof(why)), 0);
}

static void test_label_value(void **state)
{
	char out[FLEET_LABEL_MAX + 10], big[400];

	fleet_label_value("a{b},c=d\"e\x1b", 11, out, sizeof(out));
	assert_string_equal(out, "a_b__c_d_e_");
	memset(big, 'x', sizeof(big));
	assert_int_equal(fleet_label_value(big, sizeof(big), out, sizeof(out)),
			 FLEET_LABEL_MAX - 1);
}

static void test_service_from_environ(void **state)
{
	static const char env[] = "PATH=/bin\0PYROSCOPE_APPLICATION_NAME=pyro\0"
				  "OTEL_SERVICE_NAME=otel{x}\0";
	static const char only_pyro[] = "PYROSCOPE_APPLICATION_NAME=pyro\0HOME=/";
	static const char neither[] = "OTEL_SERVICE_NAME=\0X=1";
	char out[FLEET_LABEL_MAX];

	assert_true(fleet_service_from_environ(env, sizeof(env) - 1, out, sizeof(out)));
	assert_string_equal(out, "otel_x_");
	assert_true(fleet_service_from_environ(only_pyro, sizeof(only_pyro) - 1, out, sizeof(out)));
	assert_string_equal(out, "pyro");
	assert_false(fleet_service_from_environ(neither, sizeof(neither) - 1, out, sizeof(out)));
	/* a block cut in the middle of a variable */
	assert_false(fleet_service_from_environ("OTEL_SERVICE_NA", 15, out, sizeof(out)));
}

static void test_service_from_argv(void **state)
{
	char out[FLEET_LABEL_MAX];

#define ARGV(s) s, sizeof(s) - 1
	fleet_service_from_argv(ARGV("/usr/bin/python3\0/srv/app/worker.py\0--x"), out,
				sizeof(out));
	assert_string_equal(out, "worker");
	fleet_service_from_argv(ARGV("python3\0-u\0-X\0dev\0-m\0celery\0worker"), out, sizeof(out));
	assert_string_equal(out, "celery");
	fleet_service_from_argv(ARGV("python3\0-mhttp.server"), out, sizeof(out));
	assert_string_equal(out, "http.server");
	fleet_service_from_argv(ARGV("/usr/local/bin/gunicorn\0app:wsgi"), out, sizeof(out));
	assert_string_equal(out, "app:wsgi");
	fleet_service_from_argv(ARGV("/opt/py/bin/python3.12\0-c\0print(1)"), out, sizeof(out));
	assert_string_equal(out, "python3.12");
	fleet_service_from_argv("", 0, out, sizeof(out));
	assert_string_equal(out, "python");
#undef ARGV
}

static void test_cgroup_ids(void **state)
{
	char c[FLEET_LABEL_MAX], p[FLEET_LABEL_MAX];
	const char *id = "4f3c2b1a0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a";
	char text[512];

	snprintf(text, sizeof(text), "0::/kubepods.slice/kubepods-burstable.slice/"
		 "kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/"
		 "cri-containerd-%s.scope\n", id);
	fleet_ids_from_cgroup(text, c, sizeof(c), p, sizeof(p));
	assert_string_equal(c, id);
	assert_string_equal(p, "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
	snprintf(text, sizeof(text), "0::/system.slice/docker-%s.scope\n", id);
	fleet_ids_from_cgroup(text, c, sizeof(c), p, sizeof(p));
	assert_string_equal(c, id);
	assert_string_equal(p, "");
	fleet_ids_from_cgroup("0::/user.slice/user-0.slice/session-1.scope\n", c, sizeof(c), p,
			      sizeof(p));
	assert_string_equal(c, "");
	assert_string_equal(p, "");
	/* 65 hex digits are not an id */
	snprintf(text, sizeof(text), "0::/x/%sa\n", id);
	fleet_ids_from_cgroup(text, c, sizeof(c), p, sizeof(p));
	assert_string_equal(c, "");
}

static void test_query(void **state)
{
	char q[512];

	assert_int_equal(push_query(q, sizeof(q), "svc{service_name=svc,pid=7}", 1700000000.9,
				    1700000015.2, 0.01), 0);
	assert_string_equal(q, "name=svc%7Bservice_name%3Dsvc%2Cpid%3D7%7D&from=1700000000"
			       "&until=1700000015&format=pprof&sampleRate=100&spyName=pyinst-bpf");
	assert_int_not_equal(push_query(q, 20, "svc{service_name=svc}", 1, 2, 0.01), 0);
}

static char *tmp_dir(void)
{
	char *d = strdup("/tmp/pyi-spool-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

/* Memory first, then disk up to its cap, then dropped and counted; oldest out first. */
static void test_spool_caps_and_order(void **state)
{
	char *dir = tmp_dir(), err[256], q[32], path[300];
	uint8_t body[1000];
	struct spool_stats st;
	struct spool_item *it;
	struct spool *sp;
	int i, dropped = 0;

	snprintf(path, sizeof(path), "%s/spool", dir);
	memset(body, 7, sizeof(body));
	sp = spool__new(3000, path, 4000, err, sizeof(err));
	assert_non_null(sp);
	for (i = 0; i < 10; i++) {
		snprintf(q, sizeof(q), "n=%d", i);
		if (spool_put(sp, q, body, sizeof(body)))
			dropped++;
	}
	spool_stats(sp, &st);
	/* 2 in memory (item overhead included), 3 on disk, the rest dropped */
	assert_int_equal(st.dropped, (uint64_t)dropped);
	assert_true(dropped >= 4 && dropped <= 6);
	assert_true(st.mem_bytes <= 3000 && st.disk_bytes <= 4000);
	for (i = 0; (it = spool_get(sp, 0)); i++) {
		char want[32];

		/* a failed send goes back to the front: the next get returns it again */
		if (i == 1) {
			spool_done(sp, it, false, false);
			it = spool_get(sp, 0);
		}
		snprintf(want, sizeof(want), "n=%d", i);
		assert_string_equal(it->query, want);
		assert_int_equal(it->len, sizeof(body));
		spool_done(sp, it, true, false);
	}
	assert_int_equal(i, 10 - dropped);
	spool_stats(sp, &st);
	assert_int_equal(st.mem_bytes, 0);
	assert_int_equal(st.disk_bytes, 0);
	spool__free(sp);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(dir);
}

/* What is left at exit is on disk for the next run, which sends it first. */
static void test_spool_persist_and_reload(void **state)
{
	char *dir = tmp_dir(), err[256], path[300];
	struct spool_item *it;
	struct spool *sp;

	snprintf(path, sizeof(path), "%s/spool", dir);
	sp = spool__new(1 << 20, path, 1 << 20, err, sizeof(err));
	assert_int_equal(spool_put(sp, "n=a", (const uint8_t *)"AAAA", 4), 0);
	assert_int_equal(spool_put(sp, "n=b", (const uint8_t *)"BB\nB", 4), 0);
	assert_int_equal(spool_persist(sp), 2);
	spool__free(sp);
	sp = spool__new(1 << 20, path, 1 << 20, err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_put(sp, "n=c", (const uint8_t *)"C", 1), 0);
	it = spool_get(sp, 0);
	assert_string_equal(it->query, "n=a");
	assert_memory_equal(it->body, "AAAA", 4);
	spool_done(sp, it, true, false);
	it = spool_get(sp, 0);
	assert_string_equal(it->query, "n=b");
	assert_memory_equal(it->body, "BB\nB", 4);
	spool_done(sp, it, true, false);
	it = spool_get(sp, 0);
	assert_string_equal(it->query, "n=c");
	spool_done(sp, it, true, false);
	assert_null(spool_get(sp, 0));
	spool__free(sp);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(dir);
}

/* A spool directory that is a symlink, or open to others, is refused. */
static void test_spool_dir_checks(void **state)
{
	char *dir = tmp_dir(), err[256], path[300], link[300];
	struct spool *sp;

	snprintf(path, sizeof(path), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(symlink(path, link), 0);
	assert_null(spool__new(1024, link, 1024, err, sizeof(err)));
	assert_non_null(strstr(err, "symlink"));
	assert_int_equal(chmod(path, 0777), 0);
	assert_null(spool__new(1024, path, 1024, err, sizeof(err)));
	assert_non_null(strstr(err, "writable by others"));
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(dir);
	(void)sp;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_label_value),
		cmocka_unit_test(test_service_from_environ),
		cmocka_unit_test(test_service_from_argv),
		cmocka_unit_test(test_cgroup_ids),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_spool_caps_and_order),
		cmocka_unit_test(test_spool_persist_and_reload),
		cmocka_unit_test(test_spool_dir_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
