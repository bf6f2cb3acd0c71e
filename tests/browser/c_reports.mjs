// SPDX-License-Identifier: MIT
// Reports written by the real C renderer: `pyinst-bpf --load X.pyisession -o X.html` on
// pyinstrument's own sessions and on a hostile session this file writes.
// env: PYI_BIN (default <repo>/build/pyinst-bpf), PYI_SAMPLES (default <repo>/tests/data/pyinstrument-samples).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
export const PYI_BIN = process.env.PYI_BIN || join(ROOT, 'build', 'pyinst-bpf');
const SAMPLES = process.env.PYI_SAMPLES || join(ROOT, 'tests', 'data', 'pyinstrument-samples');

export const HOSTILE_TARGET = 'Program: </script><img src=x onerror=alert(1)>';

// pyinstrument's .pyisession layout; names that try to end the script element, quote, NUL
// (a field separator inside frame identifiers), bytes that are not UTF-8, U+2028/U+2029.
function hostileSession() {
	const thread = '<!-- comment start\u0000<thread>\u0000140000000000001';
	const worker = '"quoted" \'single\' & <b>bold</b>\u0000<thread>\u0000140000000000002';
	const rec = (stack, w) => [stack, w];
	const records = [];
	for (let i = 0; i < 40; i++) {
		records.push(rec([thread, '</script><img src=x onerror=alert(1)>\u0000/app/"q"&\'s\'.py\u000010\u0001c<script>alert(2)</script>',
			'nul\u0000byte\u0000/app/x.py\u00002', '@BAD@\u0000/app/\u2028\u2029.py\u00003'], 0.001));
		records.push(rec([worker, '<script>alert(2)</script>\u0000<string>\u00001',
			'${alert(5)}\u0000/usr/local/lib/python3.11/x.py\u00004\u0001h1'], 0.002));
	}
	const json = JSON.stringify({
		start_time: 1795559549.5, duration: 0.12, min_interval: 0.001, max_interval: 0.001,
		sample_count: records.length, start_call_stack: [thread], target_description: HOSTILE_TARGET,
		cpu_time: 0.1, sys_path: ['/app', '</script>'], sys_prefixes: ['/usr/local'],
		frame_records: records,
	});
	// raw bytes that are not UTF-8 (the C side must write U+FFFD)
	const bad = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0xc0, 0x80]);
	const parts = json.split('@BAD@').map((x) => Buffer.from(x));
	return Buffer.concat(parts.flatMap((x, i) => (i ? [bad, x] : [x])));
}

// --async: a thread's own samples and two task roots ("<task>") with an await chain.
function tasksSession() {
	const thread = 'MainThread\u0000<thread>\u0000140000000000001';
	const records = [];
	for (let i = 0; i < 20; i++) {
		records.push([[thread, 'run_forever\u0000/usr/lib/python3.11/asyncio/base_events.py\u0000590',
			'select\u0000/usr/lib/python3.11/selectors.py\u0000451'], 0.001]);
		records.push([[thread, 'handler-<b>\u0000<task>\u00000', 'handler\u0000/app/api.py\u000010',
			'slow_dependency\u0000/app/api.py\u000020', '[await]'], 0.002]);
		records.push([[thread, 'Task-2\u0000<task>\u00000', 'ticker\u0000/app/api.py\u000030'], 0.001]);
	}
	return JSON.stringify({
		start_time: 1795559549.5, duration: 0.08, min_interval: 0.001, max_interval: 0.001,
		sample_count: records.length, start_call_stack: [thread], target_description: 'tasks',
		cpu_time: 0.02, sys_path: ['/app'], sys_prefixes: ['/usr'], frame_records: records,
	});
}

// Lone surrogates are valid in Python's json but cannot be UTF-8: load refuses, or U+FFFD.
function surrogateSession() {
	return '{"start_time": 1, "duration": 0.01, "min_interval": 0.001, "max_interval": 0.001, ' +
		'"sample_count": 1, "start_call_stack": [], "target_description": "lone \\ud800", ' +
		'"cpu_time": 0, "sys_path": [], "sys_prefixes": [], "frame_records": ' +
		'[[["T\\u0000<thread>\\u00001", "f \\udc41 \\ud800\\u0000/a.py\\u00001"], 0.001]]}';
}

