'use strict';
// npm run soak [-- --n 200000 --concurrency 1000 --json]
//
// Many connects with mixed outcomes, `concurrency` at a time: TCP success,
// refused, a deadline against a full-backlog listener, AF_UNIX success, and
// aborts at a random moment. It checks that every promise settles exactly
// once, that the fd count ends where it began, and that RSS grows by less
// than 16 MiB after warm-up; it reports the event loop's worst delay. The
// listeners run in processes of their own, so their fds and work stay out of
// the figures. Exit status 1 if a check fails.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { parseArgs } = require('node:util');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { connect } = require('../dist/lib');
const { blackHole, refusedPort, tempSocketPath } = require('../examples/peers');

/** mulberry32: a small seeded PRNG, so a run can be replayed with --seed. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
// Connects before the measured ones, for RSS: the heap and the allocator's
// arenas reach their working size within about 20,000 (measured: RSS flat
// from there to 200,000).
const WARMUP = values.warmup === undefined ? Math.max(20000, Math.floor(Number(values.n) / 4)) : Number(values.warmup);
const N = Number(values.n) + WARMUP; // every connect, warm-up included
const CONCURRENCY = Number(values.concurrency);
const RSS_LIMIT = 16 * 1024 * 1024;
const fdCount = () => fs.readdirSync('/proc/self/fd').length;

async function lineOf(child) {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`a listener exited with ${code}`)));
    readline.createInterface({ input: child.stdout }).once('line', resolve);
  });
}

/** The C listener of the benchmarks: accepts, holds each connection until the client's RST. */
async function tcpListener() {
  const out = path.join(__dirname, 'build', 'listener');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(process.env.CC || 'cc', ['-O2', '-o', out, path.join(__dirname, 'reference', 'listener.c')]);
  const child = spawn(out, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { port } = JSON.parse(await lineOf(child));
  return { port, close: () => new Promise((resolve) => (child.once('exit', resolve), child.stdin.end())) };
}

/**
 * An accepting AF_UNIX listener in a child Node process. Its queue is as
 * deep as somaxconn allows: the epoll engine starts 256 connects in one
 * turn, and a full AF_UNIX queue refuses at once with EAGAIN (test 11 covers
 * that answer), which would say how busy this machine is, not what the soak
 * checks.
 */
async function unixListener() {
  const file = tempSocketPath();
  const code = `const s = require('node:net').createServer((c) => { c.on('error', () => {}); c.destroy(); });
    s.listen({ path: ${JSON.stringify(file)}, backlog: 4096 }, () => console.log('ready'));
    process.stdin.on('end', () => s.close(() => process.exit(0))).resume();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  await lineOf(child);
  return { path: file, close: () => new Promise((resolve) => (child.once('exit', resolve), child.stdin.end())) };
}

async function main() {
  const rand = random(Number(values.seed));
  const live = await tcpListener();
  const hole = await blackHole();
  const unix = await unixListener();
  const refused = await refusedPort();
  // Warm both waiters (their eventfds are made on first use) before counting fds.
  await Promise.all(['epoll', 'poll', 'select'].map((wait) => connect({ host: '127.0.0.1', port: refused }, { wait }).catch(() => {})));
  global.gc?.();
  const fdsAtStart = fdCount();

  const expected = { tcp: ['OK'], refused: ['ECONNREFUSED'], timeout: ['ETIMEDOUT'], unix: ['OK'], abort: ['ABORT_ERR', 'OK'] };
  const counts = {};
  const unexpected = [];
  const settled = new Uint8Array(N);
  let twice = 0;
  let started = 0;
  let done = 0;
  let rssAfterWarmup;
  const warmup = WARMUP;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const t0 = performance.now();

  await new Promise((finish) => {
    const launch = () => {
      const i = started++;
      const r = rand();
      const kind = r < 0.3 ? 'tcp' : r < 0.5 ? 'refused' : r < 0.6 ? 'timeout' : r < 0.8 ? 'unix' : 'abort';
      // Every wait, the default (epoll) most.
      const w = rand();
      const wait = w < 0.5 ? 'epoll' : w < 0.85 ? 'poll' : 'select';
      let target;
      const options = { wait, linger0: true };
      if (kind === 'tcp') target = { host: '127.0.0.1', port: live.port };
      else if (kind === 'refused') target = { host: '127.0.0.1', port: refused };
      else if (kind === 'timeout') ((target = { host: '127.0.0.1', port: hole.port }), (options.timeout = 20 + Math.floor(rand() * 80)));
      else if (kind === 'unix') ((target = { path: unix.path }), delete options.linger0);
      else {
        target = rand() < 0.5 ? { host: '127.0.0.1', port: hole.port } : { host: '127.0.0.1', port: live.port };
        const ac = new AbortController();
        options.signal = ac.signal;
        setTimeout(() => ac.abort(), Math.floor(rand() * 20));
      }
      const settle = (code) => {
        if (settled[i]++) twice++;
        const key = `${kind} ${code}`;
        counts[key] = (counts[key] ?? 0) + 1;
        // select(2) refuses fds >= FD_SETSIZE with EINVAL, as documented.
        const fine = expected[kind].includes(code) || (code === 'EINVAL' && wait === 'select');
        if (!fine && unexpected.length < 20) unexpected.push({ i, kind, wait, code });
        done++;
        if (done === warmup || (warmup === 0 && done === 1)) {
          global.gc?.();
          rssAfterWarmup = process.memoryUsage().rss;
          delay.enable();
        }
        if (started < N) launch();
        else if (done === N) finish();
      };
      connect(target, options).then(
        (c) => {
          c.close();
          settle('OK');
        },
        (e) => settle(e.code),
      );
    };
    for (let k = 0; k < Math.min(CONCURRENCY, N); k++) launch();
  });

  const seconds = (performance.now() - t0) / 1000;
  delay.disable();
  global.gc?.();
  const rssAtEnd = process.memoryUsage().rss;
  // The epoll engine closes a deadline's or an abort's socket right after
  // the verdict, 64 a turn of the loop: the count is taken once they are.
  for (let turn = 0; turn < 32; turn++) await new Promise((resolve) => setImmediate(resolve));
  const fdsAtEnd = fdCount();
  await Promise.all([live.close(), hole.close(), unix.close()]);

  const report = {
    connects: N,
    warmup: WARMUP,
    concurrency: CONCURRENCY,
    seed: Number(values.seed),
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(N / seconds),
    settledOnce: settled.every((n) => n === 1) && twice === 0,
    settledTwice: twice,
    outcomes: counts,
    unexpected,
    fds: { start: fdsAtStart, end: fdsAtEnd },
    rss: { afterWarmup: rssAfterWarmup, end: rssAtEnd, growth: rssAtEnd - rssAfterWarmup, limit: RSS_LIMIT },
    eventLoopDelayMaxMs: Number((delay.max / 1e6).toFixed(1)),
    eventLoopDelayP99Ms: Number((delay.percentile(99) / 1e6).toFixed(1)),
    gcExposed: typeof global.gc === 'function',
    machine: { cpus: os.cpus().length, node: process.version, kernel: os.release() },
  };
  report.pass = report.settledOnce && unexpected.length === 0 && fdsAtStart === fdsAtEnd && report.rss.growth < RSS_LIMIT;

  if (values.json) console.log(JSON.stringify(report));
  else {
    const mb = (b) => `${(b / 1048576).toFixed(1)} MiB`;
    console.log(`${N} connects (the first ${WARMUP} a warm-up), ${CONCURRENCY} at a time, in ${report.seconds} s (${report.perSecond}/s), seed ${report.seed}`);
    for (const [key, n] of Object.entries(counts).sort()) console.log(`  ${key.padEnd(24)} ${String(n).padStart(8)}`);
    console.log(`settled exactly once: ${report.settledOnce ? 'yes' : `NO (${twice} twice)`}`);
    console.log(`unexpected outcomes:  ${unexpected.length === 0 ? 'none' : JSON.stringify(unexpected)}`);
    console.log(`fds:                  ${fdsAtStart} at start, ${fdsAtEnd} at the end`);
    console.log(`RSS:                  ${mb(rssAfterWarmup)} after warm-up, ${mb(rssAtEnd)} at the end (growth ${mb(report.rss.growth)}, limit 16 MiB)`);
    console.log(`event-loop delay:     max ${report.eventLoopDelayMaxMs} ms, p99 ${report.eventLoopDelayP99Ms} ms`);
    console.log(report.pass ? 'PASS' : 'FAIL');
  }
  process.exitCode = report.pass ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
