#!/usr/bin/env node
// npm run conformance: for every scenario x wait x mode x confirm, nbconnect's
// trace against the C oracle's (test/oracle/oracle.c), call by call: call
// and arg, return value, errno, this fd's revents or select sets, the
// SO_ERROR value, and the verdict (self-connect included). Fd numbers,
// times, and the multiplexed count a waiter's poll returns are left out.
//
//   node dist-test/conformance/run.js [--json] [--only TEXT]   (npm run conformance)
// Exits 1 on any mismatch, or when a namespace group could not run under CI=true.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

import { connect, connectSync, type Confirm, type Connection, type ConnectError, type ConnectOptions, type Step, type Wait } from '../../dist/lib';
import { blackHole, refusedPort } from '../helpers/listeners';
import { namespaceBlocker } from '../helpers/namespaces';
import { scenarios, configureNamespace, type CellTarget, type Scenario } from './scenarios';

// dist-test/conformance and test/conformance are both two levels down.
const ROOT = path.join(__dirname, '..', '..');

const WAITS: readonly Wait[] = ['epoll', 'poll', 'select'];
const MODES = ['sync', 'async'] as const;
type Mode = (typeof MODES)[number];
const CONFIRMS: readonly Confirm[] = ['so_error', 'getpeername', 'read', 'reconnect'];
const GROUPS = ['routes', 'lo-down'] as const;

/** One side's verdict: its trace and code. */
interface Verdict {
  steps: Step[];
  code: string;
}

/** One cell of the matrix. */
export interface Row {
  scenario: string;
  wait: Wait;
  mode: Mode;
  confirm: Confirm;
  match: boolean;
  code: string;
  oracleCode: string;
  diffs: string[];
  trace: string;
}

/** What --json prints. */
export interface Report {
  rows: Row[];
  /** Namespace groups that could not run here, and why. */
  skipped: Record<string, string>;
  confirmTable: ({ scenario: string } & Record<string, string>)[];
}

/** The waits whose count, in an async run, covers every pending fd. */
const MULTIPLEXED = new Set(['poll', 'select', 'epoll_wait']);

/** A step reduced to what both sides must agree on. */
interface Normalized {
  call: string;
  arg?: string;
  ret: number | string;
  errno?: string;
  revents?: string;
  sets?: string;
  value?: number | string;
}

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    'netns-child': { type: 'string' },
    oracle: { type: 'string' },
  },
});

// ---- the oracle ---------------------------------------------------------------

function buildOracle() {
  const out = path.join(ROOT, 'build', 'conformance', 'oracle');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-o', out, path.join(ROOT, 'test', 'oracle', 'oracle.c')], { stdio: 'inherit' });
  return out;
}

function oracleArgs(target: CellTarget, options: ConnectOptions): string[] {
  const args: string[] = [];
  if ('path' in target) args.push('family=unix', `path=${target.path}`);
  else args.push(`family=${target.host.includes(':') ? 6 : 4}`, `addr=${target.host}`, `port=${target.port}`);
  const o = options;
  if (o.wait) args.push(`wait=${o.wait}`);
  if (o.confirm) args.push(`confirm=${o.confirm}`);
  if (o.timeout !== undefined) args.push(`timeout=${o.timeout}`);
  if (o.localAddress) args.push(`local=${o.localAddress}`);
  if (o.localPort !== undefined) args.push(`localport=${o.localPort}`);
  if (o.linger0) args.push('linger0=1');
  if (o.noDelay) args.push('nodelay=1');
  if (o.synCount !== undefined) args.push(`syncnt=${o.synCount}`);
  if (o.userTimeout !== undefined) args.push(`usertimeout=${o.userTimeout}`);
  if (o.bindAddressNoPort) args.push('bindnoport=1');
  if (o.waitDelay) args.push(`waitdelay=${o.waitDelay}`);
  return args;
}

