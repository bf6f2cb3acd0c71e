/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Which processes the sampler looks at (the pid bitmap user space shares), and what it tells
 * user space about processes: forks, execs and exits of targets, and unknown processes to look
 * at under --cgroup / --all.
 */
#ifndef PYINST_PROCS_BPF_H
#define PYINST_PROCS_BPF_H

#include "sampler.bpf.h"

static __always_inline bool is_interesting(__u32 tgid)
{
	return pid_bitmap[(tgid >> 6) & (PYI_PID_BITMAP / 64 - 1)] & (1ULL << (tgid & 63));
}

static __always_inline void mark_interesting(__u32 tgid)
{
	__sync_fetch_and_or(&pid_bitmap[(tgid >> 6) & (PYI_PID_BITMAP / 64 - 1)],
			    1ULL << (tgid & 63));
}

static __always_inline void unmark_interesting(__u32 tgid)
{
	__sync_fetch_and_and(&pid_bitmap[(tgid >> 6) & (PYI_PID_BITMAP / 64 - 1)],
			     ~(1ULL << (tgid & 63)));
}

static __always_inline void send_proc_event(__u32 kind, __u32 pid, __u32 ppid)
{
	struct pyi_proc_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(&errors, PYI_ERR_RINGBUF);
		return;
	}
	ev->type = PYI_REC_PROC;
	ev->kind = kind;
	ev->pid = pid;
	ev->ppid = ppid;
	/* rare, and user space should look at a new process at once */
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
}

/*
 * --cgroup / --all: a process running on a CPU that user space has not looked at. Whether it is
 * Python is for user space to say; the kernel only filters by cgroup and asks once a second.
 */
static __always_inline void maybe_discover(__u32 tgid)
{
	__u64 now, *last;

	if (!discover_all &&
	    (!target_cgroup ||
	     bpf_get_current_ancestor_cgroup_id(target_cgroup_level) != target_cgroup))
		return;
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&asked, &tgid);
	if (last && now - *last < REDISCOVER_NS)
		return;
	bpf_map_update_elem(&asked, &tgid, &now, BPF_ANY);
	send_proc_event(PYI_PROC_DISCOVER, tgid, 0);
}

#endif /* PYINST_PROCS_BPF_H */
