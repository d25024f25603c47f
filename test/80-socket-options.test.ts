// Control before connect: every listed option is one traced setsockopt,
// in the order given, before connect(); what the kernel reports back
// (getsockopt, TCP_INFO) is the witness that it took effect.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { connect, connectSync, probe, raw, type Connection, type SocketOptionName, type Step } from '../dist/lib';
import { addon } from '../dist/lib/binding';
import { rejected } from './helpers/calls';
import { nbconnect } from './helpers/command';
import { refusedPort, tcpListener, unixListener, type TcpListener } from './helpers/listeners';
import { namespaceBlocker, skipWithout } from './helpers/namespaces';

const setsockopts = (steps: readonly Step[]) => steps.filter((s) => s.call === 'setsockopt').map((s) => [s.level, s.arg, s.value, s.ret]);
const int = (c: Connection, name: SocketOptionName) => raw.getsockopt(c.fd, name).value;

/** What a promise rejected with (a TypeError or RangeError here, not a ConnectError). */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err as Error & { code?: string },
  );
}

describe('socket options before the SYN', function () {
  this.timeout(30000);
  let live: TcpListener;
  let live6: TcpListener;
  before(async () => {
    live = await tcpListener('127.0.0.1');
    live6 = await tcpListener('::1');
  });
  after(async () => {
    await live.close();
    await live6.close();
  });

  it('each option is a setsockopt step in the order given, before connect, and the kernel reads each back', async () => {
    const c = await connect(
      { host: '127.0.0.1', port: live.port },
      {
        congestion: 'reno',
        tos: 0x10,
        mark: 42,
        keepAlive: { idle: 7, interval: 3, count: 4 },
        sendBufferSize: 65536,
        receiveBufferSize: 131072,
        maxSegment: 1000,
        fastOpen: true,
        setsockopt: [
          { level: 'SOL_SOCKET', name: 'SO_PRIORITY', value: 6 },
          { level: 'IPPROTO_TCP', name: 'TCP_NOTSENT_LOWAT', value: 16384 },
        ],
      },
    );
    try {
      assert.deepEqual(setsockopts(c.steps), [
        ['IPPROTO_TCP', 'TCP_CONGESTION', undefined, 0],
        ['IPPROTO_IP', 'IP_TOS', 16, 0],
        ['SOL_SOCKET', 'SO_MARK', 42, 0],
        ['SOL_SOCKET', 'SO_KEEPALIVE', 1, 0],
        ['IPPROTO_TCP', 'TCP_KEEPIDLE', 7, 0],
        ['IPPROTO_TCP', 'TCP_KEEPINTVL', 3, 0],
        ['IPPROTO_TCP', 'TCP_KEEPCNT', 4, 0],
        ['SOL_SOCKET', 'SO_SNDBUF', 65536, 0],
        ['SOL_SOCKET', 'SO_RCVBUF', 131072, 0],
        ['IPPROTO_TCP', 'TCP_MAXSEG', 1000, 0],
        ['IPPROTO_TCP', 'TCP_FASTOPEN_CONNECT', 1, 0],
        ['SOL_SOCKET', 'SO_PRIORITY', 6, 0],
        ['IPPROTO_TCP', 'TCP_NOTSENT_LOWAT', 16384, 0],
      ]);
      const calls = c.steps.map((s) => s.call);
      assert.ok(calls.lastIndexOf('setsockopt') < calls.indexOf('connect'), calls.join(' '));

      assert.equal(raw.getsockopt(c.fd, 'TCP_CONGESTION', 16).data!.toString().replace(/\0+$/, ''), 'reno');
      assert.equal(int(c, 'IP_TOS'), 16);
      assert.equal(int(c, 'SO_MARK'), 42);
      assert.equal(int(c, 'SO_KEEPALIVE'), 1);
      assert.equal(int(c, 'TCP_KEEPIDLE'), 7);
      assert.equal(int(c, 'TCP_KEEPINTVL'), 3);
      assert.equal(int(c, 'TCP_KEEPCNT'), 4);
      // The kernel doubles a buffer size for its bookkeeping (socket(7)).
      assert.equal(int(c, 'SO_SNDBUF'), 2 * 65536);
      assert.equal(int(c, 'SO_RCVBUF'), 2 * 131072);
      assert.equal(int(c, 'TCP_FASTOPEN_CONNECT'), 1);
      assert.equal(int(c, 'SO_PRIORITY'), 6);
      assert.equal(int(c, 'TCP_NOTSENT_LOWAT'), 16384);
      // The MSS announced in the SYN bounds what this end sends: loopback's
      // own would be 65,483 (its 65,536 MTU less the headers).
      const mss = int(c, 'TCP_MAXSEG')!;
      assert.ok(mss > 0 && mss <= 1000, `TCP_MAXSEG ${mss}`);
      assert.ok(c.tcpInfo().advMss <= 1000, `advmss ${c.tcpInfo().advMss}`);
    } finally {
      c.close();
    }
  });

  it('tos is IPV6_TCLASS on IPv6, and keepAlive: true is SO_KEEPALIVE alone', async () => {
    const c = await connect({ host: '::1', port: live6.port }, { tos: 0x20, keepAlive: true });
    try {
      assert.deepEqual(setsockopts(c.steps), [
        ['IPPROTO_IPV6', 'IPV6_TCLASS', 32, 0],
        ['SOL_SOCKET', 'SO_KEEPALIVE', 1, 0],
      ]);
      assert.equal(int(c, 'IPV6_TCLASS'), 32);
      assert.equal(int(c, 'SO_KEEPALIVE'), 1);
    } finally {
      c.close();
    }
  });

  it('connectSync and probe set them too; an option by number and a Buffer value reach the kernel as given', async () => {
    const TCP_NOTSENT_LOWAT = 25; // linux/tcp.h
    const value = Buffer.alloc(4);
    value.writeInt32LE(8192);
    const c = connectSync(`127.0.0.1:${live.port}`, { setsockopt: [{ level: 6, name: TCP_NOTSENT_LOWAT, value }] });
    try {
      // A Buffer's bytes are not shown as an int; the number is named from the table.
      assert.deepEqual(setsockopts(c.steps), [['IPPROTO_TCP', 'TCP_NOTSENT_LOWAT', undefined, 0]]);
      assert.equal(int(c, 'TCP_NOTSENT_LOWAT'), 8192);
    } finally {
      c.close();
    }
    const o = await probe(`127.0.0.1:${live.port}`, { mark: 7 });
    assert.equal(o.code, 'OK');
    assert.deepEqual(setsockopts(o.steps), [['SOL_SOCKET', 'SO_MARK', 7, 0]]);
  });

  it('a setting the kernel refuses is its errno at that step: the socket is closed and no connect is made', async () => {
    const port = await refusedPort();
    for (const [options, code, arg] of [
      [{ congestion: 'nosuchcc' }, 'ENOENT', 'TCP_CONGESTION'],
      [{ maxSegment: 1 }, 'EINVAL', 'TCP_MAXSEG'],
      [{ bindToDevice: 'nosuch0' }, 'ENODEV', 'SO_BINDTODEVICE'],
    ] as const) {
      const err = await rejected(connect(`127.0.0.1:${port}`, options));
      assert.equal(err.code, code);
      assert.equal(err.syscall, 'setsockopt');
      assert.deepEqual(
        err.steps.map((s) => `${s.call}${s.arg ? ` ${s.arg}` : ''}${s.code ? ` ${s.code}` : ''}`),
        ['socket SOCK_STREAM|SOCK_CLOEXEC', 'fcntl F_GETFL', 'fcntl F_SETFL', `setsockopt ${arg} ${code}`, 'close'],
      );
    }
  });

  it('AF_UNIX takes the socket-level ones and refuses the TCP and IP ones before any syscall', async () => {
    const listener = await unixListener();
    try {
      const c = await connect({ path: listener.path }, { sendBufferSize: 32768 });
      assert.deepEqual(setsockopts(c.steps), [['SOL_SOCKET', 'SO_SNDBUF', 32768, 0]]);
      c.close();
      const before = addon.socketCalls();
      for (const key of ['tos', 'keepAlive', 'maxSegment', 'congestion', 'fastOpen', 'mptcp'] as const) {
        const value = { tos: 1, keepAlive: true, maxSegment: 1000, congestion: 'reno', fastOpen: true, mptcp: true }[key];
        const err = await rejection(connect({ path: listener.path }, { [key]: value }));
        assert.equal(err.code, 'ERR_INVALID_ARG_VALUE', key);
        assert.match(err.message, new RegExp(`options\\.${key}.*applies to TCP only`));
      }
      assert.equal(addon.socketCalls(), before);
    } finally {
      await listener.close();
    }
  });

  it('malformed options are TypeError or RangeError naming the value, before any syscall', async () => {
    const before = addon.socketCalls();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ tos: 256 }, 'ERR_OUT_OF_RANGE', /options\.tos/],
      [{ tos: '16' }, 'ERR_INVALID_ARG_TYPE', /options\.tos/],
      [{ mark: -1 }, 'ERR_OUT_OF_RANGE', /options\.mark/],
      [{ bindToDevice: '' }, 'ERR_INVALID_ARG_VALUE', /options\.bindToDevice/],
      [{ bindToDevice: 'a-name-too-long0' }, 'ERR_INVALID_ARG_VALUE', /a-name-too-long0/],
      [{ congestion: 're\0no' }, 'ERR_INVALID_ARG_VALUE', /options\.congestion/],
      [{ keepAlive: { idle: 0 } }, 'ERR_OUT_OF_RANGE', /options\.keepAlive\.idle/],
      [{ keepAlive: { idel: 5 } }, 'ERR_INVALID_ARG_VALUE', /options\.keepAlive\.idel/],
      [{ keepAlive: 'yes' }, 'ERR_INVALID_ARG_TYPE', /options\.keepAlive/],
      [{ fastOpen: 1 }, 'ERR_INVALID_ARG_TYPE', /options\.fastOpen/],
      [{ mptcp: 'require' }, 'ERR_INVALID_ARG_VALUE', /options\.mptcp/],
      [{ sendBufferSize: 0 }, 'ERR_OUT_OF_RANGE', /options\.sendBufferSize/],
      [{ setsockopt: {} }, 'ERR_INVALID_ARG_TYPE', /options\.setsockopt/],
      [{ setsockopt: [{ level: 'SOL_SOCKET', name: 'SO_NOSUCH', value: 1 }] }, 'ERR_INVALID_ARG_VALUE', /options\.setsockopt\[0\]\.name.*SO_NOSUCH/],
      [{ setsockopt: [{ level: 'SOL_NOSUCH', name: 'SO_MARK', value: 1 }] }, 'ERR_INVALID_ARG_VALUE', /options\.setsockopt\[0\]\.level.*SOL_NOSUCH/],
      [{ setsockopt: [{ level: 'IPPROTO_TCP', name: 'SO_MARK', value: 1 }] }, 'ERR_INVALID_ARG_VALUE', /does not match SO_MARK/],
      [{ setsockopt: [{ level: 1, name: 36, value: '1' }] }, 'ERR_INVALID_ARG_TYPE', /options\.setsockopt\[0\]\.value/],
      [{ setsockopt: [{ level: 70000, name: 36, value: 1 }] }, 'ERR_OUT_OF_RANGE', /options\.setsockopt\[0\]\.level/],
    ];
    for (const [options, code, message] of cases) {
      for (const call of [connect, probe]) {
        const err = await rejection(call('127.0.0.1:9', options));
        assert.equal(err.code, code, JSON.stringify(options));
        assert.match(err.message, message);
      }
      assert.throws(() => connectSync('127.0.0.1:9', options), { code });
    }
    assert.equal(addon.socketCalls(), before, 'no syscall for bad input');
  });

  it('raw.setsockopt and raw.getsockopt take the same names, a level with a number, and a Buffer', () => {
    const fd = raw.socket(4).ret;
    try {
      assert.deepEqual(raw.setsockopt(fd, 'SO_MARK', 9), { ret: 0 });
      assert.equal(raw.getsockopt(fd, 'SO_MARK').value, 9);
      assert.deepEqual(raw.setsockopt(fd, 'SOL_SOCKET', 'SO_PRIORITY', 3), { ret: 0 });
      assert.equal(raw.getsockopt(fd, 'SOL_SOCKET', 'SO_PRIORITY').value, 3);
      assert.deepEqual(raw.setsockopt(fd, 'IPPROTO_TCP', 3 /* TCP_CORK */, 1), { ret: 0 });
      assert.equal(raw.getsockopt(fd, 'TCP_CORK').value, 1);
      assert.deepEqual(raw.setsockopt(fd, 'TCP_CONGESTION', Buffer.from('reno')), { ret: 0 });
      assert.deepEqual(raw.setsockopt(fd, 'TCP_CONGESTION', Buffer.from('nosuchcc')), { ret: -1, errno: 2, code: 'ENOENT' });
      assert.equal(raw.getsockopt(fd, 'SO_PROTOCOL').value, 6);
    } finally {
      raw.close(fd);
    }
    const m = raw.socket(4, { mptcp: true });
    assert.ok(m.ret >= 0, JSON.stringify(m));
    assert.equal(raw.getsockopt(m.ret, 'SO_PROTOCOL').value, 262);
    raw.close(m.ret);
  });

  it('bindToDevice and mptcp, inside a network namespace: the device the SYN leaves by, MPTCP on and off', function () {
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    const r = spawnSync('unshare', ['-n', process.execPath, path.join(__dirname, 'fixtures', 'device-and-mptcp.js')], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, { code: string; steps: string[]; [k: string]: unknown }>;
    // Bound to lo it connects, and the kernel names the device.
    assert.equal(report.lo.readback, 'lo');
    assert.ok(report.lo.steps.indexOf('setsockopt SO_BINDTODEVICE') < report.lo.steps.indexOf('connect '));
    // Bound to v0, the SYN for 127.0.0.1 left by v0 (its counter moved),
    // nothing answered, and the deadline ended it.
    assert.equal(report.v0.code, 'ETIMEDOUT');
    assert.ok((report.v0.txPackets as number) >= 1, `v0 sent ${String(report.v0.txPackets)}`);
    assert.deepEqual(
      report.missing.steps.map((s) => s.replace(/^(socket \S+) [0-9]+/, '$1 fd')),
      ['socket SOCK_STREAM|SOCK_CLOEXEC fd ', 'fcntl F_GETFL 2 ', 'fcntl F_SETFL 0 ', 'setsockopt SO_BINDTODEVICE -1 ENODEV', 'close  0 '],
    );
    assert.equal(report.missing.code, 'ENODEV');
    // MPTCP on: the socket is IPPROTO_MPTCP and says so.
    assert.equal(report.mptcpOn.protocol, 262);
    assert.match(report.mptcpOn.steps[0], /^socket SOCK_STREAM\|SOCK_CLOEXEC, IPPROTO_MPTCP [0-9]+$/);
    // MPTCP off: true fails at socket() with the kernel's errno; 'prefer'
    // falls back, and the trace has both sockets.
    assert.equal(report.mptcpOffRequired.code, 'ENOPROTOOPT');
    assert.deepEqual(report.mptcpOffRequired.steps, ['socket SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_MPTCP -1 ENOPROTOOPT']);
    assert.equal(report.mptcpOffPreferred.code, 'OK');
    assert.equal(report.mptcpOffPreferred.steps[0], 'socket SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_MPTCP -1 ENOPROTOOPT');
    assert.match(report.mptcpOffPreferred.steps[1], /^socket SOCK_STREAM\|SOCK_CLOEXEC [0-9]+ $/);
  });

  it('the command: --tos, --mark, --device, --sockopt and --mptcp-prefer, in the order given', async () => {
    const { status, stdout } = await nbconnect(
      `127.0.0.1:${live.port}`,
      '--sockopt',
      'SOL_SOCKET:SO_PRIORITY=5',
      '--tos',
      '16',
      '--device',
      'lo',
      '--mark',
      '3',
      '--sockopt',
      'TCP_CONGESTION=reno',
      '--mptcp-prefer',
    );
    assert.equal(status, 0, stdout);
    const lines = stdout
      .split('\n')
      .filter((l) => /socket\(|setsockopt\(/.test(l))
      .map((l) => l.replace(/^ *[0-9.]+ ms +/, ''));
    // Every --sockopt is set where the first one stands.
    assert.deepEqual(lines, [
      lines[0],
      'setsockopt(SOL_SOCKET, SO_PRIORITY, 5) = 0',
      'setsockopt(IPPROTO_TCP, TCP_CONGESTION) = 0',
      'setsockopt(IPPROTO_IP, IP_TOS, 16) = 0',
      'setsockopt(SOL_SOCKET, SO_BINDTODEVICE) = 0',
      'setsockopt(SOL_SOCKET, SO_MARK, 3) = 0',
    ]);
    assert.match(lines[0], /^socket\(SOCK_STREAM\|SOCK_CLOEXEC, IPPROTO_MPTCP\) = [0-9]+$/);
    const bad = await nbconnect(`127.0.0.1:${live.port}`, '--sockopt', 'SO_NOSUCH=1');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /SO_NOSUCH/);
  });
});
