import assert from 'node:assert/strict';
import { connect, connectSync, probe } from '../dist/lib';
import { callsOf, fdCount, type Peer, warmedBlackHole } from './helpers/listeners';
import { nextTurns, settlesFirst, WAITS } from './helpers/modes';

describe('AbortSignal', () => {
  let hole: Peer;
  // Warmed: the engine's and the waiters' own fds, made on first use, are
  // open before any count is taken (the file alone counted them as leaks).
  before(async () => {
    hole = await warmedBlackHole();
  });
  after(async () => {
    await hole.close();
  });

  for (const wait of WAITS) {
    const order = settlesFirst('async', wait) ? 'settling first, closing its socket within the turn' : 'closing its socket first';
    it(`aborts a pending connect, ${order} (wait: '${wait}')`, async () => {
      const before = fdCount();
      const controller = new AbortController();
      const pending = connect({ host: '127.0.0.1', port: hole.port }, { wait, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('changed my mind')), 50);
      const error = await pending.then(
        () => assert.fail('resolved'),
        (e) => e,
      );
      assert.equal(error.name, 'AbortError');
      assert.equal(error.code, 'ABORT_ERR');
      assert.equal(error.phase, 'aborted');
      assert.equal(error.cause.message, 'changed my mind');
      if (settlesFirst('async', wait)) {
        // The socket is still open while the rejection's handlers run.
        assert.equal(callsOf(error.steps).at(-1), 'epoll_ctl EPOLL_CTL_ADD');
        assert.equal(fdCount(), before + 1, 'open while the handlers run');
        await nextTurns();
        assert.deepEqual(callsOf(error.steps).slice(-2), ['epoll_ctl EPOLL_CTL_DEL', 'close']);
      }
      assert.equal(callsOf(error.steps).at(-1), 'close');
      assert.equal(error.steps.at(-1)!.ret, 0);
      assert.ok(error.elapsed >= 40, `elapsed ${error.elapsed}`);
      assert.ok(fdCount() <= before, 'the socket is closed');
    });
  }

  it('an already aborted signal rejects before any syscall', async () => {
    const signal = AbortSignal.abort();
    const error = await connect({ host: '127.0.0.1', port: hole.port }, { signal }).catch((e) => e);
    assert.equal(error.name, 'AbortError');
    assert.deepEqual(error.steps, []);
    assert.throws(() => connectSync({ host: '127.0.0.1', port: hole.port }, { signal }), { name: 'AbortError', code: 'ABORT_ERR' });
  });

  it('probe reports an abort as an outcome, never a rejection, once its socket is closed', async () => {
    const outcome = await probe({ host: '127.0.0.1', port: hole.port }, { signal: AbortSignal.timeout(50) });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, 'ABORT_ERR');
    assert.equal(outcome.phase, 'aborted');
    assert.equal(outcome.steps.at(-1)!.call, 'close');
  });

  it('an abort after the deadline fired changes nothing', async () => {
    const controller = new AbortController();
    const error = await connect({ host: '127.0.0.1', port: hole.port }, { timeout: 20, signal: controller.signal }).catch((e) => e);
    controller.abort();
    assert.equal(error.phase, 'timeout');
  });
});
