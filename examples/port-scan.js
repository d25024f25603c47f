'use strict';
// A tiny port scanner with probeMany: 64 connects in flight at a time, outcomes
// as they complete, and SO_LINGER 0 so the scan leaves no TIME_WAIT behind.
const net = require('node:net');
const { probeMany } = require('nbconnect');

async function main() {
  // Two listeners to find, on ports the kernel picks.
  const servers = [0, 1].map(() => net.createServer((s) => s.destroy()));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((s) => s.address().port);

  function* targets() {
    for (const port of ports) for (let p = port - 50; p <= port + 50; p++) yield { host: '127.0.0.1', port: p };
  }
  const open = new Set();
  const codes = {};
  for await (const outcome of probeMany(targets(), { concurrency: 64, timeout: 1000, linger0: true })) {
    codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
    if (outcome.ok) open.add(outcome.target.port);
  }
  console.log('outcomes:', codes);
  console.log(
    'our listeners found:',
    ports.every((p) => open.has(p)),
  );
  for (const s of servers) s.close();
}

main();
