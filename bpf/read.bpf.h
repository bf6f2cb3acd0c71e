/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Reading a target's memory: one thread's own, or another's from the iterator. */
#ifndef PYINST_READ_BPF_H
#define PYINST_READ_BPF_H

#include "pyinst_abi.h"

/* task_struct.flags: the task is in do_exit (include/linux/sched.h) */
#define PF_EXITING 0x00000004

/*
 * Reads the target's memory. task is NULL in the sampled thread's own context (perf_event,
 * tracepoints): its address space is the current one. The sleepable iterator passes the thread
 * it visits (another process's), which it may read however long it has been blocked.
 * Callers pass a constant NULL where task is not trusted, so that branch is dead there.
 */
static __always_inline long read_user(void *dst, __u32 len, struct task_struct *task,
				      const void *src)
{
	if (task)
		return bpf_copy_from_user_task(dst, len, src, task, 0);
	return bpf_probe_read_user(dst, len, src);
}

/*
 * The iterator reads a thread from another CPU: it may begin to exit during the reads, which
 * then fail with nothing lost (it runs no Python again). NULL (the current thread) never does
 * mid-sample: sample_thread's callers turned exiting ones away.
 */
static __always_inline bool exiting(struct task_struct *task)
{
	return task && (BPF_CORE_READ(task, flags) & PF_EXITING);
}

/*
 * Loads from a block read in one probe, at an offset that user space chose (CPython layout
 * tables). The bound is the block's constant size so the verifier can check it; user space
 * makes the read length cover every offset it uses.
 */
#define DEFINE_LOAD(type, name, block_size)						\
static __always_inline type name(const __u8 *block, __s32 off)				\
{											\
	if (off < 0 || off > (__s32)(block_size - sizeof(type)))			\
		return 0;								\
	return *(const type *)(block + off);						\
}

DEFINE_LOAD(__u64, frame_u64, PYI_FRAME_BLOCK)
DEFINE_LOAD(__s32, frame_s32, PYI_FRAME_BLOCK)
DEFINE_LOAD(__u8, frame_u8, PYI_FRAME_BLOCK)
DEFINE_LOAD(__u64, code_u64, PYI_CODE_BLOCK)
DEFINE_LOAD(__s32, code_s32, PYI_CODE_BLOCK)

#endif /* PYINST_READ_BPF_H */
