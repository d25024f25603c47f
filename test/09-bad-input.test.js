'use strict';
const assert = require('node:assert/strict');
const { connect, connectSync, probe } = require('../dist/lib');
const { fdCount } = require('./helpers/listeners');

const CALLS = {
  connect: (t, o) => connect(t, o),
  connectSync: async (t, o) => connectSync(t, o),
  probe: (t, o) => probe(t, o),
};

const OK_TARGET = { host: '127.0.0.1', port: 9 };
const LONG_PATH = '/tmp/' + 'x'.repeat(103); // 108 bytes: no room for the NUL

// [description, target, options, error class, text the message must hold]
const BAD_TARGETS = [
  ['a missing target', undefined, undefined, TypeError, 'Received undefined'],
  ['null', null, undefined, TypeError, 'Received null'],
  ['a number', 80, undefined, TypeError, 'Received type number (80)'],
  ['a port above 65535', { host: '127.0.0.1', port: 65536 }, undefined, RangeError, '65536'],
  ['a negative port', { host: '127.0.0.1', port: -1 }, undefined, RangeError, '-1'],
  ['a fractional port', { host: '127.0.0.1', port: 80.5 }, undefined, RangeError, '80.5'],
  ['a NaN port', { host: '127.0.0.1', port: NaN }, undefined, RangeError, 'NaN'],
  ['a port of the wrong type', { host: '127.0.0.1', port: true }, undefined, TypeError, 'true'],
  ['a missing port', { host: '127.0.0.1' }, undefined, TypeError, 'undefined'],
  ['a malformed IPv6 literal', { host: '::g', port: 80 }, undefined, TypeError, '::g'],
  ['a host that is no name', { host: 'a b', port: 80 }, undefined, RangeError, 'a b'],
  ['a host of the wrong type', { host: 42, port: 80 }, undefined, TypeError, '42'],
  ['an empty path', { path: '' }, undefined, RangeError, "''"],
  ['a path too long for sun_path', { path: LONG_PATH }, undefined, RangeError, '108 bytes, at most 107'],
  ['a path with an inner NUL', { path: '/tmp/a\0b' }, undefined, RangeError, 'NUL'],
  ['path and host together', { path: '/tmp/x', host: '127.0.0.1', port: 1 }, undefined, TypeError, 'not both'],
  ['a string without a port', '127.0.0.1', undefined, TypeError, "'127.0.0.1'"],
  ['a bracketed IPv4', '[127.0.0.1]:80', undefined, RangeError, 'IPv6'],
  ['a string port out of range', '127.0.0.1:70000', undefined, RangeError, '70000'],
  ['a unix: string too long', `unix:${LONG_PATH}`, undefined, RangeError, 'sun_path'],
];

const BAD_OPTIONS = [
  ['options of the wrong type', 'fast', TypeError, "'fast'"],
  ['a negative timeout', { timeout: -1 }, RangeError, '-1'],
  ['a NaN timeout', { timeout: NaN }, RangeError, 'NaN'],
  ['a string timeout', { timeout: '100' }, TypeError, "'100'"],
  ['an unknown wait', { wait: 'epoll' }, TypeError, "'epoll'"],
  ['a signal that is not one', { signal: {} }, TypeError, 'AbortSignal'],
  ['a family of 5', { family: 5 }, TypeError, '5'],
  ['a family that contradicts the literal', { family: 6 }, RangeError, 'IPv4'],
  ['a localAddress that is no IP', { localAddress: 'eth0' }, TypeError, 'eth0'],
  ['a localAddress of the wrong type', { localAddress: 1 }, TypeError, '1'],
  ['a localPort out of range', { localPort: 70000 }, RangeError, '70000'],
  ['noDelay as a string', { noDelay: 'yes' }, TypeError, "'yes'"],
  ['synCount 0', { synCount: 0 }, RangeError, '0'],
  ['synCount above 127', { synCount: 128 }, RangeError, '128'],
  ['a fractional userTimeout', { userTimeout: 1.5 }, RangeError, '1.5'],
  ['linger0 as a number', { linger0: 1 }, TypeError, '1'],
  ['bindAddressNoPort as null', { bindAddressNoPort: null }, TypeError, 'null'],
];

describe('bad input throws before any syscall, naming the value', () => {
  let before;
  beforeEach(() => { before = fdCount(); });
  afterEach(() => assert.equal(fdCount(), before, 'no fd was opened'));

  for (const [name, call] of Object.entries(CALLS)) {
    describe(name, () => {
      for (const [what, target, options, type, text] of BAD_TARGETS) {
        it(`rejects ${what}`, async () => {
          await assert.rejects(call(target, options), (err) => {
            assert.equal(err.constructor, type, err.message);
            assert.ok(err.message.includes(text), `${err.message} names ${text}`);
            return true;
          });
        });
      }
      for (const [what, options, type, text] of BAD_OPTIONS) {
        it(`rejects ${what}`, async () => {
          await assert.rejects(call(OK_TARGET, options), (err) => {
            assert.equal(err.constructor, type, err.message);
            assert.ok(err.message.includes(text), `${err.message} names ${text}`);
            return true;
          });
        });
      }
      it('rejects TCP options on an AF_UNIX target', async () => {
        await assert.rejects(call({ path: '/tmp/x.sock' }, { synCount: 1 }), { name: 'TypeError', message: /synCount.*TCP only/ });
      });
    });
  }

  it('connectSync throws synchronously', () => {
    assert.throws(() => connectSync({ host: '127.0.0.1', port: 1e6 }), RangeError);
  });
});