// A long session (docs/long-sessions.md): 8 threads x 80 000 records of 5 ms, 400 s each,
// more records than a session keeps, so `--load` coarsens its timeline into buckets.
export const LONG = { threads: 8, records: 80000, weight: 0.005 };
function writeLongSession(path) {
	const fd = openSync(path, 'w');
	let seed = 7;
	const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
	const pools = [];
	for (let t = 0; t < LONG.threads; t++) {
		const thread = JSON.stringify((t ? 'Worker-' + t : 'MainThread') + '\u0000<thread>\u0000' + (140000 + t));
		const pool = [];
		for (let i = 0; i < 60; i++) {
			const frames = [thread];
			for (let d = 0, n = 3 + rnd(6); d < n; d++) {
				const f = (i * 3 + d * 7 + rnd(4)) % 50;
				frames.push(JSON.stringify(`handler_${f}\u0000/srv/app/mod${f % 9}.py\u0000${10 + f}`));
			}
			pool.push('[[' + frames.join(', ') + '], ' + LONG.weight + ']');
		}
		pools.push(pool);
	}
	const n = LONG.threads * LONG.records;
	writeSync(fd, '{"start_time": 1795559549.5, "duration": ' + LONG.records * LONG.weight +
		', "min_interval": ' + LONG.weight + ', "max_interval": ' + LONG.weight + ', "sample_count": ' + n +
		', "start_call_stack": [], "target_description": "Program: long_server.py", "cpu_time": 100.0, ' +
		'"sys_path": ["/srv/app"], "sys_prefixes": ["/usr"], "frame_records": [');
	const cur = new Array(LONG.threads).fill(0);
	let chunk = [];
	for (let i = 0; i < n; i++) {
		const t = i % LONG.threads;
		if (rnd(10) === 0) cur[t] = rnd(60);
		chunk.push(pools[t][cur[t]]);
		if (chunk.length === 10000 || i === n - 1) {
			writeSync(fd, (i >= chunk.length ? ', ' : '') + chunk.join(', '));
			chunk = [];
		}
	}
	writeSync(fd, ']}');
	closeSync(fd);
}

function render(src, out) {
	const r = spawnSync(PYI_BIN, ['--load', src, '-o', out], { encoding: 'utf8' });
	return { status: r.status, stderr: (r.stderr || '') + (r.error ? String(r.error) : ''), out };
}

// Writes the sessions and renders them. Returns null when there is no binary and PYI_BIN was
// not given (a run from a source tree without a build); each result has status and path.
export function renderCReports(outDir) {
	if (!existsSync(PYI_BIN)) {
		if (process.env.PYI_BIN) throw new Error('PYI_BIN ' + PYI_BIN + ' does not exist');
		return null;
	}
	mkdirSync(outDir, { recursive: true });
	writeFileSync(join(outDir, 'c-hostile.pyisession'), hostileSession());
	writeFileSync(join(outDir, 'c-surrogate.pyisession'), surrogateSession());
	writeFileSync(join(outDir, 'c-tasks.pyisession'), tasksSession());
	writeLongSession(join(outDir, 'c-long.pyisession'));
	return {
		demo: render(join(SAMPLES, 'demo.pyisession'), join(outDir, 'c-demo.html')),
		combined: render(join(SAMPLES, 'combined.pyisession'), join(outDir, 'c-combined.html')),
		async: render(join(SAMPLES, 'async_enabled.pyisession'), join(outDir, 'c-async.html')),
		empty: render(join(SAMPLES, 'empty.pyisession'), join(outDir, 'c-empty.html')),
		tasks: render(join(outDir, 'c-tasks.pyisession'), join(outDir, 'c-tasks.html')),
		hostile: render(join(outDir, 'c-hostile.pyisession'), join(outDir, 'c-hostile.html')),
		surrogate: render(join(outDir, 'c-surrogate.pyisession'), join(outDir, 'c-surrogate.html')),
		long: render(join(outDir, 'c-long.pyisession'), join(outDir, 'c-long.html')),
	};
}

// The quick start's path (scripts/quickstart.sh): a launched program profiled in cpu mode into a
// .pyisession, then `--load` into HTML. The program writes its own pid, which the header, the
// process row and every timeline lane must show. Needs root (BPF); null without it.
const LAUNCHED = `
import os, sys, threading, time
def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(500))
worker = threading.Thread(target=spin, args=(0.3,), name="spinner")
worker.start()
spin(0.3)
worker.join()
open(sys.argv[1], "w").write(str(os.getpid()))
`;

export function renderLaunchReport() {
	if (!existsSync(PYI_BIN) || typeof process.getuid !== 'function' || process.getuid() !== 0)
		return null;
	// a directory of its own: the shared fixtures directory may be another run's too
	const outDir = mkdtempSync(join(tmpdir(), 'pyi-launch-'));
	const session = join(outDir, 'c-launch.pyisession'), pidFile = join(outDir, 'c-launch.pid');
	const out = join(outDir, 'c-launch.html');
	const r = spawnSync(PYI_BIN, ['-q', '--mode', 'cpu', '-o', session, '--', 'python3', '-c',
		LAUNCHED, pidFile], { encoding: 'utf8' });
	if (r.status !== 0)
		return { status: r.status, stderr: 'profiling: ' + r.stderr, out };
	const loaded = render(session, out);
	loaded.pid = Number(readFileSync(pidFile, 'utf8'));
	return loaded;
}
