import assert from 'node:assert/strict';
import { connect, type ConnectError } from '../dist/lib';
import { blackHole } from './helpers/listeners';
import { WAITS } from './helpers/modes';

// The kernel's own pace: TCP_SYNCNT 1 gives up after its 1 s + 2 s of SYN
// retries, a wait of 3 s no build can shorten, so it lives in the slow layer.
describe('options the kernel acts on in its own time', () => {
  it('synCount: 1 lets the kernel give up after about 3 s: SO_ERROR ETIMEDOUT, phase async', async function () {
    this.timeout(20000);
    const hole = await blackHole('tcp4');
    try {
      const errors = await Promise.all(
        WAITS.map((wait) =>
          connect({ host: '127.0.0.1', port: hole.port }, { synCount: 1, wait }).then(
            () => assert.fail('connected to a black hole'),
            (e: ConnectError) => e,
          ),
        ),
      );
      for (const error of errors) {
        assert.equal(error.code, 'ETIMEDOUT');
        // The kernel's verdict, not our deadline: told apart by the phase.
        assert.equal(error.phase, 'async');
        assert.equal(error.steps.find((s) => s.arg === 'SO_ERROR')?.value, 110);
        assert.ok(error.elapsed > 2000 && error.elapsed < 10000, `${error.elapsed}`);
      }
    } finally {
      await hole.close();
    }
  });
});
