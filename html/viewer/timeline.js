/* SPDX-License-Identifier: MIT */
/* The timeline view: a flame chart per thread over time, on a canvas. */

/*
 * Spans per lane (thread) and depth, built from the time-ordered samples: consecutive samples
 * of a thread that share a path prefix extend the same spans. [self] is not a span.
 */
function buildSpans(tree, prof, slots) {
	const nT = prof.threads.length;
	const laneOf = new Int32Array(nT + 1).fill(-1);
	const lanes = [];
	prof.threads.forEach((t, i) => {
		if (!slots[i]) return;
		const base = t.prefix >= 0 && t.prefix < tree.ofStack.length ? tree.depth[tree.ofStack[t.prefix]] : 1;
		laneOf[i] = lanes.length;
		lanes.push({ label: t.name + threadIds(t), base, maxDepth: 0, prev: -1, prevEnd: 0, open: [] });
	});
	if (slots[nT]) { laneOf[nT] = lanes.length; lanes.push({ label: 'other samples', base: 1, maxDepth: 0, prev: -1, prevEnd: 0, open: [] }); }
	let cap = 1 << 16, n = 0;
	let sStart = new Float64Array(cap), sEnd = new Float64Array(cap), sNode = new Int32Array(cap);
	let sLane = new Int32Array(cap), sDepth = new Int32Array(cap);
	const emit = (lane, start, end, node, d) => {
		if (n === cap) {
			cap *= 2;
			sStart = growFloat64(sStart, cap); sEnd = growFloat64(sEnd, cap); sNode = growInt32(sNode, cap);
			sLane = growInt32(sLane, cap); sDepth = growInt32(sDepth, cap);
		}
		sStart[n] = start; sEnd[n] = end; sNode[n] = node; sLane[n] = lane; sDepth[n] = d; n++;
	};
	const par = tree.parent, dep = tree.depth;
	const closeTo = (L, li, keep) => {
		/* close open spans deeper than 'keep' (absolute depth) */
		while (L.open.length && dep[L.open[L.open.length - 1][0]] > keep) {
			const [nd, start] = L.open.pop();
			emit(li, start, L.prevEnd, nd, dep[nd] - L.base);
		}
	};
	const tol = prof.interval * 1.01;
	const st = prof.sampStack, W = prof.sampW, T = prof.sampT, thr = prof.stackThread;
	for (let i = 0, ns = st.length; i < ns; i++) {
		const s = st[i], th = thr[s];
		const li = laneOf[th < 0 ? nT : th];
		if (li < 0) continue;
		const L = lanes[li];
		L.count = (L.count || 0) + 1;
		const node = tree.ofStack[s], t = T[i];
		let a = L.prev;
		if (a >= 0 && t - L.prevEnd > tol) { closeTo(L, li, -1); a = -1; }
		let b = node;
		let common = -1;
		if (a >= 0) {
			let x = a, y = b;
			while (dep[x] > dep[y]) x = par[x];
			while (dep[y] > dep[x]) y = par[y];
			while (x !== y) { x = par[x]; y = par[y]; }
			common = x;
		}
		closeTo(L, li, common < 0 ? -1 : dep[common]);
		const path = [];
		for (let x = b; x > 0 && x !== common && dep[x] >= L.base; x = par[x]) path.push(x);
		for (let k = path.length - 1; k >= 0; k--) L.open.push([path[k], t]);
		const d = dep[b] - L.base;
		if (d > L.maxDepth) L.maxDepth = d;
		L.prev = node;
		L.prevEnd = t + W[i];
	}
	lanes.forEach((L, li) => closeTo(L, li, -1));
	/* The lane of samples outside any thread only when there are some. */
	lanes.forEach((L) => { L.hidden = !L.count && lanes.length > 1; });
	/* Bucket by (lane, depth); within a bucket spans close in start order already. */
	let rows = 0;
	for (const L of lanes) { L.row0 = rows; rows += L.maxDepth + 1; }
	const bStart = new Int32Array(rows + 1);
	for (let i = 0; i < n; i++) bStart[lanes[sLane[i]].row0 + sDepth[i] + 1]++;
	for (let r = 0; r < rows; r++) bStart[r + 1] += bStart[r];
	const fill = bStart.slice(0, rows), order = new Int32Array(n);
	for (let i = 0; i < n; i++) order[fill[lanes[sLane[i]].row0 + sDepth[i]]++] = i;
	const start = new Float64Array(n), end = new Float64Array(n), nodes = new Int32Array(n);
	for (let k = 0; k < n; k++) { const i = order[k]; start[k] = sStart[i]; end[k] = sEnd[i]; nodes[k] = sNode[i]; }
	/* Per bucket, the running maximum of end times, for a binary search on visible spans. */
	return { lanes, rows, bStart, start, end, nodes, count: n };
}

