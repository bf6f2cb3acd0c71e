// SPDX-License-Identifier: MIT
/*
 * What a process is called in the backend: "service{service_name=...,host=...,pid=...}".
 * Everything read from the process (its environment, argv, cgroup) is hostile input: values
 * keep only characters that cannot break Pyroscope's name{k=v,...} syntax and are bounded.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"

#define ENVIRON_MAX (256 << 10)	/* environ blocks past this are cut: the names come early */

static bool value_char(unsigned char c)
{
	return isalnum(c) || strchr("._-/:@+", c);
}

size_t fleet_label_value(const char *in, size_t inlen, char *out, size_t len)
{
	size_t n = 0;

	if (!len)
		return 0;
	for (size_t i = 0; i < inlen && n + 1 < len && n + 1 < FLEET_LABEL_MAX; i++)
		out[n++] = value_char((unsigned char)in[i]) ? in[i] : '_';
	out[n] = '\0';
	return n;
}

static bool key_valid(const char *k, size_t n)
{
	if (!n || n > 64 || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
		return false;
	if (n >= 2 && k[0] == '_' && k[1] == '_')
		return false;	/* reserved for the backend (__name__) */
	for (size_t i = 1; i < n; i++) {
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return false;
	}
	return true;
}

int fleet_tag_valid(const char *kv, char *why, size_t whylen)
{
	const char *eq = strchr(kv, '=');
	size_t vlen;

	if (!eq) {
		snprintf(why, whylen, "expected KEY=VALUE");
		return -EINVAL;
	}
	if (!key_valid(kv, (size_t)(eq - kv))) {
		snprintf(why, whylen, "the key must match [A-Za-z_][A-Za-z0-9_]* (at most 64, "
			 "not starting with __)");
		return -EINVAL;
	}
	vlen = strlen(eq + 1);
	if (!vlen || vlen >= FLEET_LABEL_MAX) {
		snprintf(why, whylen, "the value must have 1 to %d characters", FLEET_LABEL_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < vlen; i++) {
		if (!value_char((unsigned char)eq[1 + i])) {
			snprintf(why, whylen, "the value may hold letters, digits and ._-/:@+ only");
			return -EINVAL;
		}
	}
	return 0;
}

/* The value of NAME= in a NUL-separated block, or NULL. */
static const char *env_get(const char *env, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < len;) {
		const char *e = env + i, *end = memchr(e, '\0', len - i);
		size_t elen = end ? (size_t)(end - e) : len - i;

		if (elen > nlen && !memcmp(e, name, nlen) && e[nlen] == '=') {
			*vlen = elen - nlen - 1;
			return e + nlen + 1;
		}
		i += elen + 1;
	}
	return NULL;
}

bool fleet_service_from_environ(const char *env, size_t len, char *out, size_t outlen)
{
	static const char *const names[] = { "OTEL_SERVICE_NAME", "PYROSCOPE_APPLICATION_NAME" };
	const char *v;
	size_t vlen;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = env_get(env, len, names[i], &vlen);
		if (v && vlen && fleet_label_value(v, vlen, out, outlen))
			return true;
	}
	return false;
}

static void set_base(const char *arg, size_t alen, bool strip_py, char *out, size_t outlen)
{
	const char *slash = memrchr(arg, '/', alen);

	if (slash) {
		alen -= (size_t)(slash + 1 - arg);
		arg = slash + 1;
	}
	if (strip_py && alen > 3 && !memcmp(arg + alen - 3, ".py", 3))
		alen -= 3;
	if (!fleet_label_value(arg, alen, out, outlen))
		snprintf(out, outlen, "python");
}

void fleet_service_from_argv(const char *argv, size_t len, char *out, size_t outlen)
{
	const char *args[64], *arg;
	size_t lens[64], n = 0, i;

	for (i = 0; i < len && n < 64;) {
		const char *end = memchr(argv + i, '\0', len - i);

		args[n] = argv + i;
		lens[n] = end ? (size_t)(end - (argv + i)) : len - i;
		i += lens[n++] + 1;
	}
	snprintf(out, outlen, "python");
	if (!n)
		return;
	for (i = 1; i < n; i++) {
		arg = args[i];
		if (lens[i] == 2 && !memcmp(arg, "-m", 2) && i + 1 < n) {
			fleet_label_value(args[i + 1], lens[i + 1], out, outlen);
			return;
		}
		if (lens[i] >= 2 && !memcmp(arg, "-m", 2)) {	/* -mmodule */
			fleet_label_value(arg + 2, lens[i] - 2, out, outlen);
			return;
		}
		if (lens[i] >= 2 && !memcmp(arg, "-c", 2))
			break;
		if (lens[i] == 2 && (!memcmp(arg, "-W", 2) || !memcmp(arg, "-X", 2))) {
			i++;	/* the option's argument */
			continue;
		}
		if (lens[i] && arg[0] != '-') {
			set_base(arg, lens[i], true, out, outlen);
			return;
		}
	}
	set_base(args[0], lens[0], false, out, outlen);
}

