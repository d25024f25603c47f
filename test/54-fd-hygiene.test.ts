import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { connect, connectSync, probe, type ConnectOptions, type Target, type Wait } from '../dist/lib';
import { rejected } from './helpers/calls';
import { tcpListener, unixListener, refusedPort, blackHole, fdCount } from './helpers/listeners';

const ROUNDS = 3000;

describe('fd hygiene', () => {
  it(`a mixed run of ${ROUNDS} connects leaves the fd count where it was`, async function () {
    this.timeout(60000);
    const tcp = await tcpListener('127.0.0.1');
    const unix = await unixListener();
    const hole = await blackHole('tcp4');
    const refused = await refusedPort();
    // Warm both waiters first: each owns one eventfd for its lifetime.
    await probe({ host: '127.0.0.1', port: refused }, { wait: 'poll' });
    await probe({ host: '127.0.0.1', port: refused }, { wait: 'select' });
    const before = fdCount();
    const seen = new Map<string, number>();
    const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
    try {
      const kinds: ((wait: Wait) => Promise<unknown>)[] = [
        async (wait) => (await connect({ host: '127.0.0.1', port: tcp.port }, { wait, linger0: true })).close(),
        async (wait) => (await connect({ path: unix.path }, { wait })).close(),
        async (wait) => connect({ host: '127.0.0.1', port: refused }, { wait }),
        async (wait) => connect({ host: '127.0.0.1', port: hole.port }, { wait, timeout: 5 }),
        async (wait) => connect({ host: '127.0.0.1', port: hole.port }, { wait, signal: AbortSignal.timeout(2) }),
        async (wait) => connectSync({ host: '127.0.0.1', port: tcp.port }, { wait, linger0: true }).close(),
        async (wait) => connectSync({ host: '127.0.0.1', port: refused }, { wait }),
        async (wait) => {
          const o = await probe({ path: unix.path }, { wait });
          if (!o.ok) throw new Error(o.code);
        },
      ];
      const batch = 100;
      for (let i = 0; i < ROUNDS; i += batch) {
        await Promise.all(
          Array.from({ length: batch }, (_, j) => {
            const n = i + j;
            return kinds[n % kinds.length](n % 2 ? 'select' : 'poll').then(
              () => count('OK'),
              (e) => count(e.code),
            );
          }),
        );
      }
      // Every kind of ending happened, and nothing else did.
      assert.deepEqual([...seen.keys()].sort(), ['ABORT_ERR', 'ECONNREFUSED', 'ETIMEDOUT', 'OK']);
      assert.equal(
        [...seen.values()].reduce((a, b) => a + b),
        ROUNDS,
      );
      // Accepted peers close asynchronously on the server side.
      for (let i = 0; i < 50 && fdCount() !== before; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(fdCount(), before);
    } finally {
      await tcp.close();
      await unix.close();
      await hole.close();
    }
  });

  it('select refuses an fd >= FD_SETSIZE with EINVAL and a reason; poll takes it', async () => {
    const held = [];
    try {
      while (fdCount() < 1100) held.push(fs.openSync('/dev/null', 'r'));
      const tcp = await tcpListener('127.0.0.1');
      try {
        for (const call of [connect, async (t: Target, o: ConnectOptions) => connectSync(t, o)]) {
          const error = await rejected(call({ host: '127.0.0.1', port: tcp.port }, { wait: 'select' }));
          assert.equal(error.code, 'EINVAL');
          assert.equal(error.syscall, 'select');
          assert.match(error.message, /FD_SETSIZE \(1024\)/);
          assert.equal(error.steps[0].call, 'socket');
          assert.ok(error.steps[0].ret >= 1024);
          assert.ok(!error.steps.some((s) => s.call === 'connect'), 'no handshake was started');
          const connection = await call({ host: '127.0.0.1', port: tcp.port }, { wait: 'poll' });
          assert.ok(connection.fd >= 1024);
          connection.close();
        }
      } finally {
        await tcp.close();
      }
    } finally {
      for (const fd of held) fs.closeSync(fd);
    }
  });
});
