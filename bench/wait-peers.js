#!/usr/bin/env node
'use strict';
// npm run bench:wait [-- --reps N]
//
// nbconnect wait against wait-on and wait-port, each a fresh process per
// run, interleaved over the repetitions, against the same listeners:
//   (a) localhost answering ::1 first, the server on 127.0.0.1 only (a
//       private mount namespace with its own /etc/hosts), with Node's
//       autoSelectFamily on (Node 20's default) and off;
//   (b) a black hole with a 2 s overall deadline: when each gives up;
//   (c) a service that starts listening 1.5 s in: how long after each notices;
//   (d) what each prints when the service never comes up (refused, 2 s).
// And the connect deadline of fetch through nbconnect's createConnection
// against undici's own connect.timeout, both at 100 ms, against a black hole.
// The peers are installed from npm into bench/peers/, never into the
// project's dependencies. Results: bench/results/wait-peers.{json,md}.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { blackHole, refusedPort } = require('../examples/peers');

const ROOT = path.join(__dirname, '..');
const PEERS = path.join(__dirname, 'peers');
// --installed-only: npm run bench's call, which installs nothing; without
// the peers it says how to get them and exits.
const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '3' }, 'installed-only': { type: 'boolean', default: false } } });
const REPS = Number(flags.reps);

const peersInstalled = () => fs.existsSync(path.join(PEERS, 'node_modules', 'wait-on')) && fs.existsSync(path.join(PEERS, 'node_modules', 'wait-port'));

function installPeers() {
  if (peersInstalled()) return;
  const lock = fs.existsSync(path.join(PEERS, 'package-lock.json'));
  const r = spawnSync('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: PEERS, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not install the peers into bench/peers');
}

const version = (name) => JSON.parse(fs.readFileSync(path.join(PEERS, 'node_modules', name, 'package.json'), 'utf8')).version;

/** Each tool's command line for a TCP target and an overall deadline in ms. */
const TOOLS = {
  'nbconnect wait': (host, port, ms) => [path.join(ROOT, 'bin', 'nbconnect.js'), 'wait', `${host}:${port}`, '--timeout', String(ms)], // no interval flag: its default, 1000 ms
  'wait-on': (host, port, ms) => [
    path.join(PEERS, 'node_modules', 'wait-on', 'bin', 'wait-on'),
    `tcp:${host}:${port}`,
    '--timeout',
    String(ms),
    '--interval',
    '250',
  ],
  'wait-port': (host, port, ms) => [path.join(PEERS, 'node_modules', 'wait-port', 'bin', 'wait-port.js'), `${host}:${port}`, '--timeout', String(ms)], // no interval flag: its default, 1000 ms
};

