/* SPDX-License-Identifier: MIT */
/*
 * pyinst-bpf report viewer. Plain JS, no dependencies, no network.
 * Reads the payload described in docs/html-report.md from the #pyi-data script element.
 * Every string from the payload reaches the page through textContent, <option>.text,
 * document.title or canvas fillText: never through innerHTML.
 * This file starts it: the payload decoded to a Profile, the App built, or why not shown.
 */

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
