/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Why a thread of a target is off a CPU: stopped, runnable, or the system call it waits in. */
#ifndef PYINST_WAIT_BPF_H
#define PYINST_WAIT_BPF_H

#include "pyinst_abi.h"

/* x86-64 system call numbers */
#define NR_POLL 7
#define NR_SELECT 23
#define NR_NANOSLEEP 35
#define NR_FUTEX 202
#define NR_PSELECT6 270
#define NR_PPOLL 271

#define TASK_STOPPED_BITS 0xc	/* __TASK_STOPPED | __TASK_TRACED */

/* The reason a thread blocked in syscall nr (regs: its user registers) is not running. */
static __always_inline __u32 syscall_reason(struct pt_regs *regs, long nr,
					    const struct pyi_proc *p)
{
	__u64 arg0 = BPF_CORE_READ(regs, di), arg1 = BPF_CORE_READ(regs, si);

	if (nr < 0)
		return PYI_REASON_BLOCKED;
	/* futex(uaddr, ...) on the GIL's condition variable or mutex */
	if (nr == NR_FUTEX && arg0 >= p->gil_lo && arg0 < p->gil_hi)
		return PYI_REASON_GIL;
	/* select/poll on no descriptors is how CPython up to 3.10 implements time.sleep */
	if (((nr == NR_SELECT || nr == NR_PSELECT6) && arg0 == 0) ||
	    ((nr == NR_POLL || nr == NR_PPOLL) && arg1 == 0))
		return PYI_REASON_SYSCALL(NR_NANOSLEEP);
	return PYI_REASON_SYSCALL(nr);
}

/* Why task, off a CPU, is not running: stopped, runnable, or the syscall it blocks in. */
static __always_inline __u32 off_reason(struct task_struct *task, const struct pyi_proc *p)
{
	unsigned int state = BPF_CORE_READ(task, __state);
	struct pt_regs *regs;

	if (state & TASK_STOPPED_BITS)
		return PYI_REASON_STOPPED;
	if (state == 0)
		return PYI_REASON_PREEMPTED;	/* TASK_RUNNING: waiting for a CPU */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return PYI_REASON_BLOCKED;
	return syscall_reason(regs, BPF_CORE_READ(regs, orig_ax), p);
}


#endif /* PYINST_WAIT_BPF_H */
