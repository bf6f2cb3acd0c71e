/* SPDX-License-Identifier: MIT */
/*
 * Data decoding: the #pyi-data element (docs/html-report.md) to a Profile, the payload's tables
 * checked and held in typed arrays, with the path rules (short paths, library, application code).
 */

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
