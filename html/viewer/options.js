/* SPDX-License-Identifier: MIT */
/* The view options: defaults, persistence in localStorage and the "View options" panel. */

const DEFAULTS = {
	view: 'tree', collapse: 'library', showRegex: '', hideRegex: '',
	removeImportlib: true, removeTbhide: true, useThreshold: true, threshold: 0.1,
	timeFormat: 'seconds', flameDir: 'icicle',
};
const OPTIONS_KEY = 'pyinst-bpf:viewer-options';

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

/* The "View options" panel; a change is saved and redraws the current view. */
function buildOptionsPanel(app) {
	const o = app.opts;
	const panel = el('section', 'pyi-options');
	panel.hidden = true;
	const changed = () => { saveOptions(OPTIONS_KEY, app.opts); app.refresh(); };
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
