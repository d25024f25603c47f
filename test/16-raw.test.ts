import assert from 'node:assert/strict';
import { raw } from '../dist/lib';
import * as rawSubpath from 'nbconnect/raw';
import { tcpListener, blackHole, fdCount } from './helpers/listeners';

function nonblockingSocket(family: 4 | 6 = 4): number {
  const { ret: fd } = raw.socket(family);
  assert.ok(fd >= 0);
  const flags = raw.getFlags(fd);
  assert.equal(raw.setNonblocking(fd, flags.ret).ret, 0);
  assert.notEqual(raw.getFlags(fd).ret & raw.constants.O_NONBLOCK, 0);
  return fd;
}

describe('raw: the step-by-step API', () => {
  it('is the same module as nbconnect/raw', () => {
    assert.equal(raw.socket, rawSubpath.socket);
  });

  it('drives a connect call by call: EINPROGRESS, POLLOUT, SO_ERROR 0, names', async () => {
    const listener = await tcpListener('127.0.0.1');
    try {
      const fd = nonblockingSocket();
      assert.deepEqual(raw.connect(fd, { host: '127.0.0.1', port: listener.port }), { ret: -1, errno: 115, code: 'EINPROGRESS' });
      // A second connect says EALREADY while the handshake is under way, or
      // returns 0 the first time it is asked after it completed (Linux's
      // __inet_stream_connect); loopback usually completes inside the
      // first call, so both are the kernel's honest answers here.
      const again = raw.connect(fd, `127.0.0.1:${listener.port}`);
      assert.ok(again.ret === 0 || again.code === 'EALREADY', JSON.stringify(again));
      const polled = raw.poll([{ fd }], 1000);
      assert.equal(polled.ret, 1);
      assert.deepEqual(polled.revents, [['POLLOUT']]);
      assert.deepEqual(raw.getSoError(fd), { ret: 0, value: 0 });
      // After success, connect says EISCONN: UNP's "second connect" check.
      assert.equal(raw.connect(fd, `127.0.0.1:${listener.port}`).code, 'EISCONN');
      const peer = raw.getpeername(fd);
      assert.deepEqual([peer.ret, peer.family, peer.address, peer.port], [0, 4, '127.0.0.1', listener.port]);
      assert.equal(raw.getsockname(fd).address, '127.0.0.1');
      assert.deepEqual(raw.close(fd), { ret: 0 });
      assert.equal(raw.close(fd).code, 'EBADF');
    } finally {
      await listener.close();
    }
  });

  it('a second connect while the handshake is pending says EALREADY', async () => {
    const hole = await blackHole('tcp4');
    try {
      const fd = nonblockingSocket();
      assert.equal(raw.connect(fd, { host: '127.0.0.1', port: hole.port }).code, 'EINPROGRESS');
      assert.equal(raw.connect(fd, { host: '127.0.0.1', port: hole.port }).code, 'EALREADY');
      const waited = raw.select([{ fd, read: true, write: true }], 50);
      assert.deepEqual(waited, { ret: 0, readable: [false], writable: [false] });
      assert.deepEqual(raw.getpeername(fd), { ret: -1, errno: 107, code: 'ENOTCONN' });
      raw.close(fd);
    } finally {
      await hole.close();
    }
  });

  it('sets every traced option and reads of 0 bytes', async () => {
    const fd = nonblockingSocket();
    const options: [raw.SocketOption, number | boolean][] = [
      ['TCP_NODELAY', 1],
      ['TCP_SYNCNT', 2],
      ['TCP_USER_TIMEOUT', 500],
      ['IP_BIND_ADDRESS_NO_PORT', true],
      ['SO_LINGER', true],
    ];
    for (const [name, value] of options) {
      // qemu-user (test 67 runs this file under qemu-aarch64 and says so)
      // passes to the kernel only the IP options it knows how to translate,
      // and answers ENOPROTOOPT itself for IP_BIND_ADDRESS_NO_PORT: that is
      // the emulator's answer, reported as faithfully as the kernel's.
      const expected =
        process.env.NBCONNECT_UNDER_QEMU_USER === '1' && name === 'IP_BIND_ADDRESS_NO_PORT' ? { ret: -1, errno: 92, code: 'ENOPROTOOPT' } : { ret: 0 };
      assert.deepEqual(raw.setsockopt(fd, name, value), expected, name);
    }
    assert.equal(raw.bind(fd, '127.0.0.1:0').ret, 0);
    const { ret, data } = raw.read(fd, 0);
    assert.equal(data.length, 0);
    assert.ok(ret === 0 || ret === -1);
    raw.close(fd);
  });

  it('throws TypeError/RangeError for malformed arguments, before any syscall', () => {
    const before = fdCount();
    const cases: [() => unknown, ErrorConstructor][] = [
      // @ts-expect-error: no such family
      [() => raw.socket(5), TypeError],
      [() => raw.getFlags(-1), RangeError],
      // @ts-expect-error: an fd is a number
      [() => raw.getFlags('3'), TypeError],
      // @ts-expect-error: not an option nbconnect knows by name
      [() => raw.setsockopt(0, 'SO_NO_SUCH_OPTION', 1), TypeError],
      // @ts-expect-error: an option by number needs its level
      [() => raw.setsockopt(0, 37, 1), TypeError],
      [() => raw.setsockopt(0, 'IPPROTO_TCP', 'SO_MARK', 1), RangeError],
      [() => raw.connect(0, { host: 'localhost', port: 80 }), TypeError],
      [() => raw.connect(0, { host: '127.0.0.1', port: 1e6 }), RangeError],
      [() => raw.bind(0, { path: 'x'.repeat(200) }), RangeError],
      [() => raw.poll([], 0), TypeError],
      // @ts-expect-error: POLLERR is reported, never asked for
      [() => raw.poll([{ fd: 0, events: ['POLLERR'] }], 0), TypeError],
      [() => raw.poll([{ fd: 0 }], 1.5), RangeError],
      [() => raw.select([{ fd: 1024 }], 0), RangeError],
      [() => raw.select([{ fd: 70000, write: true }], 0), RangeError],
      [() => raw.read(0, -1), RangeError],
    ];
    for (const [call, type] of cases) assert.throws(call, type, call.toString());
    assert.equal(fdCount(), before);
  });
});
