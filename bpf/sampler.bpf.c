// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The sampler's programs. A cpu-clock perf_event on every CPU runs on_cpu_sample(); for a
 * thread of a target process it finds the thread's PyThreadState, walks the Python frame chain
 * and sends the frames (code object address, cookie, instruction offset) to user space on the
 * ring buffer. Code objects are described once per cache row (strings and line table read
 * there, while the object is alive), so names stay right when the object is freed later.
 *
 * Process hooks (fork/exec/exit) keep the thread cache and the process table true.
 * Wall mode adds a sleepable task iterator that user space runs every few milliseconds: it
 * reads the threads that are off a CPU (time off, reason, stack) from the profiler's side.
 *
 * The work is in the helpers (*.bpf.h, one job each); the state user space sets and reads is
 * in sampler.bpf.h, the records it receives in include/pyinst_abi.h.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "pyinst_abi.h"
#include "sampler.bpf.h"
#include "read.bpf.h"
#include "budget.bpf.h"
#include "procs.bpf.h"
#include "sample.bpf.h"
#include "wait.bpf.h"
#include "wall.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid(), start;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct pyi_budget *b;

	if (!tgid)
		return 0;
	if (!is_interesting(tgid)) {
		if (discover_all || target_cgroup)
			maybe_discover(tgid);
		return 0;
	}
	/* a thread in do_exit runs no Python again, and once its memory is released every read
	 * fails: not a sample, and not a read failure either */
	if (BPF_CORE_READ(task, flags) & PF_EXITING)
		return 0;
	start = bpf_ktime_get_ns();
	if (stop_at_ns && start >= stop_at_ns)
		return 0;
	b = budget_open(start);
	if (!b)
		return 0;
	sample_thread(NULL, tgid, tid, BPF_CORE_READ(task, thread.fsbase),
		      (__u32)BPF_CORE_READ(task, start_time), sample_period_ns, 0, 0,
		      bpf_get_smp_processor_id(), false, gil_only, 0);
	budget_close(b, start, 1);
	return 0;
}

/* ---- wall mode: threads off a CPU ----------------------------------------------------------- */

/*
 * User space runs wall_iter over each target's threads every few milliseconds (a read() of an
 * iterator fd): threads on a CPU are the perf_event program's, the others are read from here,
 * in the profiler's time, however long they have been blocked. Nothing runs in the targets'
 * context switches, so neither they nor other processes pay per switch.
 */

/*
 * One thread of a target. Its time off a CPU since it was last accounted is exact: the wall
 * time minus its run time, both read while it is off a CPU (a running thread's run time lags
 * by up to a tick, so it is accounted the next time it is seen off one). That time goes to the
 * stack it has now, with the reason it is not running; the stack is walked only if the thread
 * ran since its last walk (its switch counts moved), else user space counts its last one.
 */
SEC("iter.s/task")
int wall_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct wall_thread *wt, v = {};
	const struct pyi_proc *p;
	__u64 now, start, runtime, switches, fsbase, wall, ran, off;
	__u32 tgid, tid, reason, mode = iter_mode;
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
	if (wt && wt->start == start) {
		v = *wt;
	} else {
		/* first sight: a thread born since the process became a target counts from its
		 * birth (it has run `runtime` since), an older one from now */
		v.start = start;
		v.last_ts = start > p->since_ns ? start : now;
		v.last_runtime = start > p->since_ns ? 0 : runtime;
		v.walk_switches = ~0ULL;
	}
	if (on_cpu && mode != PYI_ITER_FINAL) {
		if (!wt || wt->start != start)
			bpf_map_update_elem(&wall_threads, &tid, &v, BPF_ANY);
		return 0;
	}
	wall = now > v.last_ts ? now - v.last_ts : 0;
	ran = runtime > v.last_runtime ? runtime - v.last_runtime : 0;
	off = wall > ran ? wall - ran : 0;
	v.last_ts = now;
	v.last_runtime = runtime;
	if (off) {
		reason = on_cpu ? PYI_REASON_PREEMPTED : off_reason(task, p);
		v.reason = reason;
		/* unchanged since its last walk, or running (the session's end): that stack */
		if (!gil_only && v.walked && (on_cpu || v.walk_switches == switches)) {
			send_same(tgid, tid, (__u32)start, off, reason);
		} else {
			rc = sample_thread(task, tgid, tid, fsbase, (__u32)start, off, reason,
					   PYI_SF_OFFCPU, iter_slot, false, gil_only, switches);
			/* a walk that raced with the thread is not one to count again */
			if (rc != 2) {
				v.walked = rc == 0;
				v.walk_switches = switches;
			}
		}
	}
	if (bpf_map_update_elem(&wall_threads, &tid, &v, BPF_ANY))
		count(&errors, PYI_ERR_THREADS_FULL);
	return 0;
}

/* ---- processes ---------------------------------------------------------------------------- */

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
