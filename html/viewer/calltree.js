/* SPDX-License-Identifier: MIT */
/* The call tree view: rows of the processed tree, drawn only where the scroller shows them. */

const ROW_H = 22;
const ROW_FRAME = 0, ROW_SELF = 1, ROW_GROUP = 2;

class CallTreeView {
	constructor(app) {
		this.app = app;
		this.elem = el('section', 'pyi-view pyi-tree-view');
		this.scroller = el('div', 'pyi-tree');
		this.scroller.tabIndex = 0;
		this.scroller.setAttribute('role', 'tree');
		this.scroller.setAttribute('aria-label', 'Call tree');
		this.spacer = el('div', 'pyi-tree-spacer');
		this.scroller.append(this.spacer);
		this.empty = el('p', 'pyi-empty', 'No samples were recorded.');
		this.empty.hidden = true;
		this.elem.append(this.empty, this.scroller);
		this.expand = null;	/* per node: 0 default, 1 open, 2 closed */
		this.groupOpen = null;
		this.focus = 0;
		this.rowKind = []; this.rowNode = []; this.rowDepth = [];
		this.scroller.addEventListener('scroll', () => this.paintRows());
		this.scroller.addEventListener('keydown', (e) => this.onKey(e));
		this.scroller.addEventListener('click', (e) => this.onClick(e));
		this.scroller.addEventListener('focus', () => this.paintRows());
	}

	draw() {
		const app = this.app, tree = app.getTree(), o = app.opts;
		if (this.treeVersion !== app.treeVersion) {
			this.expand = new Uint8Array(tree.n);
			this.groupOpen = new Uint8Array(tree.n);
			this.treeVersion = app.treeVersion;
			this.focus = 0;
		}
		this.tree = tree;
		this.droot = tree.displayRoot();
		this.rootTotal = tree.total[this.droot];
		this.empty.hidden = this.rootTotal > 0;
		this.scroller.hidden = !(this.rootTotal > 0);
		this.thr = o.useThreshold ? this.rootTotal * o.threshold / 100 : 0;
		const thr = this.thr;
		const visibleKids = (nd) => tree.children(nd).filter((c) => tree.total[c] >= thr && tree.total[c] > 0);
		this.visibleKids = visibleKids;
		let showRe = null, hideRe = null;
		try { if (o.collapse === 'custom' && o.showRegex) showRe = new RegExp(o.showRegex); } catch (e) { showRe = null; }
		try { if (o.collapse === 'custom' && o.hideRegex) hideRe = new RegExp(o.hideRegex); } catch (e) { hideRe = null; }
		const prof = app.prof;
		const hidden = (nd) => {
			if (prof.fFlags[tree.frame[nd]] & (F_THREAD | F_PROCESS)) return false;
			const path = prof.file(tree.frame[nd]);
			if (showRe && showRe.test(path)) return false;
			if (hideRe && hideRe.test(path)) return true;
			return !tree.app[nd];
		};
		this.grouping = o.collapse === 'disabled' ? null : computeGroups(tree, this.droot, visibleKids, hidden);
		this.flatten();
		app.markDrawn();
	}

	isExpanded(nd) {
		const s = this.expand[nd];
		if (s) return s === 1;
		return nd === this.droot || this.tree.total[nd] >= 0.2 * this.rootTotal;
	}

	/* The rows a node shows under it: children above threshold, [self], collapsed groups flattened. */
	displayChildren(nd) {
		const tree = this.tree, g = this.grouping;
		const out = [];
		const walk = (p) => {
			for (const c of this.visibleKids(p)) {
				const gid = g ? g.groupOf[c] : -1;
				if (gid >= 0) {
					const grp = g.groups[gid];
					if (c !== grp.root && !this.groupOpen[grp.root] && !grp.exits.has(c)) { walk(c); continue; }
				}
				out.push(c);
			}
		};
		walk(nd);
		out.sort((a, b) => tree.total[b] - tree.total[a]);
		return out;
	}

	hasSelfRow(nd, kids) {
		return kids.length > 0 && this.tree.self[nd] > 0 && this.tree.self[nd] >= this.thr;
	}

