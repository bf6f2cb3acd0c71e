/* SPDX-License-Identifier: MIT */
/* Search: frames whose function or file name contains the query are marked in every view. */

/*
 * The search box and its match count: typing searches after a pause, Enter at once and opens
 * the call tree down to the matches, Escape clears.
 */
function buildSearchBox(app) {
	const search = el('input', 'pyi-search');
	search.type = 'search';
	search.id = 'pyi-search';
	search.placeholder = 'Search function or file…';
	search.setAttribute('aria-label', 'Search function or file name');
	let timer = 0;
	search.addEventListener('input', () => {
		clearTimeout(timer);
		timer = setTimeout(() => app.setQuery(search.value), 120);
	});
	search.addEventListener('keydown', (e) => {
		if (e.key === 'Enter') { clearTimeout(timer); app.setQuery(search.value); app.views.tree.revealMatches(); }
		if (e.key === 'Escape') { search.value = ''; app.setQuery(''); }
	});
	app.searchInfo = el('span', 'pyi-search-info');
	const sw = el('div', 'pyi-search-wrap');
	sw.append(search, app.searchInfo);
	return sw;
}

/* Per frame, 1 where its function or file name contains the needle (lower case); the count. */
function matchFrames(prof, needle) {
	const nF = prof.fName.length;
	const match = new Uint8Array(nF);
	let count = 0;
	for (let f = 0; f < nF; f++) {
		if (prof.fName[f].toLowerCase().includes(needle) ||
			prof.file(f).toLowerCase().includes(needle)) { match[f] = 1; count++; }
	}
	return { match, count };
}
