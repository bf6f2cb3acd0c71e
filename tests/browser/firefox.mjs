// SPDX-License-Identifier: MIT
// Firefox smoke check through WebDriver BiDi (Firefox's built-in remote protocol; no driver
// download). Needs a global WebSocket (Node 22+, or Node 20 with --experimental-websocket).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const FIREFOX = process.env.PYI_FIREFOX || '/usr/bin/firefox-esr';

export function firefoxAvailable() {
	return existsSync(FIREFOX) && typeof globalThis.WebSocket === 'function';
}

async function connect() {
	const profile = mkdtempSync(join(tmpdir(), 'pyi-firefox-'));
	const port = 20000 + Math.floor(Math.random() * 20000);
	const proc = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile,
		'--remote-debugging-port', String(port), 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
	await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('firefox did not start')), 30000);
		proc.stderr.on('data', (d) => { if (String(d).includes('WebDriver BiDi listening')) { clearTimeout(timer); resolve(); } });
		proc.on('exit', () => reject(new Error('firefox exited')));
	});
	const ws = new WebSocket(`ws://127.0.0.1:${port}/session`);
	await new Promise((r, j) => { ws.addEventListener('open', r); ws.addEventListener('error', j); });
	let id = 0;
	const pending = new Map(), events = [];
	ws.addEventListener('message', (e) => {
		const m = JSON.parse(e.data);
		if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } else if (m.method) events.push(m);
	});
	const send = (method, params) => new Promise((resolve, reject) => {
		const i = ++id;
		pending.set(i, (m) => (m.error ? reject(new Error(method + ': ' + m.message)) : resolve(m.result)));
		ws.send(JSON.stringify({ id: i, method, params }));
	});
	return {
		send, events,
		close() { ws.close(); proc.kill(); rmSync(profile, { recursive: true, force: true }); },
	};
}

/* Opens each report, waits for the first draw, visits every view; reports through check(). */
export async function firefoxSmoke(files, shotsDir, check) {
	const ff = await connect();
	try {
		await ff.send('session.new', { capabilities: {} });
		await ff.send('session.subscribe', { events: ['log.entryAdded', 'network.beforeRequestSent'] });
		const ctx = (await ff.send('browsingContext.getTree', {})).contexts[0].context;
		await ff.send('browsingContext.setViewport', { context: ctx, viewport: { width: 1280, height: 800 } });
		const evaluate = async (expression) => (await ff.send('script.evaluate',
			{ target: { context: ctx }, awaitPromise: false, expression })).result.value;
		for (const [tag, file] of files) {
			const url = pathToFileURL(file).href;
			ff.events.length = 0;
			await ff.send('browsingContext.navigate', { context: ctx, url, wait: 'complete' });
			let st = null;
			for (let i = 0; i < 300 && !(st && st[0]); i++) {
				st = JSON.parse(await evaluate('JSON.stringify([document.documentElement.dataset.pyiReady || null,' +
					' window.__pyiFirstDraw || 0, window.__pyiError || null])'));
				if (!st[0]) await new Promise((r) => setTimeout(r, 100));
			}
			check(`firefox ${tag}: drawn (${Math.round(st[1])} ms)`, st[0] === '1', JSON.stringify(st));
			for (const v of ['flame', 'timeline', 'tree']) {
				await evaluate(`document.querySelector('button[data-view="${v}"]').click()`);
				await new Promise((r) => setTimeout(r, 300));
				const shot = await ff.send('browsingContext.captureScreenshot', { context: ctx });
				writeFileSync(join(shotsDir, `firefox-${tag}-${v}.png`), Buffer.from(shot.data, 'base64'));
			}
			const dom = JSON.parse(await evaluate('JSON.stringify({ rows: document.querySelectorAll(".pyi-row").length,' +
				' img: document.querySelectorAll("img").length, dialogs: (window.__pyiDialogs || []).length })'));
			check(`firefox ${tag}: tree rows, nothing injected`, dom.rows > 0 && dom.img === 0, JSON.stringify(dom));
			const errors = ff.events.filter((e) => e.method === 'log.entryAdded' && e.params.level === 'error');
			const requests = ff.events.filter((e) => e.method === 'network.beforeRequestSent' && e.params.request.url !== url);
			check(`firefox ${tag}: no errors, no requests`, errors.length === 0 && requests.length === 0,
				JSON.stringify([...errors.map((e) => e.params.text), ...requests.map((e) => e.params.request.url)]));
		}
	} finally {
		ff.close();
	}
}
