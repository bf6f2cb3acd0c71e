/* SPDX-License-Identifier: MIT */
/* The tree model: the processed call tree and its library-frame groups. */

/*
 * The aggregated tree after the frame-removal processors. A node is a distinct path of kept
 * frames, so stacks that differ only by removed frames (importlib, __tracebackhide__, [self])
 * share a node: that is remove_* + aggregate_repeated_calls + merge_consecutive_self_time.
 * A sample's weight is self time of the node its stack maps to.
 */
class Tree {
	constructor(prof, opts) {
		this.prof = prof;
		const nS = prof.sParent.length, nF = prof.fName.length;
		const removed = new Uint8Array(nF);
		for (let f = 0; f < nF; f++) {
			const flags = prof.fFlags[f];
			if (opts.removeImportlib && prof.file(f).includes('<frozen importlib._bootstrap')) removed[f] = 1;
			if (opts.removeTbhide && (flags & F_TBHIDE)) removed[f] = 1;
			if ((flags & F_SYNTHETIC) && prof.fName[f] === '[self]') removed[f] = 1;
		}
		let cap = nS + 1;
		let parent = new Int32Array(cap), frame = new Int32Array(cap), depth = new Int32Array(cap);
		parent[0] = -1; frame[0] = -1; depth[0] = 0;
		let n = 1;
		const ofStack = new Int32Array(nS);
		const index = new Map();
		for (let s = 0; s < nS; s++) {
			const ps = prof.sParent[s];
			const pn = ps < 0 ? 0 : ofStack[ps];
			const f = prof.sFrame[s];
			if (removed[f] && !(prof.fFlags[f] & (F_THREAD | F_PROCESS))) { ofStack[s] = pn; continue; }
			const key = pn * nF + f;
			let node = index.get(key);
			if (node === undefined) {
				node = n++;
				parent[node] = pn; frame[node] = f; depth[node] = depth[pn] + 1;
				index.set(key, node);
			}
			ofStack[s] = node;
		}
		this.n = n;
		this.parent = parent.subarray(0, n);
		this.frame = frame.subarray(0, n);
		this.depth = depth.subarray(0, n);
		this.ofStack = ofStack;
		/* Children in CSR form; the order is set by sortChildren(). */
		const start = new Int32Array(n + 1);
		for (let i = 1; i < n; i++) start[this.parent[i] + 1]++;
		for (let i = 0; i < n; i++) start[i + 1] += start[i];
		const fill = start.slice(0, n), kids = new Int32Array(Math.max(n - 1, 0));
		for (let i = 1; i < n; i++) kids[fill[this.parent[i]]++] = i;
		this.childStart = start;
		this.kids = kids;
		/* Application code per node; <string>/<stdin> inherit from the parent (root: app). */
		this.app = new Uint8Array(n);
		this.app[0] = 1;
		for (let i = 1; i < n; i++) {
			const r = prof.appRule(this.frame[i]);
			this.app[i] = r < 0 ? this.app[this.parent[i]] : r;
		}
		this.total = new Float64Array(n);
		this.self = new Float64Array(n);
	}

	/* Totals for the samples whose thread slot is selected, then children sorted by total. */
	computeTimes(selected, tasks) {
		const prof = this.prof, total = this.total, self = this.self;
		total.fill(0); self.fill(0);
		const st = prof.sampStack, w = prof.sampW, thr = prof.stackThread, none = prof.noThread;
		const inTask = prof.stackTask, want = tasks ? 1 : 0;
		for (let i = 0, n = st.length; i < n; i++) {
			const s = st[i], t = thr[s];
			if (!selected[t < 0 ? none : t] || inTask[s] !== want) continue;
			self[this.ofStack[s]] += w[i];
		}
		total.set(self);
		for (let i = this.n - 1; i > 0; i--) total[this.parent[i]] += total[i];
		const kids = this.kids, start = this.childStart;
		for (let i = 0; i < this.n; i++) {
			const a = start[i], b = start[i + 1];
			if (b - a > 1) {
				const seg = kids.subarray(a, b);
				seg.sort((x, y) => total[y] - total[x] || x - y);
			}
		}
	}

	/* Children with time, largest first. */
	children(node) {
		const out = [];
		for (let i = this.childStart[node], e = this.childStart[node + 1]; i < e; i++) {
			const c = this.kids[i];
			if (this.total[c] > 0) out.push(c);
		}
		return out;
	}

	/* The virtual root, or below it while there is a single process/thread, as pyinstrument does. */
	displayRoot() {
		let r = 0;
		for (;;) {
			if (r !== 0 && !(this.prof.fFlags[this.frame[r]] & F_PROCESS)) return r;
			const k = this.children(r);
			if (k.length !== 1 || this.self[r] > 0) return r;
			r = k[0];
		}
	}

	name(node) { return node === 0 ? '[root]' : this.prof.fName[this.frame[node]]; }
}

/* ------------------------------------------------------------------ library-frame groups */

/*
 * group_library_frames_processor and remove_useless_groups over the visible tree:
 * a hidden frame with a hidden child starts a group; hidden descendants along hidden paths join.
 */
function computeGroups(tree, root, visibleKids, hidden) {
	const groupOf = new Int32Array(tree.n).fill(-1);
	const groups = [];
	const add = (start, g) => {
		const todo = [start];
		while (todo.length) {
			const nd = todo.pop();
			groupOf[nd] = g.id;
			g.frames.push(nd);
			for (const c of visibleKids(nd)) if (hidden(c)) todo.push(c);
		}
	};
	const todo = [root];
	while (todo.length) {
		const nd = todo.pop();
		for (const c of visibleKids(nd)) {
			if (groupOf[c] < 0 && hidden(c) && visibleKids(c).some(hidden)) {
				const g = { id: groups.length, root: c, frames: [], exits: new Set(), libs: [] };
				groups.push(g);
				add(c, g);
			}
			todo.push(c);
		}
	}
	for (const g of groups) {
		if (g.frames.length < 3) { for (const f of g.frames) groupOf[f] = -1; g.dead = true; continue; }
		const libs = new Set();
		for (const f of g.frames) {
			if (visibleKids(f).some((c) => groupOf[c] !== g.id)) g.exits.add(f);
			if (f !== g.root) libs.add(tree.prof.library(tree.frame[f]));
		}
		g.libs = [...libs].filter(Boolean);
	}
	return { groupOf, groups };
}