class TimelineView {
	constructor(app) {
		this.app = app;
		this.elem = el('section', 'pyi-view pyi-timeline-view');
		const bar = el('div', 'pyi-view-bar');
		const reset = el('button', 'pyi-reset', 'Reset zoom');
		reset.type = 'button';
		reset.addEventListener('click', () => { this.t0 = 0; this.t1 = this.span(); this.scrollY = 0; this.draw(); });
		bar.append(reset, el('span', 'pyi-help', 'Wheel zooms, Shift+wheel or drag pans.'));
		this.canvas = el('canvas', 'pyi-canvas');
		this.canvas.tabIndex = 0;
		this.canvas.setAttribute('aria-label', 'Timeline');
		this.elem.append(bar, this.canvas);
		this.hits = new HitList();
		this.t0 = 0; this.t1 = 0; this.scrollY = 0;
		this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
		this.canvas.addEventListener('mousedown', (e) => this.onDown(e));
		this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
		this.canvas.addEventListener('mouseleave', () => app.hideTooltip());
		this.canvas.addEventListener('keydown', (e) => this.onKey(e));
		window.addEventListener('mouseup', () => { this.drag = null; });
		window.addEventListener('mousemove', (e) => this.onDrag(e));
	}

	span() { return Math.max(this.app.prof.endTime, this.app.prof.meta.duration || 0, 1e-6); }

	/* Zoom stops where one timeline bucket fills the view. */
	minRange() { return Math.max(1e-7, this.app.prof.resolution); }

	draw() {
		if (this.elem.hidden) return;
		const app = this.app, tree = app.getTree(), prof = app.prof;
		const key = app.treeVersion + ':' + app.timesVersion;
		if (this.key !== key) {
			this.key = key;
			this.data = buildSpans(tree, prof, app.slots);
			this.t0 = 0; this.t1 = this.span(); this.scrollY = 0;
		}
		this.tree = tree;
		this.paint();
	}

	paint() {
		if (this.pending) return;
		this.pending = true;
		requestAnimationFrame(() => { this.pending = false; this.paintNow(); });
	}

	paintNow() {
		const app = this.app, tree = this.tree, D = this.data;
		const { ctx, w, h } = setupCanvas(this.canvas);
		this.w = w;
		ctx.fillStyle = '#1d1f22';
		ctx.fillRect(0, 0, w, h);
		this.hits.clear();
		const AXIS = 22, LANE_H = 20;
		const t0 = this.t0, t1 = this.t1, scale = w / (t1 - t0);
		const searching = !!app.match;
		let y0 = AXIS - this.scrollY;
		let content = 0;
		for (const L of D.lanes) if (!L.hidden) content += LANE_H + (L.maxDepth + 1) * CH + 6;
		this.maxScroll = Math.max(0, content - (h - AXIS));
		for (const L of D.lanes) {
			if (L.hidden) continue;
			if (y0 + LANE_H > AXIS && y0 < h) {
				ctx.fillStyle = '#2a2d31';
				ctx.fillRect(0, y0, w, LANE_H - 2);
				ctx.fillStyle = '#cfd3d8';
				ctx.fillText(fitText(ctx, L.label, w), 6, y0 + LANE_H / 2);
			}
			y0 += LANE_H;
			for (let d = 0; d <= L.maxDepth; d++, y0 += CH) {
				if (y0 + CH < AXIS || y0 > h) continue;
				const r = L.row0 + d;
				let lo = D.bStart[r], hi = D.bStart[r + 1];
				/* first span ending after t0 (ends ascend within a bucket) */
				let a = lo, b = hi;
				while (a < b) { const m = (a + b) >> 1; if (D.end[m] <= t0) a = m + 1; else b = m; }
				let lastPx = -1;
				for (let k = a; k < hi && D.start[k] < t1; k++) {
					const x = (D.start[k] - t0) * scale, xe = (D.end[k] - t0) * scale;
					const bw = xe - x;
					const nd = D.nodes[k];
					if (bw < 1) {
						const px = Math.floor(x);
						if (px === lastPx) {
							/* Skip to the first span that reaches the next pixel column (ends ascend too). */
							const next = t0 + (px + 1) / scale;
							let lo2 = k + 1, hi2 = hi;
							while (lo2 < hi2) { const m = (lo2 + hi2) >> 1; if (D.end[m] < next) lo2 = m + 1; else hi2 = m; }
							k = lo2 - 1;
							continue;
						}
						lastPx = px;
					}
					const hit = app.isMatch(nd);
					drawBox(ctx, x, y0, bw, CH, app.colorFor(nd, searching && !hit), tree.name(nd), hit && bw >= 4);
					if (hit && bw < 4) { ctx.fillStyle = '#ffe14d'; ctx.fillRect(x, y0, Math.max(bw, 1), CH - 1); }
					this.hits.push(x, y0, bw, nd, k);
				}
			}
			y0 += 6;
		}
		this.drawAxis(ctx, w, AXIS, t0, t1);
		app.markDrawn();
	}