function runOracle(oracle: string, target: CellTarget, options: ConnectOptions): Promise<Verdict> {
  return new Promise((resolve, reject) => {
    const child = spawn(oracle, oracleArgs(target, options), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', () => {
      const result = JSON.parse(out) as { self?: boolean; errno: number; steps: Step[] };
      const code = result.self ? 'ESELFCONNECT' : result.errno === 0 ? 'OK' : os.constants.errno && errnoName(result.errno);
      resolve({ steps: result.steps, code });
    });
  });
}

const ERRNO_NAMES = new Map(
  Object.entries(os.constants.errno)
    .reverse()
    .map(([k, v]) => [v, k]),
);
const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `E${n}`;

// ---- nbconnect ------------------------------------------------------------------

const verdictOf = (connection: Connection | undefined, error?: ConnectError): Verdict => {
  if (connection) {
    connection.close();
    return { steps: connection.steps.slice(0, -1), code: 'OK' }; // the close() we just made is ours, not the algorithm's
  }
  return { steps: error!.steps, code: error!.code };
};

// connectSync blocks this thread; a cell of a slow scenario runs it in a
// worker so the cells can overlap.
const SYNC_IN_WORKER = `
  const { workerData, parentPort } = require('node:worker_threads');
  const { connectSync } = require(workerData.lib);
  try {
    const c = connectSync(workerData.target, workerData.options);
    c.close();
    parentPort.postMessage({ steps: c.steps.slice(0, -1), code: 'OK' });
  } catch (e) {
    parentPort.postMessage({ steps: e.steps, code: e.code });
  }`;

async function runOurs(mode: Mode, target: CellTarget, options: ConnectOptions, inWorker: boolean): Promise<Verdict> {
  if (mode === 'async')
    return connect(target, options).then(
      (c) => verdictOf(c),
      // The epoll engine settles a deadline before its close, which joins
      // the trace within the turn: the trace is read once it is over.
      (e: ConnectError) => new Promise((resolve) => setImmediate(resolve)).then(() => verdictOf(undefined, e)),
    );
  if (!inWorker) {
    try {
      return verdictOf(connectSync(target, options));
    } catch (e) {
      return verdictOf(undefined, e as ConnectError);
    }
  }
  const worker = new Worker(SYNC_IN_WORKER, { eval: true, workerData: { lib: path.join(ROOT, 'dist', 'lib'), target, options } });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

// ---- comparison -----------------------------------------------------------------

function normalize(steps: Step[], mode: Mode): Normalized[] {
  return steps.map((s) => {
    const n: Normalized = { call: s.call, ret: s.ret };
    if (s.arg) n.arg = s.arg;
    n.ret = s.call === 'socket' && s.ret >= 0 ? 'fd' : s.ret;
    // An async wait watches many fds: its count is not this fd's.
    if (mode === 'async' && MULTIPLEXED.has(s.call)) n.ret = '*';
    if (s.ret < 0) n.errno = errnoName(s.errno!);
    if (s.revents) n.revents = s.revents.join('|') || '-';
    if (s.events) n.revents = s.events.join('|') || '-';
    if (s.readable !== undefined) n.sets = `${s.readable ? 'r' : '-'}${s.writable ? 'w' : '-'}`;
    if (s.value !== undefined) n.value = s.value === 0 ? 0 : errnoName(s.value);
    return n;
  });
}

const show = (n: Normalized) =>
  `${n.call}${n.arg ? `(${n.arg})` : ''}=${n.ret}${n.errno ? ` ${n.errno}` : ''}${n.revents ? ` [${n.revents}]` : ''}${n.sets ? ` [${n.sets}]` : ''}${n.value !== undefined ? ` value=${n.value}` : ''}`;

function compare(oracle: Verdict, ours: Verdict, mode: Mode): { match: boolean; diffs: string[]; trace: string } {
  const a = normalize(oracle.steps, 'sync');
  const b = normalize(ours.steps, mode);
  if (mode === 'async') for (const n of a) if (MULTIPLEXED.has(n.call)) n.ret = '*';
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ? show(a[i]) : '(none)';
    const y = b[i] ? show(b[i]) : '(none)';
    if (x !== y) diffs.push(`step ${i}: oracle ${x} | nbconnect ${y}`);
  }
  if (oracle.code !== ours.code) diffs.push(`verdict: oracle ${oracle.code} | nbconnect ${ours.code}`);
  return { match: diffs.length === 0, diffs, trace: b.map(show).join(' ') };
}

