// SPDX-License-Identifier: MIT
// Browser test of the HTML report viewer: generated reports opened from file:// in headless
// chromium. Prints "N passed, N failed"; exits 1 on any failure.
// env: PYI_FIXTURES (generated pages), PYI_SHOTS (screenshots); default: a private directory
//      of this run (concurrent runs must not write each other's files)
// Speed (first draw of 1M samples < 2 s) is a target measured by bench/html_report.mjs, not
// checked here: this test checks that the page draws, whatever the machine's load.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIREFOX, firefoxAvailable, firefoxSmoke } from './firefox.mjs';
import { HOSTILE_TARGET, LONG, PYI_BIN, renderCReports, renderLaunchReport } from './c_reports.mjs';
import { launch, openReport } from './harness.mjs';
import { STANDARD, assembleTemplate, writeFixture } from './make_fixture.mjs';

const PRIVATE = process.env.PYI_FIXTURES && process.env.PYI_SHOTS ? null
	: mkdtempSync(join(tmpdir(), 'pyi-browser-'));
const FIXTURES = process.env.PYI_FIXTURES || join(PRIVATE, 'fixtures');
const SHOTS = process.env.PYI_SHOTS || join(PRIVATE, 'shots');
const SIZE_LIMIT = 10 * 1000 * 1000;

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
	if (ok) { passed++; console.log('ok   ' + name); }
	else { failed++; console.log('FAIL ' + name + (detail ? ': ' + detail : '')); }
}

/* Nothing left the page, nothing complained, nothing popped up. */
async function checkClean(tag, page, log) {
	const hooked = await page.evaluate(() => window.__pyiDialogs || []);
	check(tag + ': no console errors', log.errors.length === 0, log.errors.join(' | '));
	check(tag + ': no network requests', log.requests.length === 0, log.requests.join(' '));
	check(tag + ': no dialogs', log.dialogs.length === 0 && hooked.length === 0, [...log.dialogs, ...hooked].join(' '));
}

const rowCount = (page) => page.evaluate(() => window.__pyiApp.views.tree.rowKind.length);

async function canvasInk(page, sel) {
	return page.evaluate((s) => {
		const c = document.querySelector(s);
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let ink = 0;
		for (let i = 0; i < d.length; i += 64) if (Math.abs(d[i] - 0x1d) + Math.abs(d[i + 1] - 0x1f) + Math.abs(d[i + 2] - 0x22) > 30) ink++;
		return ink;
	}, sel);
}

async function shot(page, name) {
	const path = join(SHOTS, name + '.png');
	await page.screenshot({ path });
	return path;
}