	drawAxis(ctx, w, hAxis, t0, t1) {
		ctx.fillStyle = '#16181a';
		ctx.fillRect(0, 0, w, hAxis);
		const range = t1 - t0;
		const raw = range / Math.max(1, w / 110);
		const p = Math.pow(10, Math.floor(Math.log10(raw)));
		const step = raw / p < 2 ? 2 * p : raw / p < 5 ? 5 * p : 10 * p;
		const decimals = Math.max(0, -Math.floor(Math.log10(step)));
		ctx.fillStyle = '#9aa0a6';
		ctx.strokeStyle = '#3b3f44';
		ctx.lineWidth = 1;
		for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
			const x = Math.round((t - t0) / range * w) + 0.5;
			ctx.beginPath(); ctx.moveTo(x, hAxis - 6); ctx.lineTo(x, hAxis); ctx.stroke();
			ctx.fillText(t.toFixed(Math.min(decimals, 9)) + 's', x + 3, hAxis / 2);
		}
	}

	onWheel(e) {
		e.preventDefault();
		this.w = this.canvas.clientWidth || this.w || 1;
		const r = this.canvas.getBoundingClientRect();
		const range = this.t1 - this.t0;
		if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
			const d = (e.shiftKey ? e.deltaY || e.deltaX : e.deltaX) / this.w * range;
			this.panTo(this.t0 + d);
		} else {
			const f = (e.clientX - r.left) / this.w;
			const at = this.t0 + f * range;
			const k = Math.exp(e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
			const nr = Math.min(this.span(), Math.max(range * k, this.minRange()));
			this.t0 = at - f * nr; this.t1 = this.t0 + nr;
			this.panTo(this.t0);
		}
		this.paint();
	}

	panTo(t0) {
		const range = this.t1 - this.t0, total = this.span();
		this.t0 = Math.max(0, Math.min(t0, total - range));
		this.t1 = this.t0 + range;
	}

	onKey(e) {
		const range = this.t1 - this.t0;
		if (e.key === 'ArrowLeft') this.panTo(this.t0 - range * 0.1);
		else if (e.key === 'ArrowRight') this.panTo(this.t0 + range * 0.1);
		else if (e.key === '+' || e.key === '=') { const c = this.t0 + range / 2, nr = Math.min(range, Math.max(range / 2, this.minRange())); this.t0 = c - nr / 2; this.t1 = c + nr / 2; this.panTo(this.t0); }
		else if (e.key === '-') { const c = this.t0 + range / 2; const nr = Math.min(this.span(), range * 2); this.t0 = c - nr / 2; this.t1 = c + nr / 2; this.panTo(this.t0); }
		else return;
		e.preventDefault();
		this.paint();
	}

	onDown(e) {
		if (e.button !== 0) return;
		this.drag = { x: e.clientX, y: e.clientY, t0: this.t0, sy: this.scrollY };
		e.preventDefault();
		this.canvas.focus({ preventScroll: true });
	}

	onDrag(e) {
		const d = this.drag;
		if (!d) return;
		const range = this.t1 - this.t0;
		this.panTo(d.t0 - (e.clientX - d.x) / this.w * range);
		this.scrollY = Math.max(0, Math.min(this.maxScroll || 0, d.sy - (e.clientY - d.y)));
		this.app.hideTooltip();
		this.paint();
	}

	onMove(e) {
		if (this.drag) return;
		const r = this.canvas.getBoundingClientRect();
		const i = this.hits.find(e.clientX - r.left, e.clientY - r.top, CH);
		const app = this.app;
		if (i < 0) { app.hideTooltip(); return; }
		const nd = this.hits.id[i], k = this.hits.aux[i], D = this.data, prof = app.prof, tree = this.tree;
		const lines = [tree.name(nd)];
		if (nd > 0) lines.push(prof.location(tree.frame[nd]));
		lines.push('duration ' + fmtDuration(D.end[k] - D.start[k]));
		lines.push('at ' + D.start[k].toFixed(prof.precision + 1) + 's');
		app.showTooltip(e.clientX, e.clientY, lines);
	}
}
