import assert from 'node:assert/strict';
import * as dns from 'node:dns';
import { connectAny, ConnectError, probe, type Where } from '../dist/lib';
import { rejected, rejectedAll } from './helpers/calls';
import { tcpListener, refusedPort, blackHole, fdCount } from './helpers/listeners';
import { nextTurns } from './helpers/modes';

const familyOf = (where: Where) => ('family' in where ? where.family : undefined);

describe('connectAny (Happy Eyeballs v2)', () => {
  // The waiter thread's eventfd is made on first use: make it before fds are counted.
  before(async () => probe(`127.0.0.1:${await refusedPort()}`));

  it('a dead first address: the live second one starts after the delay and wins; the loser is closed', async () => {
    const hole = await blackHole('tcp4');
    const before = fdCount();
    const live = await tcpListener('127.0.0.1');
    let closed = false;
    try {
      const delay = 150;
      const { connection, winner, attempts } = await connectAny(
        [
          { host: '127.0.0.1', port: hole.port },
          { host: '127.0.0.1', port: live.port },
        ],
        { delay },
      );
      assert.equal(winner, 1);
      assert.deepEqual(
        attempts.map((a) => a.result),
        ['cancelled', 'won'],
      );
      assert.ok(attempts[0].startedAt! < 50, `first started at ${attempts[0].startedAt}`);
      // Not before the delay; the upper bound allows a loaded machine.
      assert.ok(attempts[1].startedAt! >= delay - 1, `second started at ${attempts[1].startedAt}`);
      assert.ok(attempts[1].startedAt! < delay + 1000, `second started at ${attempts[1].startedAt}`);
      assert.equal(connection.remotePort, live.port);
      // The loser's abort settled before connectAny resolved; the epoll
      // engine closes its socket right after, within the turn.
      assert.equal(attempts[0].error!.code, 'ABORT_ERR');
      await nextTurns();
      assert.equal(attempts[0].error!.steps.at(-1)!.call, 'close');
      connection.close();
      await live.close();
      closed = true;
      assert.equal(fdCount(), before);
    } finally {
      await hole.close();
      if (!closed) await live.close();
    }
  });

  it('a failure starts the next attempt at once, without waiting for the delay', async () => {
    const refused = await refusedPort();
    const live = await tcpListener('127.0.0.1');
    try {
      const { winner, attempts, connection } = await connectAny([`127.0.0.1:${refused}`, `127.0.0.1:${live.port}`], { delay: 5000 });
      connection.close();
      assert.equal(winner, 1);
      assert.equal(attempts[0].result, 'failed');
      assert.equal(attempts[0].error!.code, 'ECONNREFUSED');
      assert.ok(attempts[1].startedAt! < 2500, `second started at ${attempts[1].startedAt}`);
    } finally {
      await live.close();
    }
  });

  it('all fail: an AggregateError naming every address and code, each error with its steps', async () => {
    const a = await refusedPort('127.0.0.1');
    const b = await refusedPort('::1');
    const before = fdCount();
    const err = await rejectedAll(connectAny([`127.0.0.1:${a}`, `[::1]:${b}`], { delay: 100 }));
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.errors.length, 2);
    for (const e of err.errors) {
      assert.ok(e instanceof ConnectError);
      assert.equal(e.code, 'ECONNREFUSED');
      assert.deepEqual(e.steps.map((s) => s.call).slice(0, 1), ['socket']);
      assert.equal(e.steps.at(-1)!.call, 'close');
    }
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${a} ECONNREFUSED, \\[::1\\]:${b} ECONNREFUSED`));
    assert.deepEqual(
      err.attempts.map((x) => x.result),
      ['failed', 'failed'],
    );
    assert.equal(fdCount(), before);
  });

  it('the timeout is one deadline for the race: ETIMEDOUT for the started, the rest never tried', async () => {
    const hole = await blackHole('tcp4');
    try {
      const t0 = performance.now();
      const target = `127.0.0.1:${hole.port}`;
      const err = await rejectedAll(connectAny([target, target, target], { delay: 200, timeout: 300 }));
      const took = performance.now() - t0;
      assert.ok(took >= 299 && took < 2000, `took ${took}`);
      assert.deepEqual(
        err.attempts.map((x) => x.result),
        ['failed', 'failed', 'not started'],
      );
      assert.deepEqual(
        err.errors.map((e) => e.code),
        ['ETIMEDOUT', 'ETIMEDOUT'],
      );
      assert.match(err.message, /1 not tried before the deadline/);
    } finally {
      await hole.close();
    }
  });

  it('a name resolves to every address, families interleaved, first family first', async () => {
    const addresses = await dns.promises.lookup('localhost', { all: true });
    const live = await tcpListener(addresses[0].address);
    try {
      const { connection, attempts, winner } = await connectAny({ host: 'localhost', port: live.port });
      connection.close();
      assert.equal(winner, 0);
      assert.equal(attempts.length, addresses.length);
      assert.deepEqual(attempts[0].target, { host: 'localhost', address: addresses[0].address, port: live.port, family: addresses[0].family });
      for (let i = 1; i < attempts.length; i++)
        if (attempts.filter((x) => familyOf(x.target) !== familyOf(attempts[0].target)).length >= Math.ceil(i / 2))
          assert.notEqual(familyOf(attempts[i].target), familyOf(attempts[i - 1].target), 'families alternate while both last');
    } finally {
      await live.close();
    }
  });

  it('the signal aborts the race and closes every socket', async () => {
    const hole = await blackHole('tcp4');
    const before = fdCount();
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const target = `127.0.0.1:${hole.port}`;
      const err = await rejected(connectAny([target, target], { delay: 20, signal: ac.signal }));
      assert.equal(err.code, 'ABORT_ERR');
      assert.equal(err.name, 'AbortError');
      await nextTurns();
      assert.equal(fdCount(), before);
    } finally {
      await hole.close();
    }
  });

  it('bad arguments: TypeError/RangeError before any socket', async () => {
    const before = fdCount();
    await assert.rejects(connectAny([]), RangeError);
    // @ts-expect-error: ill-typed on purpose
    await assert.rejects(connectAny(42), TypeError);
    await assert.rejects(connectAny(['127.0.0.1:1', 'nope:x']), /targets\[1\]/);
    await assert.rejects(connectAny(['127.0.0.1:1'], { delay: -1 }), RangeError);
    await assert.rejects(connectAny(['127.0.0.1:1'], { delay: NaN }), RangeError);
    // @ts-expect-error: ill-typed on purpose
    await assert.rejects(connectAny(['127.0.0.1:1'], { wait: 'kqueue' }), TypeError);
    assert.equal(fdCount(), before);
  });
});
