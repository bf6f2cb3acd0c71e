// SPDX-License-Identifier: MIT
/* --container: an id names a container's own cgroup, never a parent slice that holds its text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cgroup.h"

#define ID "3f2a9c0b7d1e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"

static void expect(const char *path, const char *id, const char *want)
{
	size_t end = 0;
	int hit = cgroup_path_names_container(path, id, &end);

	if (!want) {
		assert_int_equal(hit, 0);
		return;
	}
	assert_int_equal(hit, 1);
	assert_int_equal(end, strlen(want));
	assert_memory_equal(path, want, end);
}

static void test_cgroup_container_runtimes(void **state)
{
	(void)state;
	expect("/system.slice/docker-" ID ".scope", "3f2a9c", "/system.slice/docker-" ID ".scope");
	expect("/docker/" ID, "3f2a9c0b", "/docker/" ID);
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c_3d4e.slice/"
	       "cri-containerd-" ID ".scope/init", ID,
	       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c_3d4e.slice/"
	       "cri-containerd-" ID ".scope");
	expect("/machine.slice/libpod-" ID ".scope/container", "3F2A9C",
	       "/machine.slice/libpod-" ID ".scope");
}

static void test_cgroup_container_not_a_substring(void **state)
{
	(void)state;
	/* the id's text inside a parent slice's name, or in the middle of an id */
	expect("/user.slice/user-3f2a9c.slice/session-4.scope", "3f2a9c", NULL);
	expect("/system.slice/docker-" ID ".scope", "2a9c0b7d", NULL);
	expect("/system.slice/app3f2a9c0b7d1e4f.service", "3f2a9c", NULL);
	expect("/machine.slice/libpod-conmon-" ID ".scope", "3f2a9c", NULL);
	expect("/system.slice/docker-" ID ".scope", ID "0", NULL);	/* longer than the id */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_container_runtimes),
		cmocka_unit_test(test_cgroup_container_not_a_substring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