async function testSmall(ctx, file) {
	const { page, log } = await openReport(ctx, file);
	check('small: viewer started', log.error === null, log.error);
	check('small: header target', (await page.textContent('.pyi-target')) === 'Program: main.py --serve');
	const facts = await page.textContent('.pyi-facts');
	for (const k of ['Host', 'PID', 'Recorded', 'Duration', 'Samples', 'CPU utilization', 'Interval', 'Mode', 'Lost samples'])
		check('small: header shows ' + k, facts.includes(k));
	check('small: title', (await page.title()).includes('main.py'));

	/* call tree: keyboard */
	await page.click('button[data-view="tree"]');
	const r0 = await rowCount(page);
	check('small: tree has rows', r0 > 3, String(r0));
	await page.focus('.pyi-tree');
	await page.keyboard.press('Home');
	await page.keyboard.press('Alt+ArrowRight');
	const r1 = await rowCount(page);
	check('small: Alt+Right expands recursively', r1 > r0, r0 + ' -> ' + r1);
	await page.keyboard.press('ArrowLeft');
	check('small: Left collapses', (await rowCount(page)) === 1);
	await page.keyboard.press('Enter');
	check('small: Enter toggles open', (await rowCount(page)) > 1);
	await page.keyboard.press('ArrowDown');
	await page.keyboard.press('ArrowDown');
	const focused = await page.evaluate(() => window.__pyiApp.views.tree.focus);
	check('small: Down moves focus', focused === 2, String(focused));
	await page.keyboard.press('Home');
	await page.keyboard.press('Alt+ArrowRight');
	check('small: library frames grouped', (await page.locator('.pyi-group-row').count()) > 0);
	await page.locator('.pyi-group-row').first().click();
	check('small: group expands on click', (await page.locator('.pyi-group-row[aria-expanded="true"]').count()) > 0);
	await shot(page, 'small-tree');

	/* options */
	await page.click('.pyi-options-button');
	await page.check('input[name="collapse"][value="disabled"]');
	check('small: collapse disabled removes groups', (await page.locator('.pyi-group-row').count()) === 0);
	await page.check('input[name="collapse"][value="custom"]');
	await page.fill('input[data-option="hideRegex"]', 'main\\.py');
	await page.press('input[data-option="hideRegex"]', 'Enter');
	await page.dispatchEvent('input[data-option="hideRegex"]', 'change');
	check('small: custom hide regex groups app frames', (await page.locator('.pyi-group-row').count()) > 0);
	await page.check('input[name="collapse"][value="library"]');
	const beforeThr = await rowCount(page);
	await page.uncheck('input[data-option="useThreshold"]');
	const afterThr = await rowCount(page);
	check('small: threshold off shows more rows', afterThr >= beforeThr, beforeThr + ' -> ' + afterThr);
	await page.check('input[data-option="useThreshold"]');
	await page.uncheck('input[data-option="removeImportlib"]');
	const importlib = await page.locator('.pyi-row', { hasText: '_find_and_load' }).count();
	await page.check('input[data-option="removeImportlib"]');
	await page.focus('.pyi-tree');
	await page.keyboard.press('Home');
	await page.keyboard.press('Alt+ArrowRight');
	const noImportlib = await page.locator('.pyi-row', { hasText: '_find_and_load' }).count();
	check('small: importlib frames toggle', noImportlib === 0, importlib + ' / ' + noImportlib);
	await page.check('input[name="timeFormat"][value="percent"]');
	check('small: percent time format', (await page.textContent('.pyi-row .pyi-time')).endsWith('%'));
	await page.check('input[name="timeFormat"][value="seconds"]');
	await page.click('.pyi-options-button');

	/* search lights up everywhere */
	await page.fill('#pyi-search', 'decoder.py');
	await page.press('#pyi-search', 'Enter');
	const matches = await page.locator('.pyi-row.pyi-match').count();
	check('small: search highlights tree rows', matches > 0, String(matches));
	check('small: search reports matches', /match/.test(await page.textContent('.pyi-search-info')));
	await shot(page, 'small-search-tree');

	/* flame graph */
	await page.click('button[data-view="flame"]');
	await page.waitForTimeout(100);
	check('small: flame graph drawn', (await canvasInk(page, '.pyi-flame-view canvas')) > 100);
	await shot(page, 'small-search-flame');
	await page.fill('#pyi-search', '');
	await page.press('#pyi-search', 'Escape');
	await shot(page, 'small-flame');
	const box = await page.locator('.pyi-flame-view canvas').boundingBox();
	await page.mouse.move(box.x + 30, box.y + 3 * 18 + 9);
	check('small: flame tooltip', await page.isVisible('.pyi-tooltip'));
	await page.mouse.click(box.x + 30, box.y + 3 * 18 + 9);
	check('small: flame click zooms', (await page.textContent('.pyi-crumb')).includes('›'));
	await page.click('.pyi-flame-view .pyi-flame-dir');
	await shot(page, 'small-flame-zoomed-flame');
	await page.click('.pyi-flame-view .pyi-reset');
	check('small: flame reset', (await page.textContent('.pyi-crumb')) === '');
	await page.click('.pyi-flame-view .pyi-flame-dir');

	/* timeline */
	await page.click('button[data-view="timeline"]');
	await page.waitForTimeout(150);
	check('small: timeline drawn', (await canvasInk(page, '.pyi-timeline-view canvas')) > 100);
	await shot(page, 'small-timeline');
	const tb = await page.locator('.pyi-timeline-view canvas').boundingBox();
	const range = () => page.evaluate(() => { const t = window.__pyiApp.views.timeline; return [t.t0, t.t1]; });
	const [a0, a1] = await range();
	await page.mouse.move(tb.x + tb.width / 2, tb.y + 60);
	await page.mouse.wheel(0, -600);
	await page.waitForTimeout(100);
	const [b0, b1] = await range();
	check('small: wheel zooms timeline', b1 - b0 < (a1 - a0) / 2, `${a1 - a0} -> ${b1 - b0}`);
	await page.mouse.move(tb.x + tb.width / 2, tb.y + 60);
	await page.mouse.down();
	await page.mouse.move(tb.x + tb.width / 2 - 200, tb.y + 60, { steps: 4 });
	await page.mouse.up();
	const [c0] = await range();
	check('small: drag pans timeline', c0 > b0, `${b0} -> ${c0}`);
	await page.mouse.move(tb.x + tb.width / 2, tb.y + 22 + 20 + 9);
	await page.waitForTimeout(50);
	check('small: timeline tooltip', await page.isVisible('.pyi-tooltip'));
	await shot(page, 'small-timeline-zoomed');

	/* one thread at a time */
	await page.selectOption('#pyi-thread', 't:1');
	await page.waitForTimeout(100);
	const lanes = await page.evaluate(() => window.__pyiApp.views.timeline.data.lanes.map((l) => l.label));
	check('small: thread selection filters timeline', lanes.length === 1 && lanes[0].startsWith('Worker-1'), lanes.join(','));
	await page.click('button[data-view="tree"]');
	const rootName = await page.textContent('.pyi-row .pyi-name');
	check('small: thread selection roots the tree at the thread', rootName === 'Worker-1', rootName);
	await shot(page, 'small-thread-tree');
	await checkClean('small', page, log);
	await page.close();
}

