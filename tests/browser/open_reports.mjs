// SPDX-License-Identifier: MIT
// Opens given HTML reports in headless chromium and checks each opens clean: the viewer
// starts, rows are drawn, each expected name is in the tree, and nothing complains, leaves
// the page or pops up. Used by tests/integration/test_python_api.py for output_html().
// Usage: node open_reports.mjs FILE[:NAME,NAME...[:THREADS]] ...
// THREADS: at least this many threads in the thread selector. Prints "N passed, N failed".
import { launch, openReport } from './harness.mjs';

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
	if (ok) { passed++; console.log('ok   ' + name); }
	else { failed++; console.log('FAIL ' + name + (detail ? ': ' + detail : '')); }
}

async function openOne(ctx, arg) {
	const [file, nameList = '', threads = '0'] = arg.split(':');
	const names = nameList.split(',').filter(Boolean);
	const { page, log } = await openReport(ctx, file);
	check(file + ': viewer started', log.error === null, log.error);
	const text = await page.evaluate(() => document.body.innerText);
	const rows = await page.evaluate(() => document.querySelectorAll('.pyi-row').length);
	check(file + ': rows drawn', rows > 1, `${rows} rows`);
	for (const name of names)
		check(file + ': ' + name + ' in the tree', text.includes(name));
	if (+threads) {
		const n = await page.evaluate(() =>
			document.querySelectorAll('#pyi-thread option[value^="t:"]').length);
		check(file + ': ' + threads + '+ threads in the selector', n >= +threads, `${n}`);
	}
	for (const v of ['tree', 'flame', 'timeline']) {
		await page.click(`button[data-view="${v}"]`);
		await page.waitForTimeout(100);
	}
	const hooked = await page.evaluate(() => window.__pyiDialogs || []);
	check(file + ': no console errors', log.errors.length === 0, log.errors.join(' | '));
	check(file + ': no network requests', log.requests.length === 0, log.requests.join(' '));
	check(file + ': no dialogs', log.dialogs.length === 0 && hooked.length === 0,
		[...log.dialogs, ...hooked].join(' '));
	await page.close();
}

async function main() {
	const b = await launch();
	try {
		for (const arg of process.argv.slice(2))
			await openOne(b.context, arg);
	} catch (e) {
		check('reports opened', false, e.stack || String(e));
	} finally {
		await b.close();
	}
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main();
