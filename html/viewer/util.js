/* SPDX-License-Identifier: MIT */
/* Helpers every part of the viewer uses: DOM elements, typed-array growth, formatting. */

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