async function testOpens(ctx, file, tag, expect) {
	const { page, log } = await openReport(ctx, file);
	check(tag + ': viewer started', log.error === null, log.error);
	if (expect) check(tag + ': ' + expect.what, await page.evaluate(expect.fn));
	for (const v of ['tree', 'flame', 'timeline']) {
		await page.click(`button[data-view="${v}"]`);
		await page.waitForTimeout(100);
	}
	await page.click('button[data-view="tree"]');
	await shot(page, tag);
	await checkClean(tag, page, log);
	await page.close();
}

async function testHostile(ctx, file, tag) {
	const { page, log } = await openReport(ctx, file);
	check(tag + ': viewer started', log.error === null, log.error);
	check(tag + ': hostile target shown as text',
		(await page.textContent('.pyi-target')) === 'Program: </script><img src=x onerror=alert(1)>');
	await page.click('button[data-view="tree"]');
	await page.focus('.pyi-tree');
	await page.keyboard.press('Home');
	await page.keyboard.press('Alt+ArrowRight');
	const lit = await page.evaluate(() => {
		const names = [...document.querySelectorAll('.pyi-name')].map((e) => e.textContent);
		return {
			script: names.some((n) => n.includes('<script>alert(2)</script>')),
			img: names.some((n) => n.startsWith('</script><img src=x onerror=alert(1)>')),
			nul: names.some((n) => n.includes('nul\u0000byte')),
			fffd: names.some((n) => n.includes('\uFFFD')) || document.body.textContent.includes('\uFFFD'),
		};
	});
	check(tag + ': hostile names rendered literally', lit.script && lit.img && lit.nul && lit.fffd, JSON.stringify(lit));
	const opts = await page.evaluate(() => [...document.querySelectorAll('#pyi-thread option')].map((o) => o.text));
	check(tag + ': hostile thread names in selector as text', opts.some((o) => o.includes('<!-- comment start')), opts.join(' | '));
	await shot(page, tag + '-tree');
	for (const v of ['flame', 'timeline']) {
		await page.click(`button[data-view="${v}"]`);
		await page.waitForTimeout(100);
		const b = await page.locator(`.pyi-${v === 'flame' ? 'flame' : 'timeline'}-view canvas`).boundingBox();
		for (let y = 10; y < 200; y += 18) { await page.mouse.move(b.x + 40, b.y + y); }
		await shot(page, tag + '-' + v);
	}
	await page.fill('#pyi-search', '<img');
	await page.press('#pyi-search', 'Enter');
	await page.click('button[data-view="tree"]');
	const dom = await page.evaluate(() => ({
		img: document.querySelectorAll('img').length,
		scripts: document.querySelectorAll('script').length,
		b: document.querySelectorAll('#app b').length,
	}));
	check(tag + ': no injected elements', dom.img === 0 && dom.b === 0 && dom.scripts === 2, JSON.stringify(dom));
	await checkClean(tag, page, log);
	await page.close();
}

