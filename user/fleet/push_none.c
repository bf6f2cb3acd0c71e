// SPDX-License-Identifier: MIT
/* A build without libcurl (-Dpush=disabled, or a static build): --push says so up front. */
#include <errno.h>
#include <stdio.h>

#include "fleet.h"

int push_url_check(const char *url, char *err, size_t errlen)
{
	snprintf(err, errlen, "--push %s: this pyinst-bpf was built without libcurl, so it cannot "
		 "push (use --output-dir, or the build with push; see README)", url);
	return -ENOTSUP;
}

int push_query(char *out, size_t len, const char *name, double from, double until,
	       double interval)
{
	return -ENOTSUP;
}

struct pusher *pusher__new(const struct fleet_opts *o, struct spool *sp, char *err,
			   size_t errlen)
{
	snprintf(err, errlen, "this build cannot push");
	return NULL;
}

void pusher__free(struct pusher *p, double timeout_s)
{
}