static size_t hex_run(const char *p)
{
	size_t n = 0;

	while (isxdigit((unsigned char)p[n]) && !isupper((unsigned char)p[n]))
		n++;
	return n;
}

void fleet_ids_from_cgroup(const char *text, char *container, size_t clen, char *pod,
			   size_t plen)
{
	const char *p;

	container[0] = pod[0] = '\0';
	for (p = text; *p; p++) {
		size_t n;

		if (!isxdigit((unsigned char)*p) || (p > text && isxdigit((unsigned char)p[-1])))
			continue;
		n = hex_run(p);
		/* docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>, .../docker/<id> */
		if (n == 64)
			fleet_label_value(p, 64, container, clen);
		p += n ? n - 1 : 0;
	}
	/* kubepods...-pod<uid>.slice (underscores for dashes) or .../pod<uid>/ */
	for (p = strstr(text, "pod"); p; p = strstr(p + 3, "pod")) {
		const char *u = p + 3;
		size_t n = 0;

		while (n < 36 && (isxdigit((unsigned char)u[n]) || u[n] == '-' || u[n] == '_'))
			n++;
		if (n == 36 && (u[8] == '-' || u[8] == '_')) {
			fleet_label_value(u, 36, pod, plen);
			for (char *c = pod; *c; c++)
				*c = *c == '_' ? '-' : *c;
		}
	}
}

/* Reads at most max bytes of /proc/PID/<what> into a malloc'd buffer. */
static char *read_proc(int pid, const char *what, size_t max, size_t *len)
{
	char path[64], *buf;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	*len = 0;
	while (buf && *len < max && (n = read(fd, buf + *len, max - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static bool has_tag(const struct fleet_opts *o, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; i < o->ntags; i++) {
		if (!strncmp(o->tags[i], key, k) && o->tags[i][k] == '=')
			return true;
	}
	return false;
}

int fleet_process_labels(int pid, int py_major, int py_minor, const struct fleet_opts *o,
			 char *out, size_t len)
{
	char service[FLEET_LABEL_MAX] = "", host[FLEET_LABEL_MAX], raw_host[256] = "";
	char container[FLEET_LABEL_MAX], pod[FLEET_LABEL_MAX];
	const char *svc = service;
	size_t n = 0, blen;
	char *buf;

	buf = read_proc(pid, "environ", ENVIRON_MAX, &blen);
	if (!buf || !fleet_service_from_environ(buf, blen, service, sizeof(service))) {
		free(buf);
		buf = read_proc(pid, "cmdline", 4096, &blen);
		fleet_service_from_argv(buf ? buf : "", buf ? blen : 0, service, sizeof(service));
	}
	free(buf);
	buf = read_proc(pid, "cgroup", 8192, &blen);
	fleet_ids_from_cgroup(buf ? buf : "", container, sizeof(container), pod, sizeof(pod));
	free(buf);
	gethostname(raw_host, sizeof(raw_host) - 1);
	fleet_label_value(raw_host, strlen(raw_host), host, sizeof(host));

#define ADD(...) (n += (size_t)snprintf(out + n, n < len ? len - n : 0, __VA_ARGS__))
	/* --tag service_name=X names every process X: the application name follows it */
	for (size_t i = 0; i < o->ntags; i++) {
		if (!strncmp(o->tags[i], "service_name=", 13))
			svc = o->tags[i] + 13;
	}
	ADD("%s{", svc);
	if (!has_tag(o, "service_name"))
		ADD("service_name=%s,", service);
	if (!has_tag(o, "host"))
		ADD("host=%s,", host[0] ? host : "unknown");
	if (!has_tag(o, "pid"))
		ADD("pid=%d,", pid);
	if (py_major && !has_tag(o, "python_version"))
		ADD("python_version=%d.%d,", py_major, py_minor);
	if (container[0] && !has_tag(o, "container_id"))
		ADD("container_id=%s,", container);
	if (pod[0] && !has_tag(o, "pod_uid"))
		ADD("pod_uid=%s,", pod);
	for (size_t i = 0; i < o->ntags; i++)
		ADD("%s,", o->tags[i]);
	if (n && n <= len && out[n - 1] == ',')
		n--;
	ADD("}");
#undef ADD
	return n < len ? 0 : -ENAMETOOLONG;
}
