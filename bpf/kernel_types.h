/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The kernel types the sampler uses, in place of a whole vmlinux.h: only the fields it reads,
 * declared by name. Every struct here is preserve_access_index, so clang emits a CO-RE
 * relocation for each field access and libbpf resolves it against the running kernel's BTF at
 * load: the offsets and the other fields of the real structs do not matter, and the build does
 * not depend on the build host's kernel. Reading a new kernel field means declaring it here.
 * The numbered constants are the kernel's stable UAPI values (include/uapi/linux/bpf.h).
 */
#ifndef PYINST_KERNEL_TYPES_H
#define PYINST_KERNEL_TYPES_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
/* named by bpf_helper_defs.h */
typedef __u32 __be32;
typedef __u16 __be16;
typedef __u32 __wsum;
typedef __u64 u64;
typedef int pid_t;
typedef _Bool bool;
enum { false = 0, true = 1 };

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,		/* bpf_map_update_elem: create or update */
	BPF_NOEXIST = 1,	/* ... create only */
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct thread_struct {
	unsigned long fsbase;
};

struct sched_entity {
	u64 sum_exec_runtime;
};

struct mm_struct;

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	int on_cpu;
	struct sched_entity se;
	struct mm_struct *mm;
	int exit_state;
	pid_t pid;
	pid_t tgid;
	unsigned long nvcsw;
	unsigned long nivcsw;
	u64 start_time;
	struct thread_struct thread;
};

/* x86-64 user registers: a blocked thread's system call number and first arguments */
struct pt_regs {
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
};

struct bpf_iter_meta;

struct bpf_iter__task {
	union {
		struct bpf_iter_meta *meta;
	};
	union {
		struct task_struct *task;
	};
};

struct bpf_perf_event_data;
struct linux_binprm;

/* per-task events: the event a sample comes from, and the one it was inherited from */
struct perf_event {
	struct perf_event *parent;
	u64 id;
};

struct bpf_perf_event_data_kern {
	struct perf_event *event;
};

#pragma clang attribute pop

#endif /* PYINST_KERNEL_TYPES_H */
