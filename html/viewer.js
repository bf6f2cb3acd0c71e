/* SPDX-License-Identifier: MIT */
/*
 * pyinst-bpf report viewer. Plain JS, no dependencies, no network.
 * Reads the payload described in docs/html-report.md from the #pyi-data script element.
 * Every string from the payload reaches the page through textContent, <option>.text,
 * document.title or canvas fillText: never through innerHTML.
 */
'use strict';
(function () {

/* ------------------------------------------------------------------ utilities */

function el(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls) e.className = cls;
	if (text !== undefined && text !== null) e.textContent = String(text);
	return e;
}

function growInt32(a, n) { const b = new Int32Array(n); b.set(a); return b; }
function growFloat64(a, n) { const b = new Float64Array(n); b.set(a); return b; }

function fmtDuration(s) {
	if (!isFinite(s)) return '–';
	if (s >= 3600) return (s / 3600).toFixed(2) + ' h';
	if (s >= 60) return (s / 60).toFixed(2) + ' min';
	if (s >= 1) return s.toFixed(3) + ' s';
	if (s >= 1e-3) return (s * 1e3).toFixed(2) + ' ms';
	return (s * 1e6).toFixed(1) + ' µs';
}

function fmtCount(n) { return Number(n || 0).toLocaleString('en-US'); }
/* " (tid T, pid P)" with what is known: a session records no kernel tid, a loaded one may no pid */
function threadIds(t) {
	const ids = [t.tid ? 'tid ' + t.tid : '', t.pid ? 'pid ' + t.pid : ''].filter(Boolean);
	return ids.length ? ' (' + ids.join(', ') + ')' : '';
}

/* Time color by proportion of the root, as the call-stack view grades it. */
function timeClass(p) {
	if (p > 0.6) return 't5';
	if (p > 0.3) return 't4';
	if (p > 0.15) return 't3';
	if (p > 0.05) return 't2';
	return 't1';
}

function hashString(s) {
	let h = 2166136261;
	for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
	return h >>> 0;
}

function loadOptions(key, defaults) {
	try {
		const v = JSON.parse(window.localStorage.getItem(key) || 'null');
		if (v && typeof v === 'object') return Object.assign({}, defaults, v);
	} catch (e) { /* file:// storage may be unavailable: use defaults */ }
	return Object.assign({}, defaults);
}

function saveOptions(key, v) {
	try { window.localStorage.setItem(key, JSON.stringify(v)); } catch (e) { /* ignore */ }
}

/* ------------------------------------------------------------------ payload */

async function inflate(bytes) {
	if (typeof DecompressionStream !== 'function')
		throw new Error('this browser cannot inflate the report (needs DecompressionStream: ' +
			'Chrome 80+, Firefox 113+, Safari 16.4+)');
	const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
	return new Response(stream).text();
}

async function readPayload() {
	const node = document.getElementById('pyi-data');
	if (!node) throw new Error('the report has no payload (#pyi-data)');
	const enc = node.getAttribute('data-encoding') || 'json';
	const text = node.textContent;
	if (enc === 'json') return JSON.parse(text);
	if (enc !== 'deflate-base64') throw new Error('unknown payload encoding "' + enc + '"');
	const bin = atob(text.trim());
	const bytes = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
	return JSON.parse(await inflate(bytes));
}

/* ------------------------------------------------------------------ profile model */

const F_SYNTHETIC = 1, F_APP = 2, F_TBHIDE = 4, F_THREAD = 8, F_PROCESS = 16, F_IDLE = 32;

function toInt32(arr, name) {
	if (!Array.isArray(arr)) throw new Error('payload: ' + name + ' is not an array');
	return Int32Array.from(arr);
}

/* path.relative() for '/'-separated absolute paths; null if not comparable. */
function relPath(path, base) {
	const p = path.split('/').filter(Boolean), b = base.split('/').filter(Boolean);
	let i = 0;
	while (i < p.length && i < b.length && p[i] === b[i]) i++;
	const up = b.length - i;
	const out = [];
	for (let k = 0; k < up; k++) out.push('..');
	return out.concat(p.slice(i));
}

class Profile {
	constructor(p) {
		if (!p || p.version !== 1) throw new Error('unsupported payload version ' + (p && p.version));
		const m = p.meta || {};
		this.meta = m;
		this.strings = (p.strings || []).map(String);
		const S = this.strings, frames = p.frames || [], stacks = p.stacks || [];
		const nF = frames.length, nS = stacks.length;
		const str = (i) => (i >= 0 && i < S.length ? S[i] : '');
		this.fName = new Array(nF);
		this.fFile = new Int32Array(nF);
		this.fLine = new Float64Array(nF);	/* thread idents exceed 32 bits */
		this.fFlags = new Int32Array(nF);
		for (let i = 0; i < nF; i++) {
			const f = frames[i];
			const cls = f[3] >= 0 ? str(f[3]) : '';
			this.fName[i] = cls ? cls + '.' + str(f[0]) : str(f[0]);
			this.fFile[i] = f[1] | 0;
			this.fLine[i] = Number(f[2]) || 0;
			this.fFlags[i] = f[4] | 0;
		}
		this.sParent = new Int32Array(nS);
		this.sFrame = new Int32Array(nS);
		for (let i = 0; i < nS; i++) {
			const s = stacks[i], par = s[0] | 0, fr = s[1] | 0;
			if (par >= i || par < -1) throw new Error('payload: stack ' + i + ' has parent ' + par);
			if (fr < 0 || fr >= nF) throw new Error('payload: stack ' + i + ' has frame ' + fr);
			this.sParent[i] = par;
			this.sFrame[i] = fr;
		}
		const sm = p.samples || {};
		this.sampStack = toInt32(sm.stack || [], 'samples.stack');
		this.sampW = Float64Array.from(sm.weight || []);
		this.sampT = Float64Array.from(sm.time || []);
		const n = this.sampStack.length;
		if (this.sampW.length !== n || this.sampT.length !== n)
			throw new Error('payload: samples arrays differ in length');
		for (let i = 0; i < n; i++)
			if (this.sampStack[i] < 0 || this.sampStack[i] >= nS)
				throw new Error('payload: sample ' + i + ' has stack ' + this.sampStack[i]);
		this.threads = (p.threads || []).map((t) => ({
			prefix: t.stack_prefix | 0, name: String(t.name ?? ''), tid: t.tid | 0, pid: t.pid | 0 }));
		this.processes = (p.processes || []).map((q) => ({
			pid: q.pid | 0, cmdline: String(q.cmdline ?? ''), python: String(q.python ?? '') }));
		/* Which thread each stack belongs to: the nearest thread prefix at or above it. */
		const nT = this.threads.length;
		this.stackThread = new Int32Array(nS).fill(-1);
		this.threads.forEach((t, i) => { if (t.prefix >= 0 && t.prefix < nS) this.stackThread[t.prefix] = i; });
		for (let s = 0; s < nS; s++)
			if (this.stackThread[s] < 0 && this.sParent[s] >= 0)
				this.stackThread[s] = this.stackThread[this.sParent[s]];
		this.noThread = nT;	/* selection slot of samples outside any thread */
		/* --async: stacks under a task root ("<task>" file) are the tasks view, the rest the
		 * threads view; a profile without tasks has only the latter */
		const taskFile = S.indexOf('<task>');
		this.stackTask = new Uint8Array(nS);
		for (let s = 0; s < nS && taskFile >= 0; s++)
			this.stackTask[s] = (this.sParent[s] >= 0 && this.stackTask[this.sParent[s]]) ||
				this.fFile[this.sFrame[s]] === taskFile ? 1 : 0;
		this.hasTasks = taskFile >= 0 && this.stackTask.some((x) => x);
		this.interval = m.interval > 0 ? m.interval : 0.001;
		/* a long session's timeline buckets (0: every sample kept): the finest zoom that means anything */
		this.resolution = m.resolution > 0 && Number.isFinite(m.resolution) ? m.resolution : 0;
		this.precision = Number.isInteger(m.precision) ? m.precision :
			Math.max(0, Math.ceil(-Math.log10(Math.min(Math.max(1e-9, this.interval), 1))));
		this.endTime = 0;
		for (let i = 0; i < n; i++) this.endTime = Math.max(this.endTime, this.sampT[i] + this.sampW[i]);
		this.prefixes = (m.sys_prefixes || []).map(String).filter(Boolean);
		this.sysPath = (m.sys_path || []).map(String).filter((x) => x.startsWith('/'));
		this.shortCache = new Map();
		this.libCache = new Map();
	}

	file(f) { const i = this.fFile[f]; return i >= 0 && i < this.strings.length ? this.strings[i] : ''; }

	/* Session.shorten_path: the relative path with the fewest components over sys_path. */
	shortPath(fileIdx) {
		let r = this.shortCache.get(fileIdx);
		if (r !== undefined) return r;
		const path = fileIdx >= 0 && fileIdx < this.strings.length ? this.strings[fileIdx] : '';
		r = path;
		if (path.startsWith('/')) {
			let best = null;
			for (const base of this.sysPath) {
				const parts = relPath(path, base);
				if (best === null || parts.length < best.length) best = parts;
			}
			if (best) r = best.join('/');
		}
		this.shortCache.set(fileIdx, r);
		return r;
	}

	/* "file:line", or the file alone when there is no line. */
	location(f) {
		const s = this.shortPath(this.fFile[f]);
		return this.fLine[f] > 0 && !(this.fFlags[f] & F_SYNTHETIC) ? s + ':' + this.fLine[f] : s;
	}

	/* First component of the short path: what the timeline colors and groups name. */
	library(f) {
		let r = this.libCache.get(this.fFile[f]);
		if (r === undefined) {
			r = this.shortPath(this.fFile[f]).split(/[/\\.]/)[0] || '';
			this.libCache.set(this.fFile[f], r);
		}
		return r;
	}

	/*
	 * Frame.is_application_code: 1 app, 0 library, -1 "same as the parent" (<string>, <stdin>).
	 */
	appRule(f) {
		if (this.fFlags[f] & (F_SYNTHETIC | F_THREAD | F_PROCESS)) return 0;
		const path = this.file(f);
		if (!path) return 0;
		for (const p of this.prefixes) if (path.startsWith(p)) return 0;
		if (path.startsWith('<')) {
			if (path.startsWith('<ipython-input-')) return 1;
			if (path === '<string>' || path === '<stdin>') return -1;
			return 0;
		}
		return 1;
	}
}

/* ------------------------------------------------------------------ processed tree */

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

/* ------------------------------------------------------------------ the app */

const DEFAULTS = {
	view: 'tree', collapse: 'library', showRegex: '', hideRegex: '',
	removeImportlib: true, removeTbhide: true, useThreshold: true, threshold: 0.1,
	timeFormat: 'seconds', flameDir: 'icicle',
};
const OPTIONS_KEY = 'pyinst-bpf:viewer-options';

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
		this.optionsPanel = this.buildOptions();
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

		const search = el('input', 'pyi-search');
		search.type = 'search';
		search.id = 'pyi-search';
		search.placeholder = 'Search function or file…';
		search.setAttribute('aria-label', 'Search function or file name');
		let timer = 0;
		search.addEventListener('input', () => {
			clearTimeout(timer);
			timer = setTimeout(() => this.setQuery(search.value), 120);
		});
		search.addEventListener('keydown', (e) => {
			if (e.key === 'Enter') { clearTimeout(timer); this.setQuery(search.value); this.views.tree.revealMatches(); }
			if (e.key === 'Escape') { search.value = ''; this.setQuery(''); }
		});
		this.searchInfo = el('span', 'pyi-search-info');
		const sw = el('div', 'pyi-search-wrap');
		sw.append(search, this.searchInfo);
		bar.append(sw);

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

	buildOptions() {
		const o = this.opts;
		const panel = el('section', 'pyi-options');
		panel.hidden = true;
		const changed = () => { saveOptions(OPTIONS_KEY, this.opts); this.refresh(); };
		const fieldset = (legend) => { const f = el('fieldset'); f.append(el('legend', null, legend)); panel.append(f); return f; };
		const radio = (parent, name, value, label, get, set) => {
			const l = el('label');
			const r = el('input');
			r.type = 'radio'; r.name = name; r.value = value; r.checked = get() === value;
			r.addEventListener('change', () => { if (r.checked) { set(value); changed(); } });
			l.append(r, ' ' + label);
			parent.append(l);
			return r;
		};
		const check = (parent, key, label) => {
			const l = el('label');
			const c = el('input');
			c.type = 'checkbox'; c.checked = !!o[key]; c.dataset.option = key;
			c.addEventListener('change', () => { o[key] = c.checked; changed(); });
			l.append(c, ' ' + label);
			parent.append(l);
			return l;
		};
		const text = (parent, key, label) => {
			const l = el('label', 'pyi-regex');
			const t = el('input');
			t.type = 'text'; t.value = o[key]; t.spellcheck = false; t.dataset.option = key;
			t.addEventListener('change', () => {
				try { new RegExp(t.value); t.classList.remove('pyi-bad'); } catch (e) { t.classList.add('pyi-bad'); return; }
				o[key] = t.value; changed();
			});
			l.append(label + ' ', t);
			parent.append(l);
		};
		const c1 = fieldset('Collapse frames');
		radio(c1, 'collapse', 'library', 'Library code', () => o.collapse, (v) => { o.collapse = v; });
		radio(c1, 'collapse', 'custom', 'Custom', () => o.collapse, (v) => { o.collapse = v; });
		radio(c1, 'collapse', 'disabled', 'Disabled', () => o.collapse, (v) => { o.collapse = v; });
		text(c1, 'showRegex', 'Show regex');
		text(c1, 'hideRegex', 'Hide regex');
		c1.append(el('p', 'pyi-hint', 'Custom: file paths matching Show are kept, matching Hide are collapsed; ' +
			'if neither matches, the library code rule is used.'));
		const c2 = fieldset('Remove frames');
		check(c2, 'removeImportlib', 'importlib machinery');
		check(c2, 'removeTbhide', 'Frames declaring __tracebackhide__');
		const th = check(c2, 'useThreshold', 'Frames with durations less than');
		const num = el('input');
		num.type = 'number'; num.min = '0'; num.max = '100'; num.step = '0.1'; num.value = String(o.threshold);
		num.className = 'pyi-threshold';
		num.addEventListener('change', () => {
			const v = parseFloat(num.value);
			if (isFinite(v) && v >= 0) { o.threshold = v; changed(); }
		});
		th.append(' ', num, '% of the total time');
		const c3 = fieldset('Time format');
		radio(c3, 'timeFormat', 'seconds', 'Absolute time in seconds', () => o.timeFormat, (v) => { o.timeFormat = v; });
		radio(c3, 'timeFormat', 'percent', 'Percentage of the total time', () => o.timeFormat, (v) => { o.timeFormat = v; });
		const c4 = fieldset('Flame graph');
		radio(c4, 'flameDir', 'icicle', 'Icicle (root on top)', () => o.flameDir, (v) => { o.flameDir = v; });
		radio(c4, 'flameDir', 'flame', 'Flame (root at the bottom)', () => o.flameDir, (v) => { o.flameDir = v; });
		return panel;
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
		const prof = this.prof;
		if (!this.query) {
			this.match = null;
			this.searchInfo.textContent = '';
		} else {
			const needle = this.query.toLowerCase();
			const nF = prof.fName.length;
			const match = new Uint8Array(nF);
			let count = 0;
			for (let f = 0; f < nF; f++) {
				if (prof.fName[f].toLowerCase().includes(needle) ||
					prof.file(f).toLowerCase().includes(needle)) { match[f] = 1; count++; }
			}
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

/* ------------------------------------------------------------------ call tree view */

const ROW_H = 22;
const ROW_FRAME = 0, ROW_SELF = 1, ROW_GROUP = 2;

class CallTreeView {
	constructor(app) {
		this.app = app;
		this.elem = el('section', 'pyi-view pyi-tree-view');
		this.scroller = el('div', 'pyi-tree');
		this.scroller.tabIndex = 0;
		this.scroller.setAttribute('role', 'tree');
		this.scroller.setAttribute('aria-label', 'Call tree');
		this.spacer = el('div', 'pyi-tree-spacer');
		this.scroller.append(this.spacer);
		this.empty = el('p', 'pyi-empty', 'No samples were recorded.');
		this.empty.hidden = true;
		this.elem.append(this.empty, this.scroller);
		this.expand = null;	/* per node: 0 default, 1 open, 2 closed */
		this.groupOpen = null;
		this.focus = 0;
		this.rowKind = []; this.rowNode = []; this.rowDepth = [];
		this.scroller.addEventListener('scroll', () => this.paintRows());
		this.scroller.addEventListener('keydown', (e) => this.onKey(e));
		this.scroller.addEventListener('click', (e) => this.onClick(e));
		this.scroller.addEventListener('focus', () => this.paintRows());
	}

	draw() {
		const app = this.app, tree = app.getTree(), o = app.opts;
		if (this.treeVersion !== app.treeVersion) {
			this.expand = new Uint8Array(tree.n);
			this.groupOpen = new Uint8Array(tree.n);
			this.treeVersion = app.treeVersion;
			this.focus = 0;
		}
		this.tree = tree;
		this.droot = tree.displayRoot();
		this.rootTotal = tree.total[this.droot];
		this.empty.hidden = this.rootTotal > 0;
		this.scroller.hidden = !(this.rootTotal > 0);
		this.thr = o.useThreshold ? this.rootTotal * o.threshold / 100 : 0;
		const thr = this.thr;
		const visibleKids = (nd) => tree.children(nd).filter((c) => tree.total[c] >= thr && tree.total[c] > 0);
		this.visibleKids = visibleKids;
		let showRe = null, hideRe = null;
		try { if (o.collapse === 'custom' && o.showRegex) showRe = new RegExp(o.showRegex); } catch (e) { showRe = null; }
		try { if (o.collapse === 'custom' && o.hideRegex) hideRe = new RegExp(o.hideRegex); } catch (e) { hideRe = null; }
		const prof = app.prof;
		const hidden = (nd) => {
			if (prof.fFlags[tree.frame[nd]] & (F_THREAD | F_PROCESS)) return false;
			const path = prof.file(tree.frame[nd]);
			if (showRe && showRe.test(path)) return false;
			if (hideRe && hideRe.test(path)) return true;
			return !tree.app[nd];
		};
		this.grouping = o.collapse === 'disabled' ? null : computeGroups(tree, this.droot, visibleKids, hidden);
		this.flatten();
		app.markDrawn();
	}

	isExpanded(nd) {
		const s = this.expand[nd];
		if (s) return s === 1;
		return nd === this.droot || this.tree.total[nd] >= 0.2 * this.rootTotal;
	}

	/* The rows a node shows under it: children above threshold, [self], collapsed groups flattened. */
	displayChildren(nd) {
		const tree = this.tree, g = this.grouping;
		const out = [];
		const walk = (p) => {
			for (const c of this.visibleKids(p)) {
				const gid = g ? g.groupOf[c] : -1;
				if (gid >= 0) {
					const grp = g.groups[gid];
					if (c !== grp.root && !this.groupOpen[grp.root] && !grp.exits.has(c)) { walk(c); continue; }
				}
				out.push(c);
			}
		};
		walk(nd);
		out.sort((a, b) => tree.total[b] - tree.total[a]);
		return out;
	}

	hasSelfRow(nd, kids) {
		return kids.length > 0 && this.tree.self[nd] > 0 && this.tree.self[nd] >= this.thr;
	}

	flatten() {
		const kind = [], node = [], depth = [];
		const stack = [[this.droot, 0, ROW_FRAME]];
		while (stack.length) {
			const [nd, d, k] = stack.pop();
			kind.push(k); node.push(nd); depth.push(d);
			if (k !== ROW_FRAME) continue;
			const g = this.grouping;
			const kids = this.displayChildren(nd);
			const open = this.isExpanded(nd);
			const items = [];
			if (open && g && g.groupOf[nd] >= 0 && g.groups[g.groupOf[nd]].root === nd)
				items.push([nd, d + 1, ROW_GROUP]);
			if (open) {
				const rows = kids.map((c) => [c, d + 1, ROW_FRAME, this.tree.total[c]]);
				if (this.hasSelfRow(nd, kids)) rows.push([nd, d + 1, ROW_SELF, this.tree.self[nd]]);
				rows.sort((a, b) => b[3] - a[3]);
				for (const r of rows) items.push(r);
			}
			for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
		}
		this.rowKind = kind; this.rowNode = node; this.rowDepth = depth;
		if (this.focus >= kind.length) this.focus = kind.length - 1;
		this.spacer.style.height = (kind.length * ROW_H) + 'px';
		this.paintRows(true);
	}

	paintRows() {
		if (!this.tree || this.elem.hidden) return;
		const sc = this.scroller;
		const top = sc.scrollTop, h = sc.clientHeight || 600;
		const first = Math.max(0, Math.floor(top / ROW_H) - 10);
		const last = Math.min(this.rowKind.length, Math.ceil((top + h) / ROW_H) + 10);
		const frag = document.createDocumentFragment();
		for (let i = first; i < last; i++) frag.append(this.renderRow(i));
		this.spacer.textContent = '';
		this.spacer.append(frag);
		const fr = this.rowKind.length ? 'pyi-row-' + this.focus : '';
		if (fr) sc.setAttribute('aria-activedescendant', fr); else sc.removeAttribute('aria-activedescendant');
	}

	renderRow(i) {
		const tree = this.tree, prof = this.app.prof, app = this.app;
		const kind = this.rowKind[i], nd = this.rowNode[i], d = this.rowDepth[i];
		const row = el('div', 'pyi-row');
		row.id = 'pyi-row-' + i;
		row.dataset.row = String(i);
		row.setAttribute('role', 'treeitem');
		row.setAttribute('aria-level', String(d + 1));
		row.style.top = (i * ROW_H) + 'px';
		row.style.paddingLeft = (6 + d * 16) + 'px';
		if (i === this.focus) row.classList.add('pyi-focus');
		const guide = el('span', 'pyi-guide');
		guide.style.left = (d * 16 - 2) + 'px';
		if (kind === ROW_GROUP) {
			const g = this.grouping.groups[this.grouping.groupOf[nd]];
			const open = !!this.groupOpen[nd];
			row.classList.add('pyi-group-row');
			row.setAttribute('aria-expanded', String(open));
			let libs = g.libs.slice(0, 3).join(', ');
			if (g.libs.length > 3) libs += '…';
			row.append(el('span', 'pyi-tri', open ? '▾' : '▸'),
				el('span', 'pyi-group-text', (g.frames.length - 1) + ' frames hidden' + (libs ? ' (' + libs + ')' : '')));
			return row;
		}
		const t = kind === ROW_SELF ? tree.self[nd] : tree.total[nd];
		const p = this.rootTotal > 0 ? t / this.rootTotal : 0;
		const tc = timeClass(p);
		guide.classList.add(tc);
		row.append(guide);
		const hasKids = kind === ROW_FRAME && this.displayChildren(nd).length > 0;
		const open = hasKids && this.isExpanded(nd);
		if (hasKids) row.setAttribute('aria-expanded', String(open));
		row.append(el('span', 'pyi-tri', hasKids ? (open ? '▾' : '▸') : ''));
		row.append(el('span', 'pyi-time ' + tc, app.formatTime(t, this.rootTotal)));
		if (kind === ROW_SELF) {
			row.append(el('span', 'pyi-name pyi-synth', '[self]'));
			if (nd > 0) row.append(el('span', 'pyi-loc', prof.shortPath(prof.fFile[tree.frame[nd]])));
			return row;
		}
		const f = tree.frame[nd];
		const name = el('span', 'pyi-name', tree.name(nd));
		if (nd > 0) {
			const flags = prof.fFlags[f];
			if (tree.app[nd]) name.classList.add('pyi-app');
			if (flags & (F_SYNTHETIC | F_IDLE)) name.classList.add('pyi-synth');
			if (flags & (F_THREAD | F_PROCESS)) name.classList.add('pyi-root-frame');
		}
		row.append(name);
		if (nd > 0) {
			const flags = prof.fFlags[f];
			let loc;
			if (flags & F_THREAD) loc = '<thread>:' + prof.fLine[f];
			else if (flags & F_PROCESS) loc = 'pid ' + prof.fLine[f];
			else loc = prof.location(f);
			row.append(el('span', 'pyi-loc', loc));
			row.title = prof.file(f);
		}
		if (app.isMatch(nd)) row.classList.add('pyi-match');
		return row;
	}

	setExpanded(nd, open, recursive) {
		const todo = [nd];
		while (todo.length) {
			const x = todo.pop();
			this.expand[x] = open ? 1 : 2;
			if (recursive) for (const c of this.visibleKids(x)) todo.push(c);
		}
	}

	toggleRow(i, recursive, want) {
		const kind = this.rowKind[i], nd = this.rowNode[i];
		if (kind === ROW_GROUP) {
			this.groupOpen[nd] = want === undefined ? (this.groupOpen[nd] ? 0 : 1) : (want ? 1 : 0);
		} else if (kind === ROW_FRAME) {
			const open = want === undefined ? !this.isExpanded(nd) : want;
			this.setExpanded(nd, open, recursive);
		}
		this.flatten();
	}

	parentRow(i) {
		const d = this.rowDepth[i];
		for (let j = i - 1; j >= 0; j--) if (this.rowDepth[j] < d) return j;
		return i;
	}

	moveFocus(i) {
		const n = this.rowKind.length;
		if (!n) return;
		this.focus = Math.max(0, Math.min(n - 1, i));
		const sc = this.scroller, y = this.focus * ROW_H;
		if (y < sc.scrollTop) sc.scrollTop = y;
		else if (y + ROW_H > sc.scrollTop + sc.clientHeight) sc.scrollTop = y + ROW_H - sc.clientHeight;
		this.paintRows();
	}

	onKey(e) {
		const i = this.focus, kind = this.rowKind[i], nd = this.rowNode[i];
		const expandable = kind === ROW_GROUP || (kind === ROW_FRAME && this.displayChildren(nd).length > 0);
		const isOpen = kind === ROW_GROUP ? !!this.groupOpen[nd] : expandable && this.isExpanded(nd);
		switch (e.key) {
		case 'ArrowDown': this.moveFocus(i + 1); break;
		case 'ArrowUp': this.moveFocus(i - 1); break;
		case 'Home': this.moveFocus(0); break;
		case 'End': this.moveFocus(this.rowKind.length - 1); break;
		case 'PageDown': this.moveFocus(i + Math.floor(this.scroller.clientHeight / ROW_H)); break;
		case 'PageUp': this.moveFocus(i - Math.floor(this.scroller.clientHeight / ROW_H)); break;
		case 'ArrowRight':
			if (expandable && (!isOpen || e.altKey)) this.toggleRow(i, e.altKey, true);
			else this.moveFocus(i + 1);
			break;
		case 'ArrowLeft':
			if (expandable && (isOpen || e.altKey)) this.toggleRow(i, e.altKey, false);
			else this.moveFocus(this.parentRow(i));
			break;
		case 'Enter': case ' ':
			if (expandable) this.toggleRow(i, e.altKey);
			break;
		default: return;
		}
		e.preventDefault();
	}

	onClick(e) {
		const row = e.target.closest('.pyi-row');
		if (!row) return;
		const i = parseInt(row.dataset.row, 10);
		this.focus = i;
		const kind = this.rowKind[i];
		const expandable = kind === ROW_GROUP || (kind === ROW_FRAME && this.displayChildren(this.rowNode[i]).length > 0);
		if (expandable) this.toggleRow(i, e.altKey); else this.paintRows();
		this.scroller.focus({ preventScroll: true });
	}

	/* Opens every ancestor of a matching node so that the matches are on screen. */
	revealMatches() {
		const app = this.app;
		if (!app.match || this.app.opts.view !== 'tree') return;
		const tree = this.tree;
		let firstMatch = -1;
		const todo = [this.droot];
		while (todo.length) {
			const nd = todo.pop();
			for (const c of this.visibleKids(nd)) {
				if (app.isMatch(c)) {
					for (let p = tree.parent[c]; p >= 0; p = tree.parent[p]) this.expand[p] = 1;
					if (this.grouping && this.grouping.groupOf[c] >= 0)
						this.groupOpen[this.grouping.groups[this.grouping.groupOf[c]].root] = 1;
				}
				todo.push(c);
			}
		}
		this.flatten();
		for (let i = 0; i < this.rowNode.length; i++)
			if (this.rowKind[i] === ROW_FRAME && app.isMatch(this.rowNode[i])) { firstMatch = i; break; }
		if (firstMatch >= 0) this.moveFocus(firstMatch);
	}
}

/* ------------------------------------------------------------------ canvas helpers */

const CH = 18;	/* canvas row height, CSS pixels */
const FONT = '12px ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace';

function setupCanvas(canvas) {
	const dpr = window.devicePixelRatio || 1;
	const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
	if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
		canvas.width = Math.round(w * dpr);
		canvas.height = Math.round(h * dpr);
	}
	const ctx = canvas.getContext('2d');
	ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
	ctx.font = FONT;
	ctx.textBaseline = 'middle';
	return { ctx, w, h };
}

/* Text clipped to a width, with an ellipsis; a fixed advance estimate keeps this cheap. */
function fitText(ctx, s, width) {
	const cw = 7.2;
	const max = Math.floor((width - 6) / cw);
	if (max < 2) return '';
	return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/* Hit-test records of what the last paint drew. */
class HitList {
	constructor() { this.n = 0; this.x = new Float64Array(1024); this.y = new Float64Array(1024); this.w = new Float64Array(1024); this.id = new Int32Array(1024); this.aux = new Int32Array(1024); }
	clear() { this.n = 0; }
	push(x, y, w, id, aux) {
		if (this.n === this.x.length) {
			const m = this.n * 2;
			this.x = growFloat64(this.x, m); this.y = growFloat64(this.y, m); this.w = growFloat64(this.w, m);
			this.id = growInt32(this.id, m); this.aux = growInt32(this.aux, m);
		}
		const i = this.n++;
		this.x[i] = x; this.y[i] = y; this.w[i] = w; this.id[i] = id; this.aux[i] = aux;
	}
	find(px, py, h) {
		for (let i = this.n - 1; i >= 0; i--)
			if (px >= this.x[i] && px < this.x[i] + Math.max(this.w[i], 1) && py >= this.y[i] && py < this.y[i] + h) return i;
		return -1;
	}
}

function drawBox(ctx, x, y, w, h, fill, label, hl) {
	ctx.fillStyle = fill;
	ctx.fillRect(x, y, Math.max(w - (w > 3 ? 1 : 0), 0.5), h - 1);
	if (hl) {
		ctx.strokeStyle = '#ffe14d';
		ctx.lineWidth = 2;
		ctx.strokeRect(x + 1, y + 1, Math.max(w - 3, 0.5), h - 3);
	}
	if (w > 24 && label) {
		const s = fitText(ctx, label, w);
		if (s) { ctx.fillStyle = '#111'; ctx.fillText(s, x + 3, y + h / 2); }
	}
}

/* ------------------------------------------------------------------ flame graph */

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

/* ------------------------------------------------------------------ timeline (flame chart) */

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

/* ------------------------------------------------------------------ start */

function fail(root, err) {
	root.textContent = '';
	const box = el('div', 'pyi-error');
	box.append(el('h1', null, 'This report could not be displayed'), el('pre', null, String(err && err.message || err)));
	root.append(box);
	window.__pyiError = String(err && err.message || err);
	document.documentElement.dataset.pyiReady = 'error';
}

async function main() {
	const root = document.getElementById('app');
	try {
		const payload = await readPayload();
		const prof = new Profile(payload);
		window.__pyiApp = new App(root, prof);
	} catch (err) {
		fail(root, err);
	}
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();

})();