	flatten() {
		const kind = [], node = [], depth = [];
		const stack = [[this.droot, 0, ROW_FRAME]];
		while (stack.length) {
			const [nd, d, k] = stack.pop();
			kind.push(k); node.push(nd); depth.push(d);
			if (k !== ROW_FRAME) continue;
			const g = this.grouping;
			const kids = this.displayChildren(nd);
			const open = this.isExpanded(nd);
			const items = [];
			if (open && g && g.groupOf[nd] >= 0 && g.groups[g.groupOf[nd]].root === nd)
				items.push([nd, d + 1, ROW_GROUP]);
			if (open) {
				const rows = kids.map((c) => [c, d + 1, ROW_FRAME, this.tree.total[c]]);
				if (this.hasSelfRow(nd, kids)) rows.push([nd, d + 1, ROW_SELF, this.tree.self[nd]]);
				rows.sort((a, b) => b[3] - a[3]);
				for (const r of rows) items.push(r);
			}
			for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
		}
		this.rowKind = kind; this.rowNode = node; this.rowDepth = depth;
		if (this.focus >= kind.length) this.focus = kind.length - 1;
		this.spacer.style.height = (kind.length * ROW_H) + 'px';
		this.paintRows(true);
	}

	paintRows() {
		if (!this.tree || this.elem.hidden) return;
		const sc = this.scroller;
		const top = sc.scrollTop, h = sc.clientHeight || 600;
		const first = Math.max(0, Math.floor(top / ROW_H) - 10);
		const last = Math.min(this.rowKind.length, Math.ceil((top + h) / ROW_H) + 10);
		const frag = document.createDocumentFragment();
		for (let i = first; i < last; i++) frag.append(this.renderRow(i));
		this.spacer.textContent = '';
		this.spacer.append(frag);
		const fr = this.rowKind.length ? 'pyi-row-' + this.focus : '';
		if (fr) sc.setAttribute('aria-activedescendant', fr); else sc.removeAttribute('aria-activedescendant');
	}

	renderRow(i) {
		const tree = this.tree, prof = this.app.prof, app = this.app;
		const kind = this.rowKind[i], nd = this.rowNode[i], d = this.rowDepth[i];
		const row = el('div', 'pyi-row');
		row.id = 'pyi-row-' + i;
		row.dataset.row = String(i);
		row.setAttribute('role', 'treeitem');
		row.setAttribute('aria-level', String(d + 1));
		row.style.top = (i * ROW_H) + 'px';
		row.style.paddingLeft = (6 + d * 16) + 'px';
		if (i === this.focus) row.classList.add('pyi-focus');
		const guide = el('span', 'pyi-guide');
		guide.style.left = (d * 16 - 2) + 'px';
		if (kind === ROW_GROUP) {
			const g = this.grouping.groups[this.grouping.groupOf[nd]];
			const open = !!this.groupOpen[nd];
			row.classList.add('pyi-group-row');
			row.setAttribute('aria-expanded', String(open));
			let libs = g.libs.slice(0, 3).join(', ');
			if (g.libs.length > 3) libs += '…';
			row.append(el('span', 'pyi-tri', open ? '▾' : '▸'),
				el('span', 'pyi-group-text', (g.frames.length - 1) + ' frames hidden' + (libs ? ' (' + libs + ')' : '')));
			return row;
		}
		const t = kind === ROW_SELF ? tree.self[nd] : tree.total[nd];
		const p = this.rootTotal > 0 ? t / this.rootTotal : 0;
		const tc = timeClass(p);
		guide.classList.add(tc);
		row.append(guide);
		const hasKids = kind === ROW_FRAME && this.displayChildren(nd).length > 0;
		const open = hasKids && this.isExpanded(nd);
		if (hasKids) row.setAttribute('aria-expanded', String(open));
		row.append(el('span', 'pyi-tri', hasKids ? (open ? '▾' : '▸') : ''));
		row.append(el('span', 'pyi-time ' + tc, app.formatTime(t, this.rootTotal)));
		if (kind === ROW_SELF) {
			row.append(el('span', 'pyi-name pyi-synth', '[self]'));
			if (nd > 0) row.append(el('span', 'pyi-loc', prof.shortPath(prof.fFile[tree.frame[nd]])));
			return row;
		}
		const f = tree.frame[nd];
		const name = el('span', 'pyi-name', tree.name(nd));
		if (nd > 0) {
			const flags = prof.fFlags[f];
			if (tree.app[nd]) name.classList.add('pyi-app');
			if (flags & (F_SYNTHETIC | F_IDLE)) name.classList.add('pyi-synth');
			if (flags & (F_THREAD | F_PROCESS)) name.classList.add('pyi-root-frame');
		}
		row.append(name);
		if (nd > 0) {
			const flags = prof.fFlags[f];
			let loc;
			if (flags & F_THREAD) loc = '<thread>:' + prof.fLine[f];
			else if (flags & F_PROCESS) loc = 'pid ' + prof.fLine[f];
			else loc = prof.location(f);
			row.append(el('span', 'pyi-loc', loc));
			row.title = prof.file(f);
		}
		if (app.isMatch(nd)) row.classList.add('pyi-match');
		return row;
	}