// ---- the matrix -----------------------------------------------------------------

async function runScenario(oracle: string, scenario: Scenario): Promise<Row[]> {
  const { ctx, teardown } = await scenario.setup();
  const rows: Row[] = [];
  try {
    const cell = async ([wait, mode, confirm]: [Wait, Mode, Confirm]) => {
      const resolve = async () => {
        const c = scenario.perRunPort ? { ...ctx, port: await refusedPort(scenario.perRunPort) } : ctx;
        const extra = typeof scenario.options === 'function' ? scenario.options(c) : (scenario.options ?? {});
        return { target: scenario.target(c), options: { ...extra, wait, confirm } };
      };
      const forOracle = await resolve();
      const forUs = await resolve();
      const oracleRun = runOracle(oracle, forOracle.target, forOracle.options);
      // Concurrent cells start every oracle process and connectSync worker in
      // one turn of the loop, which on a loaded machine can outlast a 150 ms
      // deadline; the epoll engine makes its starts in a later turn, and a
      // start whose deadline passed while it queued is never made (it ends
      // ETIMEDOUT with no syscall). So an async cell connects once they are
      // all on their way, as an application would not hold its loop.
      if (mode === 'async' && scenario.concurrent) await new Promise((resolve) => setImmediate(resolve));
      const [o, ours] = await Promise.all([oracleRun, runOurs(mode, forUs.target, forUs.options, scenario.concurrent === true)]);
      const { match, diffs, trace } = compare(o, ours, mode);
      rows.push({ scenario: scenario.name, wait, mode, confirm, match, code: ours.code, oracleCode: o.code, diffs, trace });
    };
    const cells: [Wait, Mode, Confirm][] = [];
    for (const wait of WAITS) for (const mode of MODES) for (const confirm of CONFIRMS) cells.push([wait, mode, confirm]);
    if (scenario.concurrent) await Promise.all(cells.map(cell));
    else for (const c of cells) await cell(c);
  } finally {
    await teardown();
  }
  return rows;
}

async function runGroup(oracle: string, group: string | null): Promise<Row[]> {
  const rows: Row[] = [];
  for (const scenario of scenarios) {
    if ((scenario.group ?? null) !== group) continue;
    if (flags.only && !scenario.name.includes(flags.only)) continue;
    rows.push(...(await runScenario(oracle, scenario)));
  }
  return rows;
}

function runGroupInNamespace(oracle: string, group: string): Row[] {
  const args = ['-n', process.execPath, __filename, '--netns-child', group, '--oracle', oracle];
  if (flags.only) args.push('--only', flags.only);
  const child = spawnSync('unshare', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`the ${group} namespace run failed with status ${child.status}`);
  return JSON.parse(child.stdout) as Row[];
}

function confirmTable(rows: Row[]): ({ scenario: string } & Record<string, string>)[] {
  // What each confirm method reports, per scenario (identical across waits
  // and modes whenever every cell matched the oracle).
  const table = new Map<string, Record<string, string>>();
  for (const r of rows) {
    if (!table.has(r.scenario)) table.set(r.scenario, {});
    const entry = table.get(r.scenario)!;
    const seen = entry[r.confirm];
    entry[r.confirm] = seen === undefined || seen === r.code ? r.code : `${seen}/${r.code}`;
  }
  return [...table].map(([scenario, verdicts]) => ({ scenario, ...verdicts }));
}

