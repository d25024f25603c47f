// `nbconnect bench <target>`: nbconnect (each wait) against net.Socket on
// the user's own host, sequential and concurrent, in the table shape of
// `npm run bench`. Bounded: at most 100,000 connects per run, a deadline
// per connect, and a wall-clock cap for the whole command. A target that is
// not this machine needs --i-own-this-host: a benchmark is a burst of
// connects, which nobody should aim at a host that is not theirs.
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';

import { connect } from './connect';
import { notExact } from './errors';
import { MODE } from './mode';
import { lookupAll } from './lookup';
import type { ConnectOptions, Wait } from './types';
import { parseTarget, type ParsedTarget } from './validate';

export const BENCH_DRIVERS = ['nbconnect-epoll', 'nbconnect-poll', 'nbconnect-select', 'net'] as const;
type Driver = (typeof BENCH_DRIVERS)[number];

export interface BenchSettings {
  target: string;
  count: number;
  concurrency: number;
  reps: number;
  /** Per connect. */
  timeout: number;
  /** The whole run stops starting connects after this many ms. */
  budgetMs: number;
}

export interface BenchRow {
  scenario: 'sequential' | 'concurrent';
  metric: 'p50' | 'p99' | 'cpuUsPerConnect' | 'perSec' | 'failed';
  driver: Driver;
  median: number;
  min: number;
  max: number;
  /** × net.Socket's median in the same run; undefined for net itself or a zero. */
  vsNet: number | undefined;
}

export interface BenchReport {
  target: string;
  settings: BenchSettings;
  rows: BenchRow[];
  /** True when the time cap cut a run short: its figures cover fewer connects. */
  truncated: boolean;
  seconds: number;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x, or an AF_UNIX path: this machine. */
export function isLoopback(address: string): boolean {
  if (net.isIPv4(address)) return address.startsWith('127.');
  const lower = address.toLowerCase();
  return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(lower);
}

/** Whether every address the target names is this machine's. */
export async function targetIsLocal(parsed: ParsedTarget): Promise<boolean> {
  if (parsed.kind === 'unix') return true;
  if (parsed.kind === 'ip') return isLoopback(parsed.address);
  const addresses = await lookupAll(parsed.host, parsed.port, 0, 5000, undefined, performance.now());
  return addresses.every((a) => isLoopback(a.address));
}

interface Sample {
  latencies: number[]; // ms, successful connects
  failed: number;
  cpuUs: number; // process CPU over the run
  wallMs: number;
}

/** One connect and its RST close, by one driver; resolves ok or not. */
function connectOnce(driver: Driver, target: string, where: ParsedTarget, timeout: number): Promise<boolean> {
  if (driver === 'net') {
    return new Promise((resolve) => {
      const socket = where.kind === 'unix' ? net.connect({ path: where.path }) : net.connect({ host: where.host, port: where.port, autoSelectFamily: true });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, timeout);
      socket.once('connect', () => {
        clearTimeout(timer);
        if (where.kind === 'unix') socket.destroy();
        else socket.resetAndDestroy();
        resolve(true);
      });
      socket.once('error', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(false);
      });
    });
  }
  const wait = driver.slice('nbconnect-'.length) as Wait;
  const options: ConnectOptions = { wait, timeout };
  if (where.kind !== 'unix') options.linger0 = true;
  return connect(target, options).then(
    (c) => {
      c.close();
      return true;
    },
    () => false,
  );
}

