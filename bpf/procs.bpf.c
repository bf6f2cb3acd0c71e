// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Process hooks: forks of followed processes are followed, an exec drops what the kernel knew
 * of the old image, an exit clears the thread cache and the process table (and, in wall mode,
 * accounts the exiting thread's last wait).
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "pyinst_abi.h"
#include "sampler.bpf.h"
#include "procs.bpf.h"
#include "wall.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid, one = 1;

	if (ptgid == ctgid || !is_interesting(ptgid) || !bpf_map_lookup_elem(&follow, &ptgid))
		return 0;
	if (bpf_map_update_elem(&follow, &ctgid, &one, BPF_ANY)) {
		count(&errors, PYI_ERR_PROCS_FULL);
		return 0;
	}
	mark_interesting(ctgid);
	send_proc_event(PYI_PROC_FORK, ctgid, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct thread_key key = { .pid = p->tgid, .tid = p->pid };
	__u32 tgid = p->tgid;

	if (!is_interesting(tgid))
		return 0;
	/* the old address space is gone: no sample may read it with the old layout */
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&threads, &key);
	/* a new image: its time counts from when it becomes a target again */
	bpf_map_delete_elem(&wall_threads, &key.tid);
	send_proc_event(PYI_PROC_EXEC, tgid, 0);
	return 0;
}
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	struct thread_key key = { .pid = p->tgid, .tid = p->pid };
	__u32 tgid = p->tgid;

	if (!is_interesting(tgid))
		return 0;
	bpf_map_delete_elem(&threads, &key);
	flush_exiting(p);
	bpf_map_delete_elem(&wall_threads, &key.tid);
	bpf_map_delete_elem(&sampled_by, &key.tid);
	if (group_dead) {
		bpf_map_delete_elem(&procs, &tgid);
		/* the pid may be reused by anyone: not followed, not interesting, asked anew;
		 * forgotten here, in order with a fork that reuses it */
		bpf_map_delete_elem(&follow, &tgid);
		bpf_map_delete_elem(&asked, &tgid);
		unmark_interesting(tgid);
		send_proc_event(PYI_PROC_EXIT, tgid, 0);
	}
	return 0;
}
