import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { blackHole, refusedPort, fdCount, type Peer, settleFds } from './helpers/listeners';

const FIXTURE = path.join(__dirname, 'fixtures', 'pending-connects.js');

describe('worker_threads', () => {
  let hole: Peer;
  before(async () => {
    hole = await blackHole('tcp4');
  });
  after(async () => {
    await hole.close();
  });

  it('loads the addon in a worker, which gets its own waiters and results', async () => {
    const port = await refusedPort();
    const worker = new Worker(FIXTURE, { workerData: { port, count: 50 } });
    const messages: unknown[] = [];
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
