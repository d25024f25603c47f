'use strict';
// One benchmark run in a fresh process: node --expose-gc bench/driver.js '<json>'
// with { driver, scenario, port, n, inflight, deadline }. Prints one JSON
// object of figures. Drivers: 'nbconnect-epoll' (the default),
// 'nbconnect-poll', 'nbconnect-select', 'probeMany' (nbconnect's own
// driver for many targets), 'connectSync', 'net' (net.connect, then
// resetAndDestroy() so that it closes with RST like the others).
const net = require('node:net');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { connect, connectSync, probeMany } = require(path.join(__dirname, '..', 'dist', 'lib'));

const config = JSON.parse(process.argv[2]);
const target = { host: '127.0.0.1', port: config.port };
const now = () => performance.now();
/** 'nbconnect-epoll' -> 'epoll': the wait a driver names. */
const waitOf = (driver) => driver.slice('nbconnect-'.length);

/** One connect, closed with RST once connected; resolves true on success. */
function connectOnce(timeout) {
  switch (config.driver) {
    case 'nbconnect-epoll':
    case 'nbconnect-poll':
    case 'nbconnect-select': {
      const options = { wait: waitOf(config.driver), linger0: true };
      if (timeout !== undefined) options.timeout = timeout;
      return connect(target, options).then(
        (c) => (c.close(), true),
        () => false,
      );
    }
    case 'connectSync':
      try {
        const options = { linger0: true };
        if (timeout !== undefined) options.timeout = timeout;
        connectSync(target, options).close();
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    case 'net':
      return new Promise((resolve) => {
        const socket = net.connect(target);
        let timer;
        // The usual workaround for a missing connect timeout.
        if (timeout !== undefined)
          timer = setTimeout(() => {
            socket.destroy();
            resolve(false);
          }, timeout);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.resetAndDestroy();
          resolve(true);
        });
        socket.once('error', () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
    default:
      throw new Error(`unknown driver ${config.driver}`);
  }
}

function percentiles(values) {
  const v = Float64Array.from(values).sort();
  const at = (q) => v[Math.min(v.length - 1, Math.floor(v.length * q))];
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: v[v.length - 1] };
}

/** Keeps `inflight` connects going until n have finished; latencies in µs. */
function pool(n, inflight, once = connectOnce) {
  const latencies = new Float64Array(n);
  let started = 0;
  let finished = 0;
  let failures = 0;
  return new Promise((resolve) => {
    const launch = () => {
      while (started - finished < inflight && started < n) {
        started++;
        const t = now();
        once().then((ok) => {
          if (!ok) failures++;
          latencies[finished++] = (now() - t) * 1000;
          if (finished === n) resolve({ latencies, failures });
          else launch();
        });
      }
    };
    launch();
  });
}

async function throughput(n, inflight) {
  await pool(Math.min(1000, Math.ceil(n / 10)), inflight); // warm-up, not counted
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const { latencies, failures } = await pool(n, inflight);
  const elapsed = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    n,
    failures,
    perSec: Math.round((n / elapsed) * 1000),
    cpuUsPerConnect: (cpu.user + cpu.system) / n,
    userUsPerConnect: cpu.user / n,
    systemUsPerConnect: cpu.system / n,
    ...percentiles(latencies),
  };
}

async function timeoutPrecision(count, deadline) {
  // Warm-up, not counted: the timeout path's code, compiled, for every driver.
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: Math.min(count, 300) }, () => connectOnce(10)));
  const overshoots = [];
  let finished = 0;
  let connected = 0;
  await new Promise((resolve) => {
    for (let i = 0; i < count; i++) {
      const t = now();
      connectOnce(deadline).then((ok) => {
        // Only deadlines count: a connect that got through is no overshoot.
        if (ok) connected++;
        else overshoots.push(now() - t - deadline);
        if (++finished === count) resolve();
      });
    }
  });
  return { n: count, connected, ...percentiles(overshoots) };
}

async function memory(count) {
  global.gc();
  const before = process.memoryUsage();
  const pending = [];
  for (let i = 0; i < count; i++) pending.push(connectOnce(60000));
  await new Promise((r) => setTimeout(r, 300)); // let every SYN leave
  global.gc();
  const after = process.memoryUsage();
  return {
    n: count,
    rssBytesPerPending: (after.rss - before.rss) / count,
    heapBytesPerPending: (after.heapUsed - before.heapUsed) / count,
  };
}

// The block is the synchronous loop that starts every connect; the delay
// monitor must be on before it, since it misses a block that starts first.
async function eventLoop(count) {
  const monitor = monitorEventLoopDelay({ resolution: 1 });
  monitor.enable();
  await new Promise((r) => setTimeout(r, 20));
  const t0 = now();
  const all = [];
  for (let i = 0; i < count; i++) all.push(connectOnce());
  const blockMs = now() - t0;
  const results = await Promise.all(all);
  monitor.disable();
  return {
    n: count,
    failures: results.filter((ok) => !ok).length,
    blockMs,
    eldP99Ms: monitor.percentile(99) / 1e6,
    eldMaxMs: monitor.max / 1e6,
    totalMs: now() - t0,
  };
}

/**
 * The cost of a sequential connect while `pending` others wait on a black
 * hole (no deadline): a scanner's or health checker's dead hosts. CPU and
 * latency per connect; the pending ones die with the process.
 */
async function withPending(n, pending) {
  const hole = { host: '127.0.0.1', port: config.holePort };
  const parked = [];
  for (let i = 0; i < pending; i++) {
    if (config.driver === 'net') {
      const socket = net.connect(hole);
      socket.on('error', () => {});
      parked.push(socket);
    } else {
      connect(hole, { wait: waitOf(config.driver) }).catch(() => {});
    }
  }
  await new Promise((r) => setTimeout(r, 300)); // every SYN out, every start made
  const result = await throughput(n, 1);
  return { ...result, pending };
}

/**
 * probeMany over `n` targets (the listener's port, repeated), `inflight`
 * at a time: the driver a scanner would use.
 */
async function probeManyRun(n, inflight) {
  function* targets(count) {
    for (let i = 0; i < count; i++) yield target;
  }
  const run = async (count) => {
    let failures = 0;
    for await (const outcome of probeMany(targets(count), { concurrency: inflight, linger0: true })) if (!outcome.ok) failures++;
    return failures;
  };
  await run(Math.min(1000, Math.ceil(n / 10)));
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const failures = await run(n);
  const elapsed = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { n, failures, perSec: Math.round((n / elapsed) * 1000), cpuUsPerConnect: (cpu.user + cpu.system) / n };
}

async function main() {
  const { scenario, n, inflight, deadline } = config;
  let result;
  if (config.driver === 'probeMany') result = await probeManyRun(n, inflight);
  else if (scenario === 'pending') result = await withPending(n, config.pending);
  else if (scenario === 'latency') result = await throughput(n, 1);
  else if (scenario === 'throughput' || scenario === 'refused') result = await throughput(n, inflight);
  else if (scenario === 'timeout') result = await timeoutPrecision(n, deadline);
  else if (scenario === 'memory') result = await memory(n);
  else if (scenario === 'eventloop') result = await eventLoop(n);
  else throw new Error(`unknown scenario ${scenario}`);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0); // pending black-hole connects of the memory run end with us
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
