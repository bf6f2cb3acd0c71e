/* SPDX-License-Identifier: MIT */
/* The flame graph view (icicle or flame), on a canvas. */

class FlameGraphView {
	constructor(app) {
		this.app = app;
		this.elem = el('section', 'pyi-view pyi-flame-view');
		const bar = el('div', 'pyi-view-bar');
		this.crumb = el('span', 'pyi-crumb');
		this.reset = el('button', 'pyi-reset', 'Reset zoom');
		this.reset.type = 'button';
		this.reset.addEventListener('click', () => { this.zoom = -1; this.scrollY = 0; this.draw(); });
		this.dirButton = el('button', 'pyi-flame-dir');
		this.dirButton.type = 'button';
		this.dirButton.addEventListener('click', () => {
			app.opts.flameDir = app.opts.flameDir === 'flame' ? 'icicle' : 'flame';
			saveOptions(OPTIONS_KEY, app.opts);
			for (const r of document.querySelectorAll('input[name="flameDir"]')) r.checked = r.value === app.opts.flameDir;
			this.draw();
		});
		bar.append(this.reset, this.dirButton, el('span', 'pyi-help', 'Click a frame to zoom into it; wheel scrolls.'), this.crumb);
		this.canvas = el('canvas', 'pyi-canvas');
		this.canvas.tabIndex = 0;
		this.canvas.setAttribute('aria-label', 'Flame graph');
		this.elem.append(bar, this.canvas);
		this.zoom = -1;
		this.scrollY = 0;
		this.hits = new HitList();
		this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
		this.canvas.addEventListener('mouseleave', () => app.hideTooltip());
		this.canvas.addEventListener('click', (e) => this.onClick(e));
		this.canvas.addEventListener('wheel', (e) => { e.preventDefault(); this.scrollY += e.deltaY; this.draw(); }, { passive: false });
		this.canvas.addEventListener('keydown', (e) => { if (e.key === 'Escape') { this.zoom = -1; this.draw(); } });
	}

	draw() {
		if (this.elem.hidden) return;
		const app = this.app, tree = app.getTree();
		if (this.version !== app.treeVersion + ':' + app.timesVersion) {
			this.version = app.treeVersion + ':' + app.timesVersion;
			this.zoom = -1;
		}
		this.tree = tree;
		const droot = tree.displayRoot();
		const zoom = this.zoom >= 0 && tree.total[this.zoom] > 0 ? this.zoom : droot;
		const icicle = app.opts.flameDir !== 'flame';
		this.dirButton.textContent = icicle ? 'Show as flame' : 'Show as icicle';
		this.reset.disabled = zoom === droot;
		const path = [];
		for (let p = zoom; p >= 0 && p !== tree.parent[droot]; p = tree.parent[p]) path.unshift(p);
		this.crumb.textContent = path.length > 1 ? path.map((p) => tree.name(p)).join(' › ') : '';
		const { ctx, w, h } = setupCanvas(this.canvas);
		ctx.fillStyle = '#1d1f22';
		ctx.fillRect(0, 0, w, h);
		this.hits.clear();
		const total = tree.total[zoom];
		if (!(total > 0)) {
			ctx.fillStyle = '#aaa';
			ctx.fillText('No samples were recorded.', 12, 20);
			app.markDrawn();
			return;
		}
		/* Lay out top-down by depth; flame mode flips y. */
		const scale = w / total;
		const maxRows = Math.ceil(h / CH) + 1;
		const baseRows = path.length - 1;
		const contentRows = baseRows + this.subtreeDepth(zoom, scale) + 1;
		const maxScroll = Math.max(0, contentRows * CH - h + CH);
		this.scrollY = Math.max(0, Math.min(this.scrollY, maxScroll));
		const yOf = (row) => icicle ? row * CH - this.scrollY : h - (row + 1) * CH + this.scrollY;
		for (let i = 0; i < path.length - 1; i++)
			this.box(ctx, path[i], 0, yOf(i), w, true);
		const todo = [[zoom, 0, baseRows]];
		while (todo.length) {
			const [nd, x, row] = todo.pop();
			const bw = tree.total[nd] * scale;
			const y = yOf(row);
			if (y > -CH && y < h) this.box(ctx, nd, x, y, bw, false);
			if (row - baseRows > maxRows + this.scrollY / CH + 2) continue;
			let cx = x;
			for (const c of tree.children(nd)) {
				const cw = tree.total[c] * scale;
				if (cw < 0.3) break;
				todo.push([c, cx, row + 1]);
				cx += cw;
			}
		}
		app.markDrawn();
	}

	subtreeDepth(nd, scale) {
		const tree = this.tree;
		let best = 0;
		const todo = [[nd, 0]];
		while (todo.length) {
			const [x, d] = todo.pop();
			if (d > best) best = d;
			for (const c of tree.children(x)) { if (tree.total[c] * scale < 0.3) break; todo.push([c, d + 1]); }
		}
		return best;
	}

	box(ctx, nd, x, y, w, ancestor) {
		const app = this.app, tree = this.tree;
		const searching = !!app.match, hit = app.isMatch(nd);
		const fill = app.colorFor(nd, ancestor || (searching && !hit));
		drawBox(ctx, x, y, w, CH, fill, tree.name(nd), hit);
		this.hits.push(x, y, w, nd, ancestor ? 1 : 0);
	}

	hitAt(e) {
		const r = this.canvas.getBoundingClientRect();
		const i = this.hits.find(e.clientX - r.left, e.clientY - r.top, CH);
		return i < 0 ? -1 : this.hits.id[i];
	}

	onMove(e) {
		const nd = this.hitAt(e), app = this.app, tree = this.tree;
		if (nd < 0) { app.hideTooltip(); return; }
		const prof = app.prof, root = tree.total[tree.displayRoot()];
		const lines = [tree.name(nd)];
		if (nd > 0) lines.push(prof.location(tree.frame[nd]));
		lines.push('total ' + fmtDuration(tree.total[nd]) + ' (' + (tree.total[nd] / root * 100).toFixed(1) + '%)');
		if (tree.self[nd] > 0) lines.push('self ' + fmtDuration(tree.self[nd]));
		app.showTooltip(e.clientX, e.clientY, lines);
	}

	onClick(e) {
		const nd = this.hitAt(e);
		if (nd < 0) return;
		this.zoom = nd;
		this.scrollY = 0;
		this.draw();
	}
}
