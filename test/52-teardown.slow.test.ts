// Teardown under load, the heavy half (the abort storm is 52-teardown.test.ts):
// fifty workers, each with 200 connects pending, terminated.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fdCount, type Peer, settleFds, warmedBlackHole } from './helpers/listeners';

const FIXTURE = path.join(__dirname, 'fixtures', 'pending-connects.js');

describe('teardown under load: workers', function () {
  this.timeout(120000);
  let hole: Peer;
  before(async () => {
    hole = await warmedBlackHole();
  });
  after(async () => hole.close());

  it('50 workers, each with 200 connects pending, terminated: no crash, no fd left', async () => {
    const before = fdCount();
    const workers = [];
    for (let i = 0; i < 50; i++) {
      const worker = new Worker(FIXTURE, { workerData: { port: hole.port, count: 200 } });
      workers.push(worker);
      // Two at a time in flight on two cores: start them in small waves.
      if (workers.length % 10 === 0) await Promise.all(workers.slice(-10).map((w) => once(w, 'message')));
    }
    await new Promise((r) => setTimeout(r, 50));
    const codes = await Promise.all(workers.map((w) => w.terminate()));
    assert.deepEqual(new Set(codes), new Set([1]));
    assert.equal(await settleFds(before), before);
  });
});
