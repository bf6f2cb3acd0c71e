/* SPDX-License-Identifier: MIT */
/*
 * App wiring: the header, the toolbar, the current selection and options, the processed tree
 * shared by the views, and what the views share (tooltip, time format, colors).
 */

class App {
	constructor(root, prof) {
		this.root = root;
		this.prof = prof;
		this.opts = loadOptions(OPTIONS_KEY, DEFAULTS);
		this.selection = 'all';
		this.query = '';
		this.match = null;		/* Uint8Array per frame while searching */
		this.tree = null;
		this.treeKey = '';
		this.views = {};
		this.build();
	}

	build() {
		const prof = this.prof, m = prof.meta;
		document.title = fmtDuration(m.duration || 0) + ' – ' + (m.target_description || 'profile') +
			' – pyinst-bpf';
		this.root.textContent = '';
		this.root.append(this.buildHeader(), this.buildToolbar());
		this.optionsPanel = buildOptionsPanel(this);
		this.root.append(this.optionsPanel);
		this.main = el('main', 'pyi-main');
		this.root.append(this.main);
		this.tooltip = el('div', 'pyi-tooltip');
		this.tooltip.hidden = true;
		document.body.append(this.tooltip);
		this.views.tree = new CallTreeView(this);
		this.views.flame = new FlameGraphView(this);
		this.views.timeline = new TimelineView(this);
		for (const k in this.views) this.main.append(this.views[k].elem);
		this.setView(this.opts.view in this.views ? this.opts.view : 'tree');
		window.addEventListener('resize', () => this.current().draw());
	}

	buildHeader() {
		const prof = this.prof, m = prof.meta;
		const h = el('header', 'pyi-header');
		const title = el('div', 'pyi-title');
		title.append(el('span', 'pyi-logo', 'pyinst-bpf'), el('h1', 'pyi-target', m.target_description || '(no target)'));
		h.append(title);
		const dl = el('dl', 'pyi-facts');
		const fact = (k, v, cls) => {
			const d = el('div', 'pyi-fact' + (cls ? ' ' + cls : ''));
			d.append(el('dt', null, k), el('dd', null, v));
			dl.append(d);
		};
		const pids = (m.pids || []).map(String);
		fact('Host', m.host || '–');
		fact(pids.length > 1 ? 'PIDs' : 'PID', pids.length ? pids.join(', ') : '–');
		fact('Recorded', m.start_time ? new Date(m.start_time * 1000).toLocaleString() : '–');
		fact('Duration', fmtDuration(m.duration));
		fact('Samples', fmtCount(m.sample_count ?? prof.sampStack.length));
		fact('CPU utilization', m.duration > 0 ? Math.round((m.cpu_time || 0) / m.duration * 100) + '%' : '–');
		fact('Interval', fmtDuration(prof.interval));
		if (prof.resolution > 0) fact('Timeline resolution', fmtDuration(prof.resolution));
		fact('Mode', { cpu: 'CPU time', mixed: 'wall clock and CPU time' }[m.mode] || 'wall clock');
		fact('Lost samples', m.lost_samples == null ? '–' : fmtCount(m.lost_samples), (m.lost_samples > 0) ? 'pyi-warn' : '');
		h.append(dl);
		return h;
	}

	buildToolbar() {
		const bar = el('nav', 'pyi-toolbar');
		const tabs = el('div', 'pyi-tabs');
		tabs.setAttribute('role', 'tablist');
		this.tabButtons = {};
		for (const [k, label] of [['tree', 'Call tree'], ['flame', 'Flame graph'], ['timeline', 'Timeline']]) {
			const b = el('button', 'pyi-tab', label);
			b.type = 'button';
			b.dataset.view = k;
			b.setAttribute('role', 'tab');
			b.addEventListener('click', () => this.setView(k));
			this.tabButtons[k] = b;
			tabs.append(b);
		}
		bar.append(tabs);

		const sel = el('select', 'pyi-thread');
		sel.id = 'pyi-thread';
		sel.setAttribute('aria-label', 'Thread or process');
		const opt = (value, text) => { const o = document.createElement('option'); o.value = value; o.text = text; return o; };
		const prof = this.prof;
		sel.append(opt('all', 'All threads (' + prof.threads.length + ')'));
		const pids = [...new Set(prof.threads.map((t) => t.pid))];
		for (const pid of pids) {
			const proc = prof.processes.find((q) => q.pid === pid);
			const g = document.createElement('optgroup');
			g.label = 'Process ' + pid + (proc && proc.cmdline ? ' – ' + proc.cmdline.slice(0, 80) : '');
			if (pids.length > 1) g.append(opt('p:' + pid, 'Process ' + pid + ' (all threads)'));
			prof.threads.forEach((t, i) => {
				if (t.pid === pid) g.append(opt('t:' + i, t.name + (t.tid ? ' (tid ' + t.tid + ')' : '')));
			});
			sel.append(g);
		}
		sel.addEventListener('change', () => { this.selection = sel.value; this.refresh(); });
		this.threadSelect = sel;
		const lab = el('label', 'pyi-thread-label');
		lab.append(el('span', null, 'Show '), sel);
		bar.append(lab);
		if (prof.hasTasks) {
			/* --async profiles: threads as sampled, or asyncio tasks with their await chains */
			const vs = el('select', 'pyi-tasks');
			vs.id = 'pyi-tasks';
			vs.setAttribute('aria-label', 'Threads or asyncio tasks');
			vs.append(opt('threads', 'as threads'), opt('tasks', 'as asyncio tasks'));
			vs.addEventListener('change', () => { this.taskView = vs.value === 'tasks'; this.refresh(); });
			bar.append(vs);
		}

		bar.append(buildSearchBox(this));

		const ob = el('button', 'pyi-options-button', 'View options');
		ob.type = 'button';
		ob.setAttribute('aria-expanded', 'false');
		ob.addEventListener('click', () => {
			this.optionsPanel.hidden = !this.optionsPanel.hidden;
			ob.setAttribute('aria-expanded', String(!this.optionsPanel.hidden));
		});
		bar.append(ob);
		return bar;
	}

