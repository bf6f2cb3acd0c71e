// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The sampler. A cpu-clock perf_event on every CPU (or on each target thread, inherited by the
 * threads it starts: PYI_PERF_PER_TASK=1) runs on_cpu_sample(); for a thread of a target
 * process it finds the thread's PyThreadState, walks the Python frame chain and sends the
 * frames (code object address, cookie, instruction offset) to user space on the ring buffer.
 * Code objects are described once per cache row (strings and line table read there, while the
 * object is alive), so names stay right when the object is freed later.
 *
 * The other program families are wall.bpf.c (wall mode's iterator) and procs.bpf.c (process
 * hooks); bpftool links the three objects into the one the skeleton embeds. The work is in the
 * helpers (*.bpf.h, one job each); the state user space sets and reads is in sampler.bpf.h, the
 * records it receives in include/pyinst_abi.h.
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
#include "wall.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* Per-task events: is this the one event that samples thread tid? */
static __always_inline bool samples_thread(struct bpf_perf_event_data *ctx, __u32 tid)
{
	struct bpf_perf_event_data_kern *kctx = bpf_cast_to_kern_ctx(ctx);
	struct perf_event *ev = BPF_CORE_READ(kctx, event), *root = BPF_CORE_READ(ev, parent);
	__u64 id = root ? BPF_CORE_READ(root, id) : BPF_CORE_READ(ev, id), *owner;

	owner = bpf_map_lookup_elem(&sampled_by, &tid);
	if (owner)
		return *owner == id;
	bpf_map_update_elem(&sampled_by, &tid, &id, BPF_NOEXIST);
	return true;
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid(), start, born, period = sample_period_ns, weight;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct wall_thread *wt;
	struct pyi_budget *b;
	__u64 take = 0;
	int rc = -1;

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
	if (per_task_events && (!samples_thread(ctx, tid) ||
				(sample_stride > 1 && bpf_get_prandom_u32() % sample_stride)))
		return 0;
	start = bpf_ktime_get_ns();
	if (stop_at_ns && start >= stop_at_ns)
		return 0;
	b = budget_open(start);
	if (!b)
		return 0;
	born = BPF_CORE_READ(task, start_time);
	/* wall mode: the sample's weight after the thread's debt, and its count (wall.bpf.h) */
	wt = settle_oncpu ? bpf_map_lookup_elem(&wall_threads, &tid) : NULL;
	if (wt && wt->start != born)
		wt = NULL;
	weight = wt ? oncpu_weight(wt, period, &take) : period;
	if (weight)
		rc = sample_thread(NULL, tgid, tid, BPF_CORE_READ(task, thread.fsbase), (__u32)born,
				   weight, 0, 0, bpf_get_smp_processor_id(), false, gil_only, 0);
	if (wt && (!weight || rc == 0 || rc == 1))
		oncpu_sent(wt, period, take);
	budget_close(b, start, 1);
	return 0;
}