function printReport(rows: Row[], skipped: Record<string, string>): void {
  const width = Math.max(...rows.map((r) => r.scenario.length), 10);
  for (const r of rows) {
    console.log(`${r.scenario.padEnd(width)}  ${r.wait.padEnd(6)} ${r.mode.padEnd(5)} ${r.confirm.padEnd(11)} ${r.match ? 'match   ' : 'MISMATCH'} ${r.code}`);
    for (const d of r.diffs) console.log(`    ${d}`);
  }
  console.log('\nWhat each confirm method reports (SO_ERROR is the reference):');
  console.log(`${'scenario'.padEnd(width)}  ${CONFIRMS.map((c) => c.padEnd(20)).join('')}`);
  for (const row of confirmTable(rows)) {
    const cells = CONFIRMS.map((c) => `${row[c]}${c !== 'so_error' && row[c] !== row.so_error ? ' (wrong)' : ''}`.padEnd(20));
    console.log(`${row.scenario.padEnd(width)}  ${cells.join('')}`);
  }
  for (const [group, why] of Object.entries(skipped)) console.log(`\nSKIPPED the '${group}' namespace scenarios: ${why}`);
  const mismatches = rows.filter((r) => !r.match).length;
  console.log(`\n${rows.length - mismatches} passed, ${mismatches} failed`);
}

/**
 * Other attempts pending, to a black hole with no deadline, for the whole
 * run: the async cells share each wait's engine or waiter thread with them.
 * select cannot watch an fd >= FD_SETSIZE, so its load is smaller, and
 * every load starts after low fd numbers are set aside and before they are
 * given back: the cells' own sockets get numbers select can hold.
 */
const LOAD: Record<Wait, number> = { epoll: 4000, poll: 4000, select: 500 };

async function pendingLoad(): Promise<{ describe: string; stop(): Promise<void> }> {
  const hole = await blackHole('tcp4');
  const stop = new AbortController();
  const reserved = Array.from({ length: 300 }, () => fs.openSync('/dev/null', 'r'));
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const settled: Promise<unknown>[] = [];
  for (const wait of ['select', 'epoll', 'poll'] as const)
    for (let i = 0; i < LOAD[wait]; i++)
      settled.push(
        connect({ host: '127.0.0.1', port: hole.port }, { wait, signal: stop.signal }).then(
          (c) => c.close(),
          () => {},
        ),
      );
  // Every start made (the epoll engine makes them in slices, 256 a turn)
  // before the numbers go back, and before a cell's own attempt queues
  // behind them: a start whose deadline passed while it queued is never
  // made (it ends ETIMEDOUT with no syscall), which the 150 ms cell would
  // be on a loaded machine. Bounded: 30 s.
  const total = Object.values(LOAD).reduce((a, b) => a + b, 0);
  for (let i = 0; i < 600 && fs.readdirSync('/proc/self/fd').length < fdsBefore + total; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const fd of reserved) fs.closeSync(fd);
  return {
    describe: Object.entries(LOAD)
      .map(([wait, n]) => `${n} ${wait}`)
      .join(', '),
    async stop() {
      stop.abort();
      await Promise.all(settled);
      await hole.close();
    },
  };
}

async function main() {
  if (flags['netns-child']) {
    configureNamespace(flags['netns-child']);
    const rows = await runGroup(flags.oracle!, flags['netns-child']);
    process.stdout.write(JSON.stringify(rows));
    return;
  }
  const oracle = buildOracle();
  const load = await pendingLoad();
  let rows: Row[];
  try {
    rows = await runGroup(oracle, null);
  } finally {
    await load.stop();
  }
  if (!flags.json) console.log(`Attempts pending meanwhile, to a black hole: ${load.describe}.`);
  const skipped: Record<string, string> = {};
  const blocker = namespaceBlocker();
  for (const group of GROUPS) {
    if (blocker) skipped[group] = blocker;
    else rows.push(...runGroupInNamespace(oracle, group));
  }
  const report: Report = { rows, skipped, confirmTable: confirmTable(rows) };
  if (flags.json) process.stdout.write(JSON.stringify(report));
  else printReport(rows, skipped);
  const failed = rows.some((r) => !r.match) || (process.env.CI === 'true' && Object.keys(skipped).length > 0);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
