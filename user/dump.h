/* SPDX-License-Identifier: MIT */
/* pyinst-bpf dump: every thread's current Python stack, once (py-spy dump's job). */
#ifndef PYINST_DUMP_H
#define PYINST_DUMP_H

/* `pyinst-bpf dump ARGS...` (argv[0] is "dump"). Returns the exit status. */
int dump_main(int argc, char **argv);

#endif
