'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { blackHole, refusedPort, fdCount } = require('./helpers/listeners');

const FIXTURE = path.join(__dirname, 'fixtures', 'pending-connects.js');

async function settleFds(target) {
  for (let i = 0; i < 100 && fdCount() !== target; i++) await new Promise((r) => setTimeout(r, 20));
  return fdCount();
}

describe('worker_threads', () => {
  let hole;
  before(async () => { hole = await blackHole('tcp4'); });
  after(async () => { await hole.close(); });

  it('loads the addon in a worker, which gets its own waiters and results', async () => {
    const port = await refusedPort();
    const worker = new Worker(FIXTURE, { workerData: { port, count: 50 } });
    const messages = [];
    worker.on('message', (m) => messages.push(m));
    await once(worker, 'exit');
    assert.deepEqual(messages, [{ started: 50 }, { done: 50, code: 'ECONNREFUSED' }]);
  });

  it('terminating workers with connects pending closes every fd and crashes nothing', async function () {
    this.timeout(60000);
    const before = fdCount();
    for (let round = 0; round < 5; round++) {
      const worker = new Worker(FIXTURE, { workerData: { port: hole.port, count: 300 } });
      const [message] = await once(worker, 'message');
      assert.deepEqual(message, { started: 300 });
      // Let the waiter threads take the attempts over before pulling the plug.
      await new Promise((r) => setTimeout(r, 50));
      const code = await worker.terminate();
      assert.equal(code, 1);
    }
    assert.equal(await settleFds(before), before);
  });
});
