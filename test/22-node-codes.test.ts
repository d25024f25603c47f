// Every bad input that net.connect also rejects is rejected with Node's own
// code and class; a table compares the two, side by side. Inputs only we
// check carry the closest Node code.
import assert from 'node:assert/strict';
import * as net from 'node:net';

import { connect, type ConnectOptions, type Target } from '../dist/lib';
import { CALLS } from './helpers/calls';

/** What net.connect throws for these options, before any socket. */
function nodeError(options: net.NetConnectOpts): Error & { code?: string } {
  try {
    const socket = net.connect(options);
    socket.on('error', () => {});
    socket.destroy();
  } catch (err) {
    return err as Error & { code?: string };
  }
  return assert.fail(`net.connect accepted ${JSON.stringify(options)}`);
}

// [what, target, options]: net.connect gets target and options merged. A
// value the types already reject carries @ts-expect-error.
const SHARED: [what: string, target: Target, options: ConnectOptions][] = [
  ['a port above 65535', { host: '127.0.0.1', port: 65536 }, {}],
  ['a negative port', { host: '127.0.0.1', port: -1 }, {}],
  ['a fractional port', { host: '127.0.0.1', port: 1.5 }, {}],
  ['a NaN port', { host: '127.0.0.1', port: NaN }, {}],
  // @ts-expect-error: ill-typed on purpose
  ['a port of the wrong type', { host: '127.0.0.1', port: true }, {}],
  // @ts-expect-error: ill-typed on purpose
  ['a blank string port', { host: '127.0.0.1', port: ' ' }, {}],
  // @ts-expect-error: ill-typed on purpose
  ['a string port that is no number', { host: '127.0.0.1', port: '80x' }, {}],
  // @ts-expect-error: ill-typed on purpose
  ['a missing port', { host: '127.0.0.1' }, {}],
  // @ts-expect-error: ill-typed on purpose
  ['a host of the wrong type', { host: 42, port: 80 }, {}],
  // @ts-expect-error: ill-typed on purpose
  ['a path of the wrong type', { path: 123 }, {}],
  ['a local address that is no IP', { host: '127.0.0.1', port: 1 }, { localAddress: 'nope' }],
  ['a negative timeout', { host: '127.0.0.1', port: 1 }, { timeout: -1 }],
  // @ts-expect-error: ill-typed on purpose
  ['a string timeout', { host: '127.0.0.1', port: 1 }, { timeout: 'x' }],
  // @ts-expect-error: ill-typed on purpose
  ['a signal that is not one', { host: '127.0.0.1', port: 1 }, { signal: {} }],
  // @ts-expect-error: ill-typed on purpose
  ['a family of 5', { host: 'localhost', port: 1 }, { family: 5 }],
  // @ts-expect-error: ill-typed on purpose
  ["a family of '4'", { host: 'localhost', port: 1 }, { family: '4' }],
  // @ts-expect-error: ill-typed on purpose
  ['an autoSelectFamily that is no boolean', { host: 'localhost', port: 1 }, { autoSelectFamily: 'yes' }],
  ['an autoSelectFamilyAttemptTimeout of 0', { host: 'localhost', port: 1 }, { autoSelectFamilyAttemptTimeout: 0 }],
  // @ts-expect-error: ill-typed on purpose
  ['an autoSelectFamilyAttemptTimeout that is no number', { host: 'localhost', port: 1 }, { autoSelectFamilyAttemptTimeout: 'x' }],
];

// Inputs net.connect takes (and looks up, or ignores) that we refuse first.
const OURS_ONLY: [what: string, target: Target, options: ConnectOptions, Class: ErrorConstructor, code: string][] = [
  ['a malformed IPv6 literal', { host: '::g', port: 80 }, {}, TypeError, 'ERR_INVALID_IP_ADDRESS'],
  ['a host that is no name', { host: 'a b', port: 80 }, {}, RangeError, 'ERR_INVALID_ARG_VALUE'],
  ['an empty path', { path: '' }, {}, RangeError, 'ERR_INVALID_ARG_VALUE'],
  ['path and host together', { path: '/tmp/x', host: '127.0.0.1', port: 1 }, {}, TypeError, 'ERR_INVALID_ARG_VALUE'],
  // @ts-expect-error: ill-typed on purpose
  ['an unknown wait', { host: '127.0.0.1', port: 1 }, { wait: 'kqueue' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
  ['a NaN timeout', { host: '127.0.0.1', port: 1 }, { timeout: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
  ['a synCount above 127', { host: '127.0.0.1', port: 1 }, { synCount: 128 }, RangeError, 'ERR_OUT_OF_RANGE'],
  // @ts-expect-error: ill-typed on purpose
  ['a noDelay that is no boolean', { host: '127.0.0.1', port: 1 }, { noDelay: 1 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['a family that contradicts the literal', { host: '127.0.0.1', port: 1 }, { family: 6 }, RangeError, 'ERR_INVALID_ARG_VALUE'],
  // @ts-expect-error: ill-typed on purpose
  ['options of the wrong type', { host: '127.0.0.1', port: 1 }, 'fast', TypeError, 'ERR_INVALID_ARG_TYPE'],
];

describe("argument errors carry Node's codes", () => {
  for (const [what, target, options] of SHARED) {
    it(`${what}: the code and class net.connect gives`, async () => {
      const node = nodeError({ ...(target as object), ...(options as object) } as net.NetConnectOpts);
      for (const [name, call] of Object.entries(CALLS)) {
        const ours = await call(target, options).then(
          () => assert.fail(`${name} accepted it`),
          (e) => e,
        );
        assert.equal(ours.code, node.code, `${name}: ${ours.message} (Node: ${node.message})`);
        assert.equal(ours.constructor, node.constructor, `${name}: ${ours.name} (Node: ${node.name})`);
        assert.match(String(ours), new RegExp(`^${node.name} \\[${node.code}\\]: `));
      }
    });
  }

  for (const [what, target, options, Class, code] of OURS_ONLY) {
    it(`${what}: ${Class.name} ${code}`, async () => {
      for (const [name, call] of Object.entries(CALLS)) {
        const ours = await call(target, options).then(
          () => assert.fail(`${name} accepted it`),
          (e) => e,
        );
        assert.ok(ours instanceof Class, `${name}: ${ours.name}: ${ours.message}`);
        assert.equal((ours as { code?: string }).code, code, `${name}: ${ours.message}`);
      }
    });
  }

  it('a numeric string port is taken, as Node takes it', async () => {
    const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      // @ts-expect-error: the type says number, as Node's does; the runtime takes a numeric string as Node's does
      const c = await connect({ host: '127.0.0.1', port: String(port) });
      assert.equal(c.remotePort, port);
      c.close();
    } finally {
      server.close();
    }
  });
});
