// SPDX-License-Identifier: MIT
// HTML report benchmark: file size and time to first draw in headless chromium for generated
// sessions of 10k, 1M and 10M samples (8 threads). Needs tests/browser's npm install first:
//   (cd tests/browser && npm ci) && node --max-old-space-size=8192 bench/html_report.mjs [counts...]
// Arguments ending in .html are existing reports (e.g. from bench/html_c.sh) opened as they are.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { launch, openReport } from '../tests/browser/harness.mjs';
import { assembleTemplate, writeFixture } from '../tests/browser/make_fixture.mjs';

const given = process.argv.slice(2).filter((a) => a.endsWith('.html'));
const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
const dir = process.env.PYI_BENCH_DIR || join(tmpdir(), 'pyi-html-bench');
const template = assembleTemplate();
const b = await launch();
console.log('samples\tthreads\tMB\tgenerate_s\tfirst_draw_ms\tready_ms\ttimeline_ms');
try {
	for (const n of given.length ? given : counts.length ? counts : [10000, 1000000, 10000000]) {
		const g0 = Date.now();
		const r = typeof n === 'string' ? { path: n, bytes: statSync(n).size }
			: writeFixture(dir, { name: 'bench-' + n, samples: n, threads: 8, encoding: 'deflate-base64' }, template);
		const gen = (Date.now() - g0) / 1000;
		const { page, log } = await openReport(b.context, r.path, { timeout: 600000 });
		if (log.error) throw new Error(log.error);
		await page.click('button[data-view="tree"]');
		const t0 = Date.now();
		await page.click('button[data-view="timeline"]');
		await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res))));
		const tl = Date.now() - t0;
		console.log(`${n}\t8\t${(r.bytes / 1e6).toFixed(2)}\t${gen.toFixed(1)}\t${log.firstDrawMs.toFixed(0)}\t${log.wallMs}\t${tl}`);
		await page.close();
	}
} finally {
	await b.close();
}