	setExpanded(nd, open, recursive) {
		const todo = [nd];
		while (todo.length) {
			const x = todo.pop();
			this.expand[x] = open ? 1 : 2;
			if (recursive) for (const c of this.visibleKids(x)) todo.push(c);
		}
	}

	toggleRow(i, recursive, want) {
		const kind = this.rowKind[i], nd = this.rowNode[i];
		if (kind === ROW_GROUP) {
			this.groupOpen[nd] = want === undefined ? (this.groupOpen[nd] ? 0 : 1) : (want ? 1 : 0);
		} else if (kind === ROW_FRAME) {
			const open = want === undefined ? !this.isExpanded(nd) : want;
			this.setExpanded(nd, open, recursive);
		}
		this.flatten();
	}

	parentRow(i) {
		const d = this.rowDepth[i];
		for (let j = i - 1; j >= 0; j--) if (this.rowDepth[j] < d) return j;
		return i;
	}

	moveFocus(i) {
		const n = this.rowKind.length;
		if (!n) return;
		this.focus = Math.max(0, Math.min(n - 1, i));
		const sc = this.scroller, y = this.focus * ROW_H;
		if (y < sc.scrollTop) sc.scrollTop = y;
		else if (y + ROW_H > sc.scrollTop + sc.clientHeight) sc.scrollTop = y + ROW_H - sc.clientHeight;
		this.paintRows();
	}

	onKey(e) {
		const i = this.focus, kind = this.rowKind[i], nd = this.rowNode[i];
		const expandable = kind === ROW_GROUP || (kind === ROW_FRAME && this.displayChildren(nd).length > 0);
		const isOpen = kind === ROW_GROUP ? !!this.groupOpen[nd] : expandable && this.isExpanded(nd);
		switch (e.key) {
		case 'ArrowDown': this.moveFocus(i + 1); break;
		case 'ArrowUp': this.moveFocus(i - 1); break;
		case 'Home': this.moveFocus(0); break;
		case 'End': this.moveFocus(this.rowKind.length - 1); break;
		case 'PageDown': this.moveFocus(i + Math.floor(this.scroller.clientHeight / ROW_H)); break;
		case 'PageUp': this.moveFocus(i - Math.floor(this.scroller.clientHeight / ROW_H)); break;
		case 'ArrowRight':
			if (expandable && (!isOpen || e.altKey)) this.toggleRow(i, e.altKey, true);
			else this.moveFocus(i + 1);
			break;
		case 'ArrowLeft':
			if (expandable && (isOpen || e.altKey)) this.toggleRow(i, e.altKey, false);
			else this.moveFocus(this.parentRow(i));
			break;
		case 'Enter': case ' ':
			if (expandable) this.toggleRow(i, e.altKey);
			break;
		default: return;
		}
		e.preventDefault();
	}

	onClick(e) {
		const row = e.target.closest('.pyi-row');
		if (!row) return;
		const i = parseInt(row.dataset.row, 10);
		this.focus = i;
		const kind = this.rowKind[i];
		const expandable = kind === ROW_GROUP || (kind === ROW_FRAME && this.displayChildren(this.rowNode[i]).length > 0);
		if (expandable) this.toggleRow(i, e.altKey); else this.paintRows();
		this.scroller.focus({ preventScroll: true });
	}

	/* Opens every ancestor of a matching node so that the matches are on screen. */
	revealMatches() {
		const app = this.app;
		if (!app.match || this.app.opts.view !== 'tree') return;
		const tree = this.tree;
		let firstMatch = -1;
		const todo = [this.droot];
		while (todo.length) {
			const nd = todo.pop();
			for (const c of this.visibleKids(nd)) {
				if (app.isMatch(c)) {
					for (let p = tree.parent[c]; p >= 0; p = tree.parent[p]) this.expand[p] = 1;
					if (this.grouping && this.grouping.groupOf[c] >= 0)
						this.groupOpen[this.grouping.groups[this.grouping.groupOf[c]].root] = 1;
				}
				todo.push(c);
			}
		}
		this.flatten();
		for (let i = 0; i < this.rowNode.length; i++)
			if (this.rowKind[i] === ROW_FRAME && app.isMatch(this.rowNode[i])) { firstMatch = i; break; }
		if (firstMatch >= 0) this.moveFocus(firstMatch);
	}
}