async function runOnce(driver: Driver, s: BenchSettings, inFlight: number, stopAt: number): Promise<Sample & { cut: boolean }> {
  const where = parseTarget(s.target);
  const latencies: number[] = [];
  let failed = 0;
  let started = 0;
  let cut = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (started < s.count) {
      if (performance.now() > stopAt) {
        cut = true;
        return;
      }
      started++;
      const t = performance.now();
      if (await connectOnce(driver, s.target, where, s.timeout)) latencies.push(performance.now() - t);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { latencies, failed, cpuUs: cpu.user + cpu.system, wallMs: performance.now() - t0, cut };
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** Runs the benchmark: every driver, interleaved over the repetitions, warmed up first. */
export async function runBench(s: BenchSettings): Promise<BenchReport> {
  // Each connect would fail with ERR_NBCONNECT_NOT_EXACT and be counted as a failed connect: refuse the run instead.
  if (MODE !== 'exact') throw notExact('nbconnect bench', "it measures the exact engine's waits (epoll, poll, select) against net.Socket");
  const began = performance.now();
  const stopAt = began + s.budgetMs;
  let truncated = false;
  const figures = new Map<string, number[]>(); // scenario|metric|driver -> per repetition
  const add = (key: string, value: number) => {
    const values = figures.get(key);
    if (values) values.push(value);
    else figures.set(key, [value]);
  };
  for (const driver of BENCH_DRIVERS) await runOnce(driver, { ...s, count: Math.min(50, s.count) }, 1, stopAt); // warm-up: JIT, the engine, the waiter threads
  for (const [scenario, inFlight] of [
    ['sequential', 1],
    ['concurrent', s.concurrency],
  ] as const) {
    for (let rep = 0; rep < s.reps; rep++) {
      for (let i = 0; i < BENCH_DRIVERS.length; i++) {
        const driver = BENCH_DRIVERS[(i + rep) % BENCH_DRIVERS.length];
        const r = await runOnce(driver, s, inFlight, stopAt);
        truncated ||= r.cut;
        const done = r.latencies.length + r.failed;
        const sorted = r.latencies.sort((a, b) => a - b);
        if (scenario === 'sequential') {
          add(`${scenario}|p50|${driver}`, quantile(sorted, 0.5) * 1000);
          add(`${scenario}|p99|${driver}`, quantile(sorted, 0.99) * 1000);
          add(`${scenario}|cpuUsPerConnect|${driver}`, done ? r.cpuUs / done : NaN);
        } else {
          add(`${scenario}|perSec|${driver}`, done ? (1000 * r.latencies.length) / r.wallMs : NaN);
        }
        add(`${scenario}|failed|${driver}`, r.failed);
      }
    }
  }
  const rows: BenchRow[] = [];
  for (const [key, values] of figures) {
    const [scenario, metric, driver] = key.split('|') as [BenchRow['scenario'], BenchRow['metric'], Driver];
    const med = median(values);
    const netMedian = median(figures.get(`${scenario}|${metric}|net`) ?? []);
    const vsNet = driver === 'net' || !netMedian || metric === 'failed' ? undefined : med / netMedian;
    rows.push({ scenario, metric, driver, median: med, min: Math.min(...values), max: Math.max(...values), vsNet });
  }
  return { target: s.target, settings: s, rows, truncated, seconds: (performance.now() - began) / 1000 };
}

const UNITS: Record<BenchRow['metric'], string> = { p50: 'µs', p99: 'µs', cpuUsPerConnect: 'µs', perSec: '/s', failed: '' };

const fmt = (x: number) => (Number.isNaN(x) ? '-' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));

/** The table, in `npm run bench`'s shape. */
export function benchTable(report: BenchReport): string {
  const lines = ['| scenario | metric | driver | median | min–max | × net.Socket | × C |', '|---|---|---|---|---|---|---|'];
  for (const r of report.rows) {
    const scenario = r.scenario === 'concurrent' ? `concurrent ${report.settings.concurrency}` : 'sequential';
    const metric = UNITS[r.metric] ? `${r.metric} (${UNITS[r.metric]})` : r.metric;
    lines.push(
      `| ${scenario} | ${metric} | ${r.driver} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${r.vsNet === undefined ? '-' : r.vsNet.toFixed(2)} | - |`,
    );
  }
  return lines.join('\n');
}

/**
 * A bar chart of every ratio against net.Socket (1.0 is the line), as a
 * plain SVG: no charting package at run time.
 */
export function benchSvg(report: BenchReport): string {
  const bars = report.rows.filter((r) => r.vsNet !== undefined);
  const rowHeight = 22;
  const labelWidth = 330;
  const plotWidth = 360;
  const max = Math.max(1.5, ...bars.map((b) => b.vsNet!));
  const x = (v: number) => labelWidth + (plotWidth * v) / max;
  const height = 40 + rowHeight * bars.length;
  const escape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 60}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="8" y="16" font-weight="bold">${escape(`nbconnect bench ${report.target}: × net.Socket (lower is better, except perSec)`)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = 28 + i * rowHeight;
    parts.push(`<text x="8" y="${y + 14}">${escape(`${b.scenario} ${b.metric} ${b.driver}`)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${y + 3}" width="${(x(b.vsNet!) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="#4c78a8"/>`);
    parts.push(`<text x="${(x(b.vsNet!) + 4).toFixed(1)}" y="${y + 14}">${b.vsNet!.toFixed(2)}</text>`);
  });
  parts.push(`<line x1="${x(1)}" y1="24" x2="${x(1)}" y2="${height - 4}" stroke="#d62728" stroke-dasharray="4 3"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeSvg(file: string, report: BenchReport): void {
  writeFileSync(file, `${benchSvg(report)}\n`);
}
