'use strict';
// The deadline as each runtime sees it, with the default options (epoll in
// Node's loop; poll on a waiter thread under Bun and Deno, which have no
// libuv loop: docs/runtimes.md). Run by bench/run.js under this Node, the
// Node lines, Bun and Deno that the runtime tests installed into
// node_modules/.cache/nbconnect-runtimes/:
//   <runtime> bench/runtime-deadlines.js <black-hole port>
// Prints one JSON line: a single 300 ms deadline's settle time (5 in turn,
// after a warm-up), and the overshoot of 100 concurrent 200 ms deadlines.
const path = require('node:path');
const { connect } = require(path.join(__dirname, '..', 'dist', 'lib'));

const port = Number(process.argv[2]);
const hole = { host: '127.0.0.1', port };

/** ms from the call to the rejection, for a connect that must time out. */
async function timedOut(timeout) {
  const started = performance.now();
  try {
    (await connect(hole, { timeout })).close();
    throw new Error('the black hole answered');
  } catch (err) {
    if (err.code !== 'ETIMEDOUT') throw err;
    return performance.now() - started;
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  await Promise.all(Array.from({ length: 20 }, () => timedOut(50)));
  const single = [];
  for (let i = 0; i < 5; i++) single.push(await timedOut(300));
  const over = (await Promise.all(Array.from({ length: 100 }, () => timedOut(200)))).map((ms) => ms - 200).sort((a, b) => a - b);
  const deno = globalThis.Deno;
  const runtime = process.versions.bun ? `Bun ${process.versions.bun}` : deno ? `Deno ${deno.version.deno}` : `Node ${process.versions.node}`;
  single.sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      runtime,
      single300: { median: single[2], min: single[0], max: single[4] },
      concurrent100: { p50: percentile(over, 50), p99: percentile(over, 99), max: over[over.length - 1], min: over[0] },
    }) + '\n',
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
