import assert from 'node:assert/strict';
import { connect } from '../dist/lib';
import { addon } from '../dist/lib/binding';
import { rejected } from './helpers/calls';
import { blackHole, callsOf, type Peer } from './helpers/listeners';
import { everyMode, failed, nextTurns, readiness, settlesFirst, START_CALLS, unwatchCalls, waitCalls } from './helpers/modes';

// Generous on the late side: a loaded 2-core machine may run us late, but
// never early. The deadline itself is a monotonic one.
const DEADLINE = 200;
const LATE_TOLERANCE = 1500;

describe('a deadline against a listener that never answers', () => {
  for (const kind of ['tcp4', 'tcp6'] as const) {
    describe(kind, () => {
      let hole: Peer;
      before(async () => {
        hole = await blackHole(kind);
      });
      after(async () => {
        await hole.close();
      });

      for (const { label, mode, wait, attempt } of everyMode()) {
        it(`fails with ETIMEDOUT, phase 'timeout', socket closed (${label})`, async () => {
          const host = kind === 'tcp4' ? '127.0.0.1' : '::1';
          const started = performance.now();
          const error = failed(await attempt({ host, port: hole.port }, { timeout: DEADLINE }));
          const took = performance.now() - started;
          assert.equal(error.code, 'ETIMEDOUT');
          assert.equal(error.errno, -110);
          assert.equal(error.phase, 'timeout');
          assert.equal(error.message, `connect ETIMEDOUT ${host}:${hole.port}`);
          assert.ok(error.elapsed >= DEADLINE, `elapsed ${error.elapsed} >= ${DEADLINE}`);
          assert.ok(took < DEADLINE + LATE_TOLERANCE, `took ${took} ms`);
          if (settlesFirst(mode, wait)) {
            // Settled first: the trace ends at the wait that found the
            // deadline, and the close joins it before the turn is over.
            assert.equal(callsOf(error.steps).at(-1), waitCalls(wait).at(-1));
            await nextTurns();
          }
          const calls = callsOf(error.steps);
          assert.deepEqual(calls.slice(0, START_CALLS.length), START_CALLS);
          assert.deepEqual(calls.slice(-1 - unwatchCalls(wait).length), [...unwatchCalls(wait), 'close']);
          assert.ok(!calls.includes('getsockopt SO_ERROR'), 'a timeout never reads SO_ERROR');
          const lastWait = error.steps.at(-2 - unwatchCalls(wait).length)!;
          assert.equal(lastWait.call, waitCalls(wait).at(-1));
          // The fd was never ready: no events, in neither set.
          assert.deepEqual(readiness(lastWait, wait), wait === 'select' ? [false, false] : []);
          // Alone on its thread, the sync wait's syscall itself returns 0.
          if (mode === 'sync') assert.equal(lastWait.ret, 0);
          assert.ok(lastWait.at >= DEADLINE);
        });
      }

      it('a deadline of 0 has passed before the start: ETIMEDOUT at once, with no syscall (no SYN for a connect nobody waits for)', async () => {
        for (const { attempt, label } of everyMode()) {
          const before = addon.socketCalls();
          const error = failed(await attempt({ host: kind === 'tcp4' ? '127.0.0.1' : '::1', port: hole.port }, { timeout: 0 }));
          assert.deepEqual([error.code, error.phase, error.steps], ['ETIMEDOUT', 'timeout', []], label);
          assert.equal(addon.socketCalls(), before, label);
        }
      });
    });
  }

  it('keeps many deadlines apart on one waiter: each fires at its own time', async () => {
    const hole = await blackHole('tcp4');
    try {
      const deadlines = [100, 300, 500, 700];
      const errors = await Promise.all(deadlines.map((timeout) => rejected(connect({ host: '127.0.0.1', port: hole.port }, { timeout }))));
      errors.forEach((error, i) => {
        assert.equal(error.phase, 'timeout');
        assert.ok(error.elapsed >= deadlines[i] && error.elapsed < deadlines[i] + LATE_TOLERANCE, `${error.elapsed}`);
      });
    } finally {
      await hole.close();
    }
  });
});
