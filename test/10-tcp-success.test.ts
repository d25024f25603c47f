import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tcpListener, callsOf } from './helpers/listeners';
import { connected, everyMode, LOOPBACKS, readiness, START_CALLS, waitCalls } from './helpers/modes';

// Loopback TCP still answers EINPROGRESS: the handshake finishes in softirq
// context while connect() returns, so the wait sees it at once.
describe('TCP connect succeeds: EINPROGRESS, writable, SO_ERROR 0', () => {
  for (const [family, host] of LOOPBACKS) {
    for (const { label, wait, attempt } of everyMode()) {
      it(`IPv${family}, ${label}`, async () => {
        const listener = await tcpListener(host);
        try {
          const connection = connected(await attempt({ host, port: listener.port }));
          assert.deepEqual(callsOf(connection.steps), [...START_CALLS, ...waitCalls(wait), 'getsockopt SO_ERROR', 'getsockname', 'getpeername']);
          const [socket, getfl, setfl, conn] = connection.steps;
          const waited = connection.steps.at(-4)!;
          const soError = connection.steps.at(-3)!;
          assert.equal(socket.ret, connection.fd);
          assert.equal(setfl.ret, 0);
          assert.ok(getfl.ret >= 0);
          assert.equal(conn.ret, -1);
          assert.equal(conn.errno, 115);
          assert.equal(conn.code, 'EINPROGRESS');
          assert.deepEqual(readiness(waited, wait), { epoll: ['EPOLLOUT'], poll: ['POLLOUT'], select: [false, true] }[wait]);
          assert.ok(waited.ret >= 1);
          assert.equal(soError.ret, 0);
          assert.equal(soError.value, 0);

          assert.equal(connection.immediate, false);
          assert.equal(connection.family, family === 4 ? 'IPv4' : 'IPv6');
          assert.equal(connection.remoteAddress, host);
          assert.equal(connection.remotePort, listener.port);
          assert.equal(connection.localAddress, host);
          assert.ok(connection.localPort! > 0 && connection.localPort !== listener.port);
          assert.ok(connection.elapsed > 0 && connection.elapsed < 5000);
          for (let i = 1; i < connection.steps.length; i++) assert.ok(connection.steps[i].at >= connection.steps[i - 1].at, 'steps are in time order');
          const fd = connection.fd;
          assert.ok(fs.fstatSync(fd).isSocket());
          connection.close();
          assert.equal(connection.fd, -1);
          assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
          assert.deepEqual(connection.steps.at(-1)?.call, 'close');
          connection.close(); // a second close is a no-op, never someone else's fd
        } finally {
          await listener.close();
        }
      });
    }
  }

  it('accepts host names through dns.lookup (localhost, from /etc/hosts)', async () => {
    const listener = await tcpListener('127.0.0.1');
    try {
      for (const { attempt } of everyMode()) {
        const connection = connected(await attempt({ host: 'localhost', port: listener.port }, { family: 4 }));
        assert.equal(connection.remoteAddress, '127.0.0.1');
        assert.deepEqual(connection.target, { host: 'localhost', address: '127.0.0.1', port: listener.port, family: 4 });
        connection.close();
      }
    } finally {
      await listener.close();
    }
  });

  it('accepts the string forms host:port and [v6]:port', async () => {
    const v4 = await tcpListener('127.0.0.1');
    const v6 = await tcpListener('::1');
    try {
      for (const { attempt } of everyMode()) {
        const a = connected(await attempt(`127.0.0.1:${v4.port}`));
        const b = connected(await attempt(`[::1]:${v6.port}`));
        assert.equal(a.remotePort, v4.port);
        assert.equal(b.remoteAddress, '::1');
        a.close();
        b.close();
      }
    } finally {
      await v4.close();
      await v6.close();
    }
  });
});
