// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Wall mode. User space runs wall_iter over each target's threads every few milliseconds (a
 * read() of an iterator fd): threads on a CPU are the perf_event program's, the others are read
 * from here, in the profiler's time, however long they have been blocked. Nothing runs in the
 * targets' context switches, so neither they nor other processes pay per switch.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "pyinst_abi.h"
#include "sampler.bpf.h"
#include "read.bpf.h"
#include "sample.bpf.h"
#include "wait.bpf.h"
#include "wall.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/*
 * One thread of a target. Its time off a CPU since it was last accounted is exact: the wall
 * time minus its run time, both read while it is off a CPU (a running thread's run time lags
 * by up to a tick, so it is accounted the next time it is seen off one). That time goes to the
 * stack it has now, with the reason it is not running; the stack is walked only if the thread
 * ran since its last walk (its switch counts moved), else user space counts its last one. Its
 * on-CPU time since it was last seen off a CPU is settled then (wall.bpf.h).
 */
SEC("iter.s/task")
int wall_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct wall_thread *wt, v = {};
	const struct pyi_proc *p;
	__u64 now, start, runtime, switches, fsbase, wall, ran, off, topup;
	__u32 tgid, tid, reason, mode = iter_mode;
	enum oncpu_shortfall shortfall;
	bool on_cpu;
	int rc;

	/* an exiting thread has no address space left to read */
	if (!task || task->exit_state || (task->flags & PF_EXITING) || !task->mm)
		return 0;
	tgid = task->tgid;
	tid = task->pid;
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return 0;
	now = bpf_ktime_get_ns();
	start = task->start_time;
	runtime = task->se.sum_exec_runtime;
	switches = task->nvcsw + task->nivcsw;
	on_cpu = task->on_cpu;
	fsbase = task->thread.fsbase;
	if (mode == PYI_ITER_DUMP) {
		reason = on_cpu ? PYI_REASON_ONCPU : off_reason(task, p);
		sample_thread(task, tgid, tid, fsbase, (__u32)start, 0, reason, PYI_SF_OFFCPU,
			      iter_slot, true, false, NO_RACE_CHECK);
		return 0;
	}
	wt = bpf_map_lookup_elem(&wall_threads, &tid);
	if (!wt || wt->start != start) {
		/* first sight: a thread born since the process became a target counts from its
		 * birth (it has run `runtime` since), an older one from now */
		v.start = start;
		v.last_ts = start > p->since_ns ? start : now;
		v.last_runtime = start > p->since_ns ? 0 : runtime;
		v.walk_switches = ~0ULL;
		v.settled_runtime = runtime;
		if (bpf_map_update_elem(&wall_threads, &tid, &v, BPF_ANY)) {
			count(&errors, PYI_ERR_THREADS_FULL);
			return 0;
		}
		wt = bpf_map_lookup_elem(&wall_threads, &tid);
		if (!wt)
			return 0;
	}
	/* updated in place: the perf_event program adds to its on-CPU fields meanwhile */
	if (on_cpu && mode != PYI_ITER_FINAL)
		return 0;
	wall = now > wt->last_ts ? now - wt->last_ts : 0;
	ran = runtime > wt->last_runtime ? runtime - wt->last_runtime : 0;
	off = wall > ran ? wall - ran : 0;
	wt->last_ts = now;
	wt->last_runtime = runtime;
	if (!off)
		return 0;
	reason = on_cpu ? PYI_REASON_PREEMPTED : off_reason(task, p);
	wt->reason = reason;
	/* unchanged since its last walk, or running (the session's end): that stack */
	if (!gil_only && wt->walked && (on_cpu || wt->walk_switches == switches)) {
		send_same(tgid, tid, (__u32)start, off, reason, PYI_SF_OFFCPU);
		/* a running thread's walked stack may be older than where it ran */
		shortfall = on_cpu ? SHORTFALL_CARRY : SHORTFALL_CHARGE;
	} else {
		rc = sample_thread(task, tgid, tid, fsbase, (__u32)start, off, reason,
				   PYI_SF_OFFCPU, iter_slot, false, gil_only, switches);
		/* a walk that raced with the thread is not one to count again */
		if (rc != 2) {
			wt->walked = rc == 0;
			wt->walk_switches = switches;
		}
		shortfall = rc == 0 ? SHORTFALL_CHARGE :
			    rc == 1 ? SHORTFALL_DROP : SHORTFALL_CARRY;
	}
	if (settle_oncpu) {
		topup = oncpu_settle(wt, runtime, shortfall);
		if (topup)
			send_same(tgid, tid, (__u32)start, topup, 0, 0);
	}
	return 0;
}