async function testBig(ctx, file, tag) {
	const { page, log } = await openReport(ctx, file, { timeout: 120000 });
	check(tag + ': viewer started', log.error === null, log.error);
	check(tag + `: file under 10 MB (${(log.bytes / 1e6).toFixed(2)} MB)`, log.bytes < SIZE_LIMIT);
	check(tag + ': first draw', log.firstDrawMs > 0, String(log.firstDrawMs));
	console.log(`# ${tag}: ${(log.bytes / 1e6).toFixed(2)} MB, first draw ${log.firstDrawMs.toFixed(0)} ms ` +
		`(navigation to ready ${log.wallMs} ms)`);
	await page.click('button[data-view="tree"]');
	await shot(page, tag + '-tree');
	for (const [v, sel] of [['flame', '.pyi-flame-view canvas'], ['timeline', '.pyi-timeline-view canvas']]) {
		const t0 = Date.now();
		await page.click(`button[data-view="${v}"]`);
		await page.waitForFunction((s) => { const c = document.querySelector(s); return c && c.width > 1; }, sel);
		await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
		const ms = Date.now() - t0;
		console.log(`# ${tag}: ${v} view drawn in ${ms} ms`);
		check(`${tag}: ${v} drawn`, (await canvasInk(page, sel)) > 100);
		await shot(page, tag + '-' + v);
	}
	const last = (await page.evaluate(() => window.__pyiApp.prof.threads.length)) - 1;
	await page.selectOption('#pyi-thread', 't:' + last);
	await page.click('button[data-view="tree"]');
	check(tag + ': thread switch', (await page.textContent('.pyi-row .pyi-name')) === 'Worker-' + last);
	await checkClean(tag, page, log);
	await page.close();
}

/* A long session through `pyinst-bpf --load`: bounded file, fast first draw, the timeline's
 * resolution in the header and zoom that stops at it. */
async function testLongC(ctx, file, tag) {
	const { page, log } = await openReport(ctx, file, { timeout: 120000 });
	check(tag + ': viewer started', log.error === null, log.error);
	check(tag + `: file under 10 MB (${(log.bytes / 1e6).toFixed(2)} MB)`, log.bytes < SIZE_LIMIT);
	check(tag + ': first draw', log.firstDrawMs > 0, String(log.firstDrawMs));
	const info = await page.evaluate(() => {
		const p = window.__pyiApp.prof;
		return { res: p.resolution, n: p.sampStack.length, count: p.meta.sample_count, threads: p.threads.length };
	});
	console.log(`# ${tag}: ${(log.bytes / 1e6).toFixed(2)} MB, first draw ${log.firstDrawMs.toFixed(0)} ms, ` +
		`${info.n} records, resolution ${info.res} s`);
	check(tag + ': records coarsened, every sample counted', info.n < LONG.threads * LONG.records &&
		info.count === LONG.threads * LONG.records && info.threads === LONG.threads, JSON.stringify(info));
	check(tag + ': resolution kept', info.res > LONG.weight && info.res < LONG.records * LONG.weight / 50, String(info.res));
	check(tag + ': header shows the timeline resolution', (await page.textContent('.pyi-facts')).includes('Timeline resolution'));
	await page.click('button[data-view="timeline"]');
	await page.waitForTimeout(150);
	const range = () => page.evaluate(() => { const t = window.__pyiApp.views.timeline; return t.t1 - t.t0; });
	const whole = await range();
	const tb = await page.locator('.pyi-timeline-view canvas').boundingBox();
	await page.mouse.move(tb.x + tb.width / 2, tb.y + 40);
	for (let i = 0; i < 60; i++) await page.mouse.wheel(0, -400);
	const zoomed = await range();
	check(tag + ': timeline zooms down to the resolution and no further',
		zoomed < whole / 100 && Math.abs(zoomed - info.res) < info.res * 1e-6, `${whole} -> ${zoomed} (resolution ${info.res})`);
	await page.waitForTimeout(100);
	/* one readback per canvas: more makes Chromium warn on the console */
	check(tag + ': zoomed timeline drawn', (await canvasInk(page, '.pyi-timeline-view canvas')) > 100);
	await page.mouse.move(tb.x + tb.width / 2, tb.y + 22 + 20 + 9);
	await page.waitForTimeout(50);
	check(tag + ': zoomed timeline tooltip', await page.isVisible('.pyi-tooltip'));
	await shot(page, tag + '-timeline-zoomed');
	await checkClean(tag, page, log);
	await page.close();
}

