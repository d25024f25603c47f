'use strict';
// An http.Agent with a real connect deadline: createConnection() connects with
// nbconnect, so a host that never answers fails at 500 ms with ETIMEDOUT,
// not after the kernel's two minutes of SYN retries.
const http = require('node:http');
const { createConnection } = require('nbconnect');
const { blackHole } = require('./peers'); // a listener whose queue is full: SYNs go unanswered

function get(url, agent) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });
}

async function main() {
  const agent = new http.Agent({ keepAlive: true });
  agent.createConnection = createConnection({ timeout: 500 });

  const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  console.log('live server:', await get(`http://127.0.0.1:${server.address().port}/`, agent));

  const hole = await blackHole();
  const t0 = performance.now();
  try {
    await get(`http://127.0.0.1:${hole.port}/`, agent);
  } catch (err) {
    console.log(`dead server: ${err.code} after ${Math.round(performance.now() - t0)} ms (phase ${err.phase}, ${err.steps.length} steps)`);
  }
  agent.destroy();
  server.close();
  await hole.close();
}

main();
