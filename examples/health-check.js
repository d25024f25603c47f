'use strict';
// A health check with probe(): one connect per service under a real deadline,
// each verdict with the reason the kernel gave. Exit status 1 if any is down.
const net = require('node:net');
const { probe } = require('nbconnect');
const { unixListener, refusedPort } = require('./peers'); // services to check, started here

async function main() {
  const web = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await new Promise((resolve) => web.once('listening', resolve));
  const queue = await unixListener();
  const services = {
    web: { host: '127.0.0.1', port: web.address().port },
    queue: { path: queue.path },
    cache: { host: '127.0.0.1', port: await refusedPort() }, // nothing listens: down
  };
  const results = await Promise.all(Object.entries(services).map(async ([name, target]) => [name, await probe(target, { timeout: 500 })]));
  for (const [name, o] of results)
    console.log(`${name.padEnd(6)} ${o.ok ? 'UP  ' : 'DOWN'} ${o.code.padEnd(13)} ${o.phase.padEnd(9)} ${o.elapsed.toFixed(2)} ms`);
  web.close();
  await queue.close();
  process.exitCode = results.every(([, o]) => o.ok) ? 0 : 1;
}

main();