/* A report from the C renderer that must defeat its hostile names. */
async function testHostileC(ctx, file, tag) {
	const { page, log } = await openReport(ctx, file);
	check(tag + ': viewer started', log.error === null, log.error);
	check(tag + ': hostile target shown as text', (await page.textContent('.pyi-target')) === HOSTILE_TARGET);
	await page.click('button[data-view="tree"]');
	await page.focus('.pyi-tree');
	await page.keyboard.press('Home');
	await page.keyboard.press('Alt+ArrowRight');
	const lit = await page.evaluate(() => {
		const names = [...document.querySelectorAll('.pyi-name')].map((e) => e.textContent);
		const text = document.body.textContent;
		return {
			img: names.some((n) => n.includes('</script><img src=x onerror=alert(1)>')),
			cls: names.some((n) => n.startsWith('<script>alert(2)</script>.')),
			fffd: text.includes('bad\uFFFD'),
			nul: names.includes('nul'),
		};
	});
	check(tag + ': hostile names rendered literally', lit.img && lit.cls && lit.fffd && lit.nul, JSON.stringify(lit));
	const opts = await page.evaluate(() => [...document.querySelectorAll('#pyi-thread option')].map((o) => o.text));
	check(tag + ': hostile thread names in selector as text',
		opts.some((o) => o.includes('<!-- comment start')) && opts.some((o) => o.includes('<b>bold</b>')), opts.join(' | '));
	await shot(page, tag + '-tree');
	for (const v of ['flame', 'timeline']) {
		await page.click(`button[data-view="${v}"]`);
		await page.waitForTimeout(100);
		check(`${tag}: ${v} drawn`, (await canvasInk(page, `.pyi-${v}-view canvas`)) > 100);
		const b = await page.locator(`.pyi-${v}-view canvas`).boundingBox();
		for (let y = 10; y < 200; y += 18) { await page.mouse.move(b.x + 40, b.y + y); }
		await shot(page, tag + '-' + v);
	}
	await page.fill('#pyi-search', '<img');
	await page.press('#pyi-search', 'Enter');
	await page.click('button[data-view="tree"]');
	const dom = await page.evaluate(() => ({
		img: document.querySelectorAll('img').length,
		scripts: document.querySelectorAll('script').length,
		b: document.querySelectorAll('#app b').length,
	}));
	check(tag + ': no injected elements', dom.img === 0 && dom.b === 0 && dom.scripts === 2, JSON.stringify(dom));
	await checkClean(tag, page, log);
	await page.close();
}

/* --async reports: threads by default, the switch shows the tasks and their [await]. */
async function testTasks(ctx, file) {
	const { page, log } = await openReport(ctx, file);
	const names = () => page.evaluate(() =>
		[...document.querySelectorAll('.pyi-row .pyi-name')].map((e) => e.textContent));
	check('c-tasks: viewer started', log.error === null, log.error);
	check('c-tasks: a threads/tasks switch', await page.evaluate(() => !!document.querySelector('#pyi-tasks')));
	let seen = await names();
	check('c-tasks: threads view has the loop, no task', seen.includes('run_forever') &&
		!seen.some((n) => n.startsWith('handler')), seen.join(','));
	await page.selectOption('#pyi-tasks', 'tasks');
	await page.waitForTimeout(100);
	seen = await names();
	check('c-tasks: tasks view has the tasks, not the loop', seen.includes('handler-<b>') &&
		seen.includes('Task-2') && !seen.includes('run_forever'), seen.join(','));
	await shot(page, 'c-tasks');
	await checkClean('c-tasks', page, log);
	await page.close();
}

/* A launched program's cpu-mode session, saved and loaded: its header says its pid and mode. */
async function testLaunchReport(ctx, r) {
	const tag = 'c-launch';
	check(tag + ': profiled, saved and loaded', r.status === 0 && r.pid > 0, r.stderr);
	if (r.status !== 0) return;
	const { page, log } = await openReport(ctx, r.out);
	check(tag + ': viewer started', log.error === null, log.error);
	const facts = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('.pyi-fact')]
		.map((d) => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])));
	check(tag + ': header PID is the launched process', facts.PID === String(r.pid),
		'launched ' + r.pid + ', header ' + JSON.stringify(facts));
	check(tag + ': header mode is CPU time', facts.Mode === 'CPU time', facts.Mode);
	check(tag + ': header lost samples counted', facts['Lost samples'] === '0', facts['Lost samples']);
	await page.click('button[data-view="timeline"]');
	await page.waitForTimeout(100);
	const lanes = await page.evaluate(() => window.__pyiApp.views.timeline.data.lanes.map((l) => l.label)
		.filter((l) => l !== 'other samples'));
	check(tag + ': every lane names the pid, none a tid 0 or pid 0',
		lanes.length >= 2 && lanes.every((l) => l.includes('pid ' + r.pid) && !/\b(tid|pid) 0\b/.test(l)),
		lanes.join(' | '));
	await page.click('button[data-view="tree"]');
	const rows = await page.evaluate(() => [...document.querySelectorAll('.pyi-row')].map((e) => e.textContent));
	check(tag + ': the process row says its pid', rows.length > 0 && rows[0].endsWith('pid ' + r.pid), rows.slice(0, 3).join(' | '));
	const groups = await page.evaluate(() => [...document.querySelectorAll('#pyi-thread optgroup')].map((g) => g.label));
	check(tag + ': the thread selector names the process', groups.length === 1 && groups[0].startsWith('Process ' + r.pid + ' '), groups.join(' | '));
	await checkClean(tag, page, log);
	await page.close();
}

