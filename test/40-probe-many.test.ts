import assert from 'node:assert/strict';
import { probeMany, type Target } from '../dist/lib';
import { tcpListener, refusedPort, blackHole, fdCount } from './helpers/listeners';

describe('probeMany', () => {
  it('probes 5,000 targets, never more in flight than the cap, pulling lazily', async function () {
    this.timeout(60000);
    const listener = await tcpListener('127.0.0.1');
    const refused = await refusedPort();
    const cap = 64;
    let pulled = 0;
    let received = 0;
    let worst = 0;
    function* targets() {
      for (let i = 0; i < 5000; i++) {
        pulled++;
        worst = Math.max(worst, pulled - received);
        yield { host: '127.0.0.1', port: i % 2 ? listener.port : refused };
      }
    }
    const counts: Record<string, number> = {};
    try {
      for await (const outcome of probeMany(targets(), { concurrency: cap, linger0: true })) {
        received++;
        counts[outcome.code] = (counts[outcome.code] ?? 0) + 1;
        assert.equal(outcome.steps.at(-1)!.call, 'close');
      }
    } finally {
      await listener.close();
    }
    assert.deepEqual(counts, { OK: 2500, ECONNREFUSED: 2500 });
    assert.ok(worst <= cap, `in flight reached ${worst}`);
    assert.ok(worst >= cap / 2, `the cap was used (${worst})`);
  });

  for (const how of ['break', 'return', 'throw']) {
    it(`leaving the loop early (${how}) aborts the rest and leaks no fd`, async () => {
      const before = fdCount();
      const hole = await blackHole('tcp4');
      const listener = await tcpListener('127.0.0.1');
      const withPeers = fdCount();
      try {
        const run = async () => {
          let seen = 0;
          // The first target answers at once; the other 99 never will.
          const targets = [{ host: '127.0.0.1', port: listener.port }, ...Array.from({ length: 99 }, () => ({ host: '127.0.0.1', port: hole.port }))];
          for await (const outcome of probeMany(targets, { concurrency: 100 })) {
            seen++;
            assert.equal(outcome.code, 'OK');
            if (how === 'break') break;
            if (how === 'return') return seen;
            throw new Error('stop here');
          }
          return seen;
        };
        if (how === 'throw') await assert.rejects(run(), /stop here/);
        else assert.equal(await run(), 1);
        // The moment the loop statement ends, the 99 sockets are closed: all
        // that may be left is the connection the listener accepted, which
        // it closes once it reads the probe's close.
        const now = fdCount();
        assert.ok(now <= withPeers + 1, `no probe socket outlives the loop statement: ${now} open, ${withPeers} with the peers`);
      } finally {
        await hole.close();
        await listener.close();
      }
      // The 99 pending sockets were closed when the loop ended; the peers'
      // own fds (listener, accepted socket, pipes) are gone with them now.
      assert.equal(fdCount(), before, 'no socket outlives the loop');
    });
  }

  it('takes async iterables, and a bad target rejects the loop with its own error', async () => {
    const refused = await refusedPort();
    // Typed as a JS caller would pass it: the bad port is the point.
    async function* targets(): AsyncGenerator<Target> {
      yield `127.0.0.1:${refused}`;
      yield { host: '127.0.0.1', port: 'eighty' } as unknown as Target;
    }
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const outcome of probeMany(targets())) seen.push(outcome.code);
      },
      { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' },
    );
    assert.ok(seen.length <= 1);
    await assert.rejects(async () => {
      // @ts-expect-error: targets are an iterable
      for await (const _ of probeMany(42)) void _;
    }, /iterable/);
    await assert.rejects(async () => {
      for await (const _ of probeMany([], { concurrency: 0 })) void _;
    }, RangeError);
  });
});
