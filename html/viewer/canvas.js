/* SPDX-License-Identifier: MIT */
/* Canvas helpers of the flame graph and the timeline: setup, clipped text, boxes, hit tests. */

const CH = 18;	/* canvas row height, CSS pixels */
const FONT = '12px ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace';

function setupCanvas(canvas) {
	const dpr = window.devicePixelRatio || 1;
	const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
	if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
		canvas.width = Math.round(w * dpr);
		canvas.height = Math.round(h * dpr);
	}
	const ctx = canvas.getContext('2d');
	ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
	ctx.font = FONT;
	ctx.textBaseline = 'middle';
	return { ctx, w, h };
}

/* Text clipped to a width, with an ellipsis; a fixed advance estimate keeps this cheap. */
function fitText(ctx, s, width) {
	const cw = 7.2;
	const max = Math.floor((width - 6) / cw);
	if (max < 2) return '';
	return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/* Hit-test records of what the last paint drew. */
class HitList {
	constructor() { this.n = 0; this.x = new Float64Array(1024); this.y = new Float64Array(1024); this.w = new Float64Array(1024); this.id = new Int32Array(1024); this.aux = new Int32Array(1024); }
	clear() { this.n = 0; }
	push(x, y, w, id, aux) {
		if (this.n === this.x.length) {
			const m = this.n * 2;
			this.x = growFloat64(this.x, m); this.y = growFloat64(this.y, m); this.w = growFloat64(this.w, m);
			this.id = growInt32(this.id, m); this.aux = growInt32(this.aux, m);
		}
		const i = this.n++;
		this.x[i] = x; this.y[i] = y; this.w[i] = w; this.id[i] = id; this.aux[i] = aux;
	}
	find(px, py, h) {
		for (let i = this.n - 1; i >= 0; i--)
			if (px >= this.x[i] && px < this.x[i] + Math.max(this.w[i], 1) && py >= this.y[i] && py < this.y[i] + h) return i;
		return -1;
	}
}

function drawBox(ctx, x, y, w, h, fill, label, hl) {
	ctx.fillStyle = fill;
	ctx.fillRect(x, y, Math.max(w - (w > 3 ? 1 : 0), 0.5), h - 1);
	if (hl) {
		ctx.strokeStyle = '#ffe14d';
		ctx.lineWidth = 2;
		ctx.strokeRect(x + 1, y + 1, Math.max(w - 3, 0.5), h - 3);
	}
	if (w > 24 && label) {
		const s = fitText(ctx, label, w);
		if (s) { ctx.fillStyle = '#111'; ctx.fillText(s, x + 3, y + h / 2); }
	}
}