/** Runs one tool; resolves with its exit status, ms from spawn to exit, and its output. */
function runTool(argv, { wrap, env } = {}) {
  return new Promise((resolve) => {
    const [file, args] = wrap ? wrap(argv) : [process.execPath, argv];
    const started = performance.now();
    const child = spawn(file, args, { env: { ...process.env, ...env }, timeout: 30000 });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('exit', (code, signal) => resolve({ status: code ?? signal, ms: performance.now() - started, output, started }));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;

async function scenarioLocalhost(results) {
  if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) {
    results.localhost = 'skipped: needs root and unshare -m';
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-bench-hosts-'));
  const hosts = path.join(dir, 'hosts');
  fs.writeFileSync(hosts, '::1 localhost\n127.0.0.1 localhost\n');
  const server = net.createServer((s) => s.destroy());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const wrap = ([script, ...args]) => [
    'unshare',
    ['-m', 'sh', '-c', `mount --bind "${hosts}" /etc/hosts && exec "$0" "$@"`, process.execPath, script, ...args],
  ];
  const rows = {};
  try {
    for (const family of ['on', 'off']) {
      const env = family === 'off' ? { NODE_OPTIONS: '--no-network-family-autoselection' } : {};
      for (let rep = 0; rep < REPS; rep++)
        for (const [tool, argv] of Object.entries(TOOLS)) {
          const r = await runTool(argv('localhost', port, 3000), { wrap, env });
          (rows[`${tool}|${family}`] ??= []).push(r);
        }
    }
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  results.localhost = Object.fromEntries(
    Object.entries(rows).map(([k, rs]) => [k, { exits: [...new Set(rs.map((r) => r.status))], ms: fmt(rs.map((r) => r.ms)) }]),
  );
}

async function scenarioBlackHole(results) {
  const hole = await blackHole();
  const rows = {};
  try {
    for (let rep = 0; rep < REPS; rep++)
      for (const [tool, argv] of Object.entries(TOOLS)) (rows[tool] ??= []).push(await runTool(argv('127.0.0.1', hole.port, 2000)));
  } finally {
    await hole.close();
  }
  results.blackHole = Object.fromEntries(
    Object.entries(rows).map(([k, rs]) => [k, { exits: [...new Set(rs.map((r) => r.status))], ms: fmt(rs.map((r) => r.ms)) }]),
  );
}

async function scenarioComesUp(results) {
  const rows = {};
  for (let rep = 0; rep < REPS; rep++)
    for (const [tool, argv] of Object.entries(TOOLS)) {
      const port = await refusedPort();
      const server = net.createServer((s) => s.destroy());
      let listenedAt;
      setTimeout(() => server.listen(port, '127.0.0.1', () => (listenedAt = performance.now())), 1500);
      const r = await runTool(argv('127.0.0.1', port, 10000));
      server.close();
      // From listen() to the tool's exit: what it took to notice, process exit included.
      (rows[tool] ??= []).push({ ...r, after: r.started + r.ms - listenedAt });
    }
  results.comesUp = Object.fromEntries(
    Object.entries(rows).map(([k, rs]) => [k, { exits: [...new Set(rs.map((r) => r.status))], afterListen: fmt(rs.map((r) => r.after)) }]),
  );
}

async function scenarioNeverUp(results) {
  const port = await refusedPort();
  results.neverUp = {};
  for (const [tool, argv] of Object.entries(TOOLS)) {
    const r = await runTool(argv('127.0.0.1', port, 2000));
    // The port and this checkout's path vary from run to run: both are replaced.
    const output = r.output.replaceAll(String(port), 'PORT').replaceAll(`${ROOT}/`, '');
    results.neverUp[tool] = { status: r.status, output: output.trim().split('\n').slice(0, 3) };
  }
}

// waitFor's own overall deadline, in process (no process start in the
// figure): against a black hole, whatever interval and attemptTimeout are.
async function scenarioDeadline(results) {
  const { waitFor } = require('../dist/lib');
  const hole = await blackHole();
  const rows = {};
  try {
    for (let rep = 0; rep < Math.max(REPS, 5); rep++)
      for (const [label, options] of [
        ['attemptTimeout 300, interval 250', { attemptTimeout: 300, interval: 250 }],
        ['attemptTimeout 5000, interval 250', { attemptTimeout: 5000, interval: 250 }],
        ['attemptTimeout 300, interval 5000', { attemptTimeout: 300, interval: 5000 }],
      ]) {
        const started = performance.now();
        await waitFor(`127.0.0.1:${hole.port}`, { timeout: 1000, ...options }).catch(() => {});
        (rows[label] ??= []).push(performance.now() - started);
      }
  } finally {
    await hole.close();
  }
  results.deadline = Object.fromEntries(Object.entries(rows).map(([k, ms]) => [k, fmt(ms)]));
}

async function scenarioFetch(results) {
  const { Agent } = require('undici');
  const { createConnection } = require('../dist/lib');
  const hole = await blackHole();
  const rows = { 'undici connect.timeout: 100': [], 'createConnection({ timeout: 100 })': [] };
  try {
    for (let rep = 0; rep < Math.max(REPS, 5); rep++)
      for (const [label, connect] of [
        ['undici connect.timeout: 100', { timeout: 100 }],
        ['createConnection({ timeout: 100 })', createConnection({ timeout: 100 })],
      ]) {
        const dispatcher = new Agent({ connect });
        const started = performance.now();
        const err = await globalThis.fetch(`http://127.0.0.1:${hole.port}/`, { dispatcher }).then(
          () => new Error('answered'),
          (e) => e,
        );
        rows[label].push({ ms: performance.now() - started, code: err.cause?.code ?? err.code });
        await dispatcher.close();
      }
  } finally {
    await hole.close();
  }
  results.fetch = Object.fromEntries(Object.entries(rows).map(([k, rs]) => [k, { codes: [...new Set(rs.map((r) => r.code))], ms: fmt(rs.map((r) => r.ms)) }]));
}

function markdown(r) {
  const tools = Object.keys(TOOLS);
  const lines = [];
  lines.push(
    `Peers: wait-on ${r.versions['wait-on']}, wait-port ${r.versions['wait-port']}; Node ${r.node}; ${r.reps} runs each, ms as median (min–max), each run a fresh process.`,
    '',
  );
  lines.push('| | ' + tools.join(' | ') + ' |', '|---|' + tools.map(() => '---|').join(''));
  if (typeof r.localhost === 'object')
    for (const family of ['on', 'off'])
      lines.push(
        `| (a) localhost ::1 first, server on 127.0.0.1, autoSelectFamily ${family}: exit, ms | ` +
          tools.map((t) => `${r.localhost[`${t}|${family}`].exits.join('/')}, ${r.localhost[`${t}|${family}`].ms}`).join(' | ') +
          ' |',
      );
  lines.push(
    '| (b) black hole, 2000 ms deadline: exit, ms to give up | ' +
      tools.map((t) => `${r.blackHole[t].exits.join('/')}, ${r.blackHole[t].ms}`).join(' | ') +
      ' |',
  );
  lines.push('| (c) listens at 1.5 s: ms from listen to exit | ' + tools.map((t) => r.comesUp[t].afterListen).join(' | ') + ' |');
  lines.push('| (d) never up (refused, 2000 ms): exit | ' + tools.map((t) => String(r.neverUp[t].status)).join(' | ') + ' |');
  lines.push('', '(d) what each prints:', '');
  for (const t of tools) lines.push(`- ${t}: \`${r.neverUp[t].output.join(' ⏎ ').slice(0, 200)}\``);
  lines.push('', '| waitFor in process, black hole, timeout: 1000 | ms to reject |', '|---|---|');
  for (const [k, v] of Object.entries(r.deadline)) lines.push(`| ${k} | ${v} |`);
  lines.push('', '| fetch against a black hole, 100 ms connect deadline | error | ms |', '|---|---|---|');
  for (const [k, v] of Object.entries(r.fetch)) lines.push(`| ${k} | ${v.codes.join('/')} | ${v.ms} |`);
  return lines.join('\n');
}

async function main() {
  if (flags['installed-only'] && !peersInstalled()) {
    console.log(
      'wait-on and wait-port are not installed here: `npm run bench:wait` installs them into bench/peers/ (its own package.json) and measures them; `npm run bench` installs nothing.',
    );
    return;
  }
  installPeers();
  const results = { node: process.version, reps: REPS, versions: { 'wait-on': version('wait-on'), 'wait-port': version('wait-port') } };
  await scenarioLocalhost(results);
  await scenarioBlackHole(results);
  await scenarioComesUp(results);
  await scenarioNeverUp(results);
  await scenarioDeadline(results);
  await scenarioFetch(results);
  const out = path.join(__dirname, 'results');
  fs.writeFileSync(path.join(out, 'wait-peers.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = markdown(results);
  fs.writeFileSync(path.join(out, 'wait-peers.md'), `${md}\n`);
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
