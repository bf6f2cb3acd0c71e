/* SPDX-License-Identifier: MIT */
/* What /proc and the target's ELF files say about a process, and reads of its memory. */
#ifndef PYINST_PROC_H
#define PYINST_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_python {
	int pid;
	uint32_t version_hex;		/* PY_VERSION_HEX when known (3.11+ Py_Version), else 0 */
	int major, minor;		/* always set when found */
	bool free_threaded;
	char elf_path[PATH_MAX];	/* ELF holding the runtime, as the target sees it */
	char exe[PATH_MAX];		/* the target's executable, as it sees it */
	uint64_t bias;			/* load bias of elf_path */
	/* run-time addresses (bias applied), 0 when absent */
	uint64_t runtime;		/* _PyRuntime (3.7+) */
	uint64_t interp_head;		/* 3.6: the static interp_head */
	uint64_t code_type;		/* PyCode_Type */
	uint64_t type_type;		/* PyType_Type */
};

/*
 * Finds the CPython runtime of pid. Returns 0; -ESRCH no such process; -ENOEXEC not a Python
 * process; -EACCES not allowed; other -errno. err gets a one-line reason on failure.
 */
int proc_python_find(int pid, struct proc_python *out, char *err, size_t errlen);

/* Opens path as the process sees it: inside its root, never escaping it (RESOLVE_IN_ROOT). */
int proc_open_in_root(int pid, const char *path);

/* Reads the target's memory. Returns 0 or -errno. */
int proc_read(int pid, uint64_t addr, void *buf, size_t len);

bool proc_exists(int pid);
/* argv joined with spaces (control characters replaced). */
int proc_cmdline(int pid, char *buf, size_t len);
int proc_comm(int pid, int tid, char *buf, size_t len);
/* utime + stime of the whole process, in seconds. */
int proc_cpu_time(int pid, double *seconds);
/* The pid as seen in the process's innermost pid namespace (NSpid), or pid itself. */
int proc_ns_pid(int pid, int tid);
/* 1 if pid is in this process's pid namespace (its threads' ids are the same inside), 0 if
 * not, -errno when it cannot be told. */
int proc_same_pid_ns(int pid);
/* The process's live threads (/proc/PID/task), sorted, in *tids (the caller frees it): their
 * number, or -errno. */
int proc_tids(int pid, int **tids);
/* Whether tid is among the n that proc_tids gave. */
bool proc_tids_has(const int *tids, int n, int tid);

#endif
