// SPDX-License-Identifier: MIT
// Generates HTML report payloads (docs/html-report.md) and standalone pages, without the C side.
// usage: node make_fixture.mjs OUTDIR             -> small, small-json, hostile, hostile-deflate, big
//        node make_fixture.mjs OUTDIR NAME SAMPLES THREADS [json|deflate-base64] [hostile]
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const HTML_DIR = join(HERE, '..', '..', 'html');
const EMBED = join(HERE, '..', '..', 'scripts', 'embed.py');

// The page the build embeds, by the build's own step (scripts/embed.py): the viewer's files
// joined, CSS and JS inlined, the CSP hash of the script.
export function assembleTemplate(dir = HTML_DIR) {
	return execFileSync('python3', [EMBED, '--html', '-', join(dir, 'report.html'),
		join(dir, 'viewer.css'), join(dir, 'viewer', 'files.txt')], { encoding: 'utf8' });
}

// JSON that cannot end the <script> element: '<' (and friends) as \u escapes.
export function safeJson(obj) {
	return JSON.stringify(obj).replace(/[<>&\u2028\u2029]/g,
		(c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export function makePage(template, payload, encoding = 'deflate-base64') {
	const json = safeJson(payload);
	const body = encoding === 'json' ? json
		: deflateSync(Buffer.from(json, 'utf8'), { level: 6 }).toString('base64');
	const element = '<script type="application/octet-stream" id="pyi-data" data-encoding="' +
		encoding + '">' + body + '</script>';
	return template.replace('<!--PYI-DATA-->', () => element);
}

// Deterministic PRNG (mulberry32) so fixtures are reproducible.
function rng(seed) {
	return () => {
		seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const HOSTILE = [
	'</script><img src=x onerror=alert(1)>',
	'<script>alert(2)</script>',
	'"quoted" \'single\' & <b>bold</b>',
	'nul\u0000byte',
	'bad utf-8 \uFFFD\uFFFD',
	'<!-- comment start',
	'javascript:alert(3)',
	'\u202Eevil-rtl',
	'{{constructor.constructor("alert(4)")()}}',
	'${alert(5)}',
	'x'.repeat(3000),
];

export function buildPayload({ samples = 10000, threads = 2, processes = 1, hostile = false, seed = 1,
	mode = 'wall', interval = 0.001 } = {}) {
	const rand = rng(seed);
	const strings = [], stringIdx = new Map();
	const str = (s) => {
		let i = stringIdx.get(s);
		if (i === undefined) { i = strings.length; strings.push(s); stringIdx.set(s, i); }
		return i;
	};
	const frames = [], frameIdx = new Map();
	const frame = (fn, file, line, cls, flags) => {
		const key = fn + '\0' + file + '\0' + line + '\0' + cls + '\0' + flags;
		let i = frameIdx.get(key);
		if (i === undefined) {
			i = frames.length;
			frames.push([str(fn), str(file), line, cls ? str(cls) : -1, flags]);
			frameIdx.set(key, i);
		}
		return i;
	};
	const stacks = [], stackIdx = new Map();
	const push = (parent, f) => {
		const key = (parent + 1) * 1048576 + f;
		let i = stackIdx.get(key);
		if (i === undefined) { i = stacks.length; stacks.push([parent, f]); stackIdx.set(key, i); }
		return i;
	};
	const H = (i) => (hostile ? HOSTILE[i % HOSTILE.length] : null);
	const app = '/home/dev/app/', venv = '/opt/venv/lib/python3.11/site-packages/', std = '/usr/local/lib/python3.11/';
	// A call graph: each function lists its callees.
	const fns = [
		{ n: '<module>', f: app + 'main.py', l: 1, k: [1, 2, 9] },
		{ n: 'main', f: app + 'main.py', l: 40, k: [3, 4, 5, 12] },
		{ n: 'load_config', f: app + 'config.py', l: 10, k: [6, 10] },
		{ n: 'handle', f: app + 'server.py', l: 88, c: 'Server', k: [4, 7, 8, 13] },
		{ n: 'compute', f: app + 'work.py', l: 5, k: [4, 11, 14] },
		{ n: 'get', f: venv + 'requests/api.py', l: 62, k: [15] },
		{ n: 'loads', f: std + 'json/__init__.py', l: 299, k: [16] },
		{ n: 'render', f: app + 'templates.py', l: 20, k: [11] },
		{ n: 'wait', f: std + 'threading.py', l: 320, c: 'Condition', k: [17] },
		{ n: '_find_and_load', f: '<frozen importlib._bootstrap>', l: 1165, k: [2] },
		{ n: 'decode', f: std + 'json/decoder.py', l: 332, c: 'JSONDecoder', k: [16] },
		{ n: 'helper', f: app + 'util.py', l: 3, k: [] },
		{ n: 'run_hidden', f: app + 'hidden.py', l: 7, flags: 4, k: [4] },
		{ n: 'send', f: venv + 'requests/sessions.py', l: 673, c: 'Session', k: [15] },
		{ n: 'exec', f: '<string>', l: 1, k: [11] },
		{ n: 'urlopen', f: venv + 'urllib3/connectionpool.py', l: 715, c: 'HTTPConnectionPool', k: [18] },
		{ n: 'raw_decode', f: std + 'json/decoder.py', l: 343, c: 'JSONDecoder', k: [] },
		{ n: '[waiting]', f: '', l: 0, flags: 1 | 32, k: [] },
		{ n: 'recv_into', f: std + 'socket.py', l: 705, c: 'SocketIO', k: [17] },
	];
	const fid = fns.map((d, i) => frame(H(i) ?? d.n, hostile && i % 3 === 0 ? H(i + 1) : d.f, d.l,
		hostile && i % 4 === 1 ? H(i + 2) : (d.c || ''), (d.flags || 0) | (d.f.startsWith(app) ? 2 : 0)));
	// Thread and process roots.
	const procs = [], thr = [];
	for (let p = 0; p < processes; p++) {
		const pid = 4000 + p;
		const cmd = hostile ? HOSTILE[p % HOSTILE.length] + ' main.py' : 'python3 main.py --worker ' + p;
		procs.push({ pid, cmdline: cmd, python: '3.11.2' });
	}
	for (let t = 0; t < threads; t++) {
		const proc = procs[t % processes];
		const pstack = push(-1, frame(proc.cmdline.split(' ')[0], '<process>', proc.pid, '', 16));
		const name = hostile ? HOSTILE[(t + 3) % HOSTILE.length] : (t === 0 ? 'MainThread' : 'Worker-' + t);
		const ident = 139700000000000 + t * 4096;
		const tstack = push(pstack, frame(name, '<thread>', ident, '', 8));
		thr.push({ stack_prefix: tstack, name, tid: 5000 + t, pid: proc.pid,
			path: [fid[0]], ids: [push(tstack, fid[0])] });
	}
	// Random walk per thread: stay, or pop a few frames and push a few callees.
	const sStack = new Int32Array(samples), sWeight = new Float64Array(samples), sTime = new Float64Array(samples);
	let n = 0, tick = 0;
	while (n < samples) {
		for (let t = 0; t < threads && n < samples; t++) {
			const T = thr[t];
			if (mode === 'cpu' && rand() < 0.3) continue;
			if (rand() > 0.55) {
				let pop = Math.floor(rand() * 3);
				while (pop-- > 0 && T.path.length > 1) { T.path.pop(); T.ids.pop(); }
				let add = Math.floor(rand() * 3);
				while (add-- > 0 && T.path.length < 48) {
					const top = fns[fid.indexOf(T.path[T.path.length - 1])];
					if (!top.k.length) break;
					const callee = top.k[Math.floor(rand() * top.k.length)];
					T.path.push(fid[callee]);
					T.ids.push(push(T.ids[T.ids.length - 1], fid[callee]));
				}
			}
			sStack[n] = T.ids[T.ids.length - 1];
			sWeight[n] = interval;
			sTime[n] = Math.round((tick * interval + t * 2e-6 + rand() * 1e-4) * 1e6) / 1e6;
			n++;
		}
		tick++;
	}
	const duration = (tick + 1) * interval;
	return {
		version: 1,
		meta: {
			target_description: hostile ? 'Program: ' + HOSTILE[0] : 'Program: main.py --serve',
			host: hostile ? HOSTILE[2] : 'build-box',
			pids: procs.map((p) => p.pid),
			start_time: 1795559549.692,
			duration,
			sample_count: samples,
			cpu_time: duration * Math.min(threads, 2) * 0.8,
			interval,
			mode,
			lost_samples: hostile ? 3 : 0,
			sys_path: ['/home/dev/app', '/usr/local/lib/python311.zip', '/usr/local/lib/python3.11',
				'/usr/local/lib/python3.11/lib-dynload', '/opt/venv/lib/python3.11/site-packages'],
			sys_prefixes: ['/opt/venv', '/usr/local', '/opt/venv', '/usr/local'],
			precision: Math.max(0, Math.ceil(-Math.log10(interval))),
		},
		strings,
		frames,
		stacks,
		samples: { stack: Array.from(sStack), weight: Array.from(sWeight), time: Array.from(sTime) },
		threads: thr.map(({ stack_prefix, name, tid, pid }) => ({ stack_prefix, name, tid, pid })),
		processes: procs,
	};
}

export const STANDARD = [
	{ name: 'small', samples: 10000, threads: 2, encoding: 'deflate-base64' },
	{ name: 'small-json', samples: 2000, threads: 2, encoding: 'json' },
	{ name: 'multi', samples: 20000, threads: 4, processes: 2, mode: 'cpu', encoding: 'deflate-base64' },
	{ name: 'hostile', samples: 3000, threads: 3, processes: 2, hostile: true, encoding: 'json' },
	{ name: 'hostile-deflate', samples: 3000, threads: 3, hostile: true, encoding: 'deflate-base64' },
	{ name: 'empty', samples: 0, threads: 1, encoding: 'json' },
	{ name: 'big', samples: 1000000, threads: 8, encoding: 'deflate-base64' },
];

export function writeFixture(outDir, spec, template = assembleTemplate()) {
	mkdirSync(outDir, { recursive: true });
	const page = makePage(template, buildPayload(spec), spec.encoding);
	const path = join(outDir, spec.name + '.html');
	writeFileSync(path, page);
	return { path, bytes: Buffer.byteLength(page) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const [outDir, name, samples, threads, encoding, hostile] = process.argv.slice(2);
	if (!outDir) { console.error('usage: make_fixture.mjs OUTDIR [NAME SAMPLES THREADS [ENCODING] [hostile]]'); process.exit(2); }
	const specs = name ? [{ name, samples: +samples, threads: +threads || 1,
		encoding: encoding || 'deflate-base64', hostile: hostile === 'hostile' }] : STANDARD;
	const template = assembleTemplate();
	for (const s of specs) {
		const r = writeFixture(outDir, s, template);
		console.log(`${r.path}\t${(r.bytes / 1e6).toFixed(2)} MB`);
	}
}
