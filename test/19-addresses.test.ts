// Every address JS sees leaves the binding as numbers and is formatted by
// one function (lib/wire.ts): it must read as inet_ntop prints it, which is
// what net.Socket reports (libuv calls inet_ntop).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { raw } from '../dist/lib';
import { decodeEndpoint } from '../dist/lib/wire';
import { tcpListener } from './helpers/listeners';
import { random } from './helpers/random';

/** An IPv6 address's 16 bytes as the binding's endpoint slots: family, port, four big-endian words, scope. */
function slotsOf(bytes: number[], port = 80): Float64Array {
  const slots = new Float64Array(7);
  slots[0] = 6;
  slots[1] = port;
  for (let w = 0; w < 4; w++) slots[2 + w] = ((bytes[4 * w] << 24) | (bytes[4 * w + 1] << 16) | (bytes[4 * w + 2] << 8) | bytes[4 * w + 3]) >>> 0;
  return slots;
}

/** What inet_ntop makes of the same bytes, through net.SocketAddress. */
function ntop(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

const bytesOf = (groups: number[]) => groups.flatMap((g) => [g >> 8, g & 255]);

describe('addresses, as inet_ntop prints them', () => {
  it('the cases inet_ntop treats apart: IPv4-mapped, IPv4-compatible, the longest zero run, none', () => {
    const cases = [
      [0, 0, 0, 0, 0, 0, 0, 1], // ::1
      [0, 0, 0, 0, 0, 0, 0, 0], // ::
      [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1], // ::ffff:127.0.0.1
      [0, 0, 0, 0, 0, 0, 0x0102, 0x0304], // ::1.2.3.4
      [0, 0, 0, 0, 0, 0, 1, 2], // ::0.1.0.2
      [0, 0, 0, 0, 0, 0, 0xffff, 0], // ::255.255.0.0, not ::ffff:0
      [0, 0, 0, 0, 0, 1, 0, 0], // ::1:0:0
      [1, 0, 0, 0, 0, 0, 0, 0], // 1::
      [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], // 2001:db8::1:0:0:1
      [0x2001, 0xdb8, 1, 2, 3, 4, 5, 6], // no run
      [0x2001, 0, 1, 2, 3, 4, 5, 0], // single zero groups stay
      [0xfe80, 0, 0, 0, 0, 0, 0, 1],
    ];
    for (const groups of cases) {
      const bytes = bytesOf(groups);
      assert.equal(decodeEndpoint(slotsOf(bytes)).address, ntop(bytes), groups.map((g) => g.toString(16)).join(':'));
    }
  });

  it('20,000 addresses with long zero runs, seeded: the same text as inet_ntop', () => {
    const rand = random(0xadd4);
    for (let i = 0; i < 20000; i++) {
      // Mostly zero groups, so that runs, their ties and the IPv4 forms come up.
      const groups = Array.from({ length: 8 }, () => (rand() < 0.6 ? 0 : rand() < 0.3 ? 0xffff : Math.floor(rand() * 65536)));
      const bytes = bytesOf(groups);
      assert.equal(decodeEndpoint(slotsOf(bytes)).address, ntop(bytes), groups.map((g) => g.toString(16)).join(':'));
    }
  });

  it('raw.getsockname and getpeername: IPv4, ::1, IPv4-mapped, a unix path, and a failure, each with the keys it had', async () => {
    for (const [family, host, listenOn] of [
      [4, '127.0.0.1', '127.0.0.1'],
      [6, '::1', '::1'],
      [6, '::ffff:127.0.0.1', '::'],
    ] as const) {
      const listener = await tcpListener(listenOn);
      const fd = raw.socket(family).ret;
      try {
        assert.equal(raw.connect(fd, { host, port: listener.port }).ret, 0, host);
        const peer = raw.getpeername(fd);
        assert.deepEqual(peer, { ret: 0, family, address: host, port: listener.port });
        const local = raw.getsockname(fd);
        assert.equal(local.address, host);
      } finally {
        raw.close(fd);
        await listener.close();
      }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbc-names-'));
    const fd = raw.socket('unix').ret;
    try {
      const file = path.join(dir, 's');
      assert.equal(raw.bind(fd, `unix:${file}`).ret, 0);
      assert.deepEqual(Object.entries(raw.getsockname(fd)), [
        ['ret', 0],
        ['family', 'unix'],
        ['path', file],
      ]);
    } finally {
      raw.close(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const closed = raw.getsockname(fd);
    assert.deepEqual(Object.keys(closed), ['ret', 'errno', 'code']);
    assert.equal(closed.code, 'EBADF');
  });
});
