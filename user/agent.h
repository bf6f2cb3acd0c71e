/* SPDX-License-Identifier: MIT */
/* pyinst-bpf agent: the privileged service behind the Python API (docs/python-api.md). */
#ifndef PYI_AGENT_H
#define PYI_AGENT_H

#define AGENT_DEFAULT_SOCKET "/run/pyinst-bpf.sock"

/* argv[0] is "agent". Returns the process exit status. */
int agent_main(int argc, char **argv);

#endif