	/* Thread slots selected by the thread/process selector (the last slot: samples with no thread). */
	selectedSlots() {
		const prof = this.prof, nT = prof.threads.length;
		const sel = new Uint8Array(nT + 1);
		const v = this.selection;
		if (v === 'all') sel.fill(1);
		else if (v.startsWith('p:')) {
			const pid = parseInt(v.slice(2), 10);
			prof.threads.forEach((t, i) => { if (t.pid === pid) sel[i] = 1; });
		} else if (v.startsWith('t:')) sel[parseInt(v.slice(2), 10)] = 1;
		return sel;
	}

	/* The processed tree for the current options and selection, rebuilt only when they change. */
	getTree() {
		const o = this.opts;
		const key = (o.removeImportlib ? 'i' : '') + (o.removeTbhide ? 'h' : '');
		if (!this.tree || this.treeKey !== key) {
			this.tree = new Tree(this.prof, o);
			this.treeKey = key;
			this.timesKey = null;
			this.treeVersion = (this.treeVersion || 0) + 1;
		}
		const timesKey = this.selection + (this.taskView ? '|tasks' : '');
		if (this.timesKey !== timesKey) {
			this.slots = this.selectedSlots();
			this.tree.computeTimes(this.slots, !!this.taskView);
			this.timesKey = timesKey;
			this.timesVersion = (this.timesVersion || 0) + 1;
		}
		return this.tree;
	}

	setQuery(q) {
		this.query = q.trim();
		if (!this.query) {
			this.match = null;
			this.searchInfo.textContent = '';
		} else {
			const { match, count } = matchFrames(this.prof, this.query.toLowerCase());
			this.match = match;
			this.searchInfo.textContent = count + (count === 1 ? ' frame matches' : ' frames match');
		}
		this.root.classList.toggle('pyi-searching', !!this.match);
		this.current().draw();
	}

	isMatch(node) {
		const t = this.tree;
		return !!(this.match && node > 0 && this.match[t.frame[node]]);
	}

	setView(k) {
		this.opts.view = k;
		saveOptions(OPTIONS_KEY, this.opts);
		for (const v in this.views) {
			this.views[v].elem.hidden = v !== k;
			this.tabButtons[v].setAttribute('aria-selected', String(v === k));
			this.tabButtons[v].classList.toggle('pyi-active', v === k);
		}
		this.root.dataset.view = k;
		this.tooltip.hidden = true;
		this.current().draw();
	}

	current() { return this.views[this.opts.view] || this.views.tree; }

	/* Time to first draw, for the tests and the benchmark. */
	markDrawn() {
		if (window.__pyiFirstDraw) return;
		window.__pyiFirstDraw = performance.now();
		document.documentElement.dataset.pyiReady = '1';
	}

	refresh() { this.current().draw(); }

	formatTime(t, rootTotal) {
		if (this.opts.timeFormat === 'percent')
			return (rootTotal > 0 ? (t / rootTotal * 100) : 0).toFixed(1) + '%';
		return t.toFixed(this.prof.precision);
	}

	showTooltip(x, y, lines) {
		const tt = this.tooltip;
		tt.textContent = '';
		lines.forEach((l, i) => tt.append(el('div', i === 0 ? 'pyi-tt-title' : 'pyi-tt-line', l)));
		tt.hidden = false;
		const w = tt.offsetWidth, h = tt.offsetHeight;
		const vx = window.innerWidth, vy = window.innerHeight;
		tt.style.left = Math.max(4, Math.min(x + 14, vx - w - 4)) + 'px';
		tt.style.top = Math.max(4, (y + 16 + h > vy ? y - h - 8 : y + 16)) + 'px';
	}

	hideTooltip() { this.tooltip.hidden = true; }

	/* Hue per library, stable across views; application code warm, libraries cool, waits grey. */
	colorFor(node, dim) {
		const t = this.tree, prof = this.prof;
		if (node === 0) return dim ? '#3a3d42' : '#555a61';
		const f = t.frame[node], flags = prof.fFlags[f];
		let h, s, l;
		if (flags & (F_THREAD | F_PROCESS)) { h = 210; s = 10; l = 45; }
		else if (flags & (F_IDLE | F_SYNTHETIC)) { h = 0; s = 0; l = 52; }
		else {
			const k = hashString(prof.library(f));
			if (t.app[node]) { h = 10 + (k % 50); s = 70; l = 55 + (k >> 8) % 10; }
			else { h = 170 + (k % 110); s = 45; l = 50 + (k >> 8) % 12; }
		}
		if (dim) { s = Math.round(s * 0.25); l = Math.round(l * 0.55); }
		return 'hsl(' + h + ',' + s + '%,' + l + '%)';
	}
}
