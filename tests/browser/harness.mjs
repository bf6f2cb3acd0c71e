// SPDX-License-Identifier: MIT
// Launches Debian's chromium through playwright-core and opens reports with every network
// request, console error and dialog recorded.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PYI_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
	const userDataDir = mkdtempSync(join(tmpdir(), 'pyi-chromium-'));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: CHROMIUM,
		headless: true,
		viewport: { width: 1280, height: 800 },
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	/* Dialog functions are hooked before any page script runs. */
	await context.addInitScript(() => {
		/* Every report starts from the default view options (the viewer persists them). */
		try { window.localStorage.clear(); } catch (e) { /* file:// storage may be off */ }
		window.__pyiDialogs = [];
		for (const k of ['alert', 'confirm', 'prompt', 'print', 'open'])
			window[k] = (...a) => { window.__pyiDialogs.push(k + ':' + a.join(',')); return null; };
	});
	return {
		context,
		async close() {
			await context.close();
			rmSync(userDataDir, { recursive: true, force: true });
		},
	};
}

/* Opens a report file; returns the page and what it did. Waits for the first draw. */
export async function openReport(context, file, { timeout = 60000 } = {}) {
	const url = pathToFileURL(file).href;
	const page = await context.newPage();
	const log = { url, errors: [], requests: [], dialogs: [], bytes: statSync(file).size };
	page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log.errors.push(m.type() + ': ' + m.text()); });
	page.on('pageerror', (e) => log.errors.push('pageerror: ' + e));
	page.on('dialog', (d) => { log.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	page.on('request', (r) => { if (r.url() !== url) log.requests.push(r.url()); });
	await page.route('**/*', (route) => {
		const u = route.request().url();
		if (u === url) return route.continue();
		log.requests.push(u);
		return route.abort();
	});
	const t0 = Date.now();
	await page.goto(url, { waitUntil: 'domcontentloaded', timeout });
	await page.waitForFunction(() => document.documentElement.dataset.pyiReady, null, { timeout });
	log.wallMs = Date.now() - t0;
	log.firstDrawMs = await page.evaluate(() => window.__pyiFirstDraw || -1);
	log.error = await page.evaluate(() => window.__pyiError || null);
	return { page, log };
}