/* Reports from `pyinst-bpf --load`: pyinstrument's sessions and a hostile one. */
async function testCReports(ctx, reports) {
	for (const [k, r] of Object.entries(reports))
		if (k !== 'surrogate') check(`C ${k}: pyinst-bpf --load wrote the report`, r.status === 0, r.stderr);
	await testOpens(ctx, reports.demo.out, 'c-demo', {
		what: 'demo.py frames in the tree',
		fn: () => document.querySelectorAll('.pyi-row').length > 3,
	});
	await testOpens(ctx, reports.combined.out, 'c-combined', {
		what: 'two threads in the selector',
		fn: () => document.querySelectorAll('#pyi-thread option[value^="t:"]').length === 2,
	});
	await testOpens(ctx, reports.async.out, 'c-async', {
		what: 'no threads/tasks switch without tasks',
		fn: () => document.querySelector('#pyi-tasks') === null,
	});
	await testTasks(ctx, reports.tasks.out);
	await testOpens(ctx, reports.empty.out, 'c-empty', {
		what: 'says no samples',
		fn: () => !document.querySelector('.pyi-empty').hidden,
	});
	await testHostileC(ctx, reports.hostile.out, 'c-hostile');
	await testLongC(ctx, reports.long.out, 'c-long');
	/* lone surrogates: refused by the loader, or written as U+FFFD */
	const sur = reports.surrogate;
	if (sur.status === 0) await testOpens(ctx, sur.out, 'c-surrogate');
	else check('C surrogate: refused cleanly', sur.status === 1 && !existsSync(sur.out), `${sur.status} ${sur.stderr}`);
}

async function main() {
	mkdirSync(SHOTS, { recursive: true });
	const template = assembleTemplate();
	const files = {};
	for (const spec of STANDARD) {
		const r = writeFixture(FIXTURES, spec, template);
		files[spec.name] = r.path;
	}
	const cReports = renderCReports(FIXTURES);
	const launchReport = cReports && renderLaunchReport();
	if (cReports && !launchReport) console.log('# launched report: skipped (profiling needs root)');
	console.log(cReports ? '# C renderer: ' + PYI_BIN : `# C renderer: skipped (no ${PYI_BIN}; set PYI_BIN)`);
	console.log('# fixtures in ' + FIXTURES);
	console.log('# screenshots in ' + SHOTS);
	const b = await launch();
	try {
		await testSmall(b.context, files.small);
		await testOpens(b.context, files['small-json'], 'small-json');
		await testOpens(b.context, files.multi, 'multi', {
			what: 'two processes under [root]',
			fn: () => document.querySelector('.pyi-row .pyi-name').textContent === '[root]' &&
				document.querySelectorAll('#pyi-thread option[value^="p:"]').length === 2,
		});
		await testOpens(b.context, files.empty, 'empty', {
			what: 'says no samples',
			fn: () => !document.querySelector('.pyi-empty').hidden,
		});
		await testHostile(b.context, files.hostile, 'hostile');
		await testHostile(b.context, files['hostile-deflate'], 'hostile-deflate');
		await testBig(b.context, files.small, '10k');
		await testBig(b.context, files.big, '1M');
		if (cReports) await testCReports(b.context, cReports);
		if (launchReport) await testLaunchReport(b.context, launchReport);
	} catch (e) {
		check('test ran to the end', false, e.stack || String(e));
	} finally {
		await b.close();
	}
	if (firefoxAvailable()) {
		try {
			await firefoxSmoke([['small', files.small], ['hostile', files.hostile],
				['hostile-deflate', files['hostile-deflate']], ['1M', files.big],
				...(cReports ? [['c-demo', cReports.demo.out], ['c-hostile', cReports.hostile.out]] : [])],
				SHOTS, check);
		} catch (e) {
			check('firefox smoke ran', false, e.stack || String(e));
		}
	} else {
		console.log(`# firefox: skipped (needs ${FIREFOX} and a global WebSocket)`);
	}
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main();
