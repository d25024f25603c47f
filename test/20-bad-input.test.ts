import assert from 'node:assert/strict';
import { connectSync, type ConnectOptions, type Target } from '../dist/lib';
import { CALLS } from './helpers/calls';
import { fdCount } from './helpers/listeners';

const OK_TARGET = { host: '127.0.0.1', port: 9 };
const LONG_PATH = '/tmp/' + 'x'.repeat(103); // 108 bytes: no room for the NUL

// [description, target, options, error class, text the message must hold].
// A value the types already reject carries @ts-expect-error: the compile
// error is part of the spec, and so is the runtime error for JS callers.
type Row = [what: string, target: Target, options: ConnectOptions | undefined, type: ErrorConstructor, text: string];
type OptionRow = [what: string, options: ConnectOptions, type: ErrorConstructor, text: string];
const BAD_TARGETS: Row[] = [
  // @ts-expect-error: ill-typed on purpose
  ['a missing target', undefined, undefined, TypeError, 'Received undefined'],
  // @ts-expect-error: ill-typed on purpose
  ['null', null, undefined, TypeError, 'Received null'],
  // @ts-expect-error: ill-typed on purpose
  ['a number', 80, undefined, TypeError, 'Received type number (80)'],
  ['a port above 65535', { host: '127.0.0.1', port: 65536 }, undefined, RangeError, '65536'],
  ['a negative port', { host: '127.0.0.1', port: -1 }, undefined, RangeError, '-1'],
  ['a fractional port', { host: '127.0.0.1', port: 80.5 }, undefined, RangeError, '80.5'],
  ['a NaN port', { host: '127.0.0.1', port: NaN }, undefined, RangeError, 'NaN'],
  // @ts-expect-error: ill-typed on purpose
  ['a port of the wrong type', { host: '127.0.0.1', port: true }, undefined, TypeError, 'true'],
  // @ts-expect-error: ill-typed on purpose
  ['a missing port', { host: '127.0.0.1' }, undefined, TypeError, 'undefined'],
  ['a malformed IPv6 literal', { host: '::g', port: 80 }, undefined, TypeError, '::g'],
  ['a host that is no name', { host: 'a b', port: 80 }, undefined, RangeError, 'a b'],
  // @ts-expect-error: ill-typed on purpose
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

const BAD_OPTIONS: OptionRow[] = [
  // @ts-expect-error: ill-typed on purpose
  ['options of the wrong type', 'fast', TypeError, "'fast'"],
  ['a negative timeout', { timeout: -1 }, RangeError, '-1'],
  ['a NaN timeout', { timeout: NaN }, RangeError, 'NaN'],
  // @ts-expect-error: ill-typed on purpose
  ['a string timeout', { timeout: '100' }, TypeError, "'100'"],
  // @ts-expect-error: ill-typed on purpose
  ['an unknown wait', { wait: 'kqueue' }, TypeError, "'kqueue'"],
  // @ts-expect-error: ill-typed on purpose
  ['a signal that is not one', { signal: {} }, TypeError, 'AbortSignal'],
  // @ts-expect-error: ill-typed on purpose
  ['a family of 5', { family: 5 }, TypeError, '5'],
  ['a family that contradicts the literal', { family: 6 }, RangeError, 'IPv4'],
  ['a localAddress that is no IP', { localAddress: 'eth0' }, TypeError, 'eth0'],
  // @ts-expect-error: ill-typed on purpose
  ['a localAddress of the wrong type', { localAddress: 1 }, TypeError, '1'],
  ['a localPort out of range', { localPort: 70000 }, RangeError, '70000'],
  // @ts-expect-error: ill-typed on purpose
  ['noDelay as a string', { noDelay: 'yes' }, TypeError, "'yes'"],
  ['synCount 0', { synCount: 0 }, RangeError, '0'],
  ['synCount above 127', { synCount: 128 }, RangeError, '128'],
  ['a fractional userTimeout', { userTimeout: 1.5 }, RangeError, '1.5'],
  // @ts-expect-error: ill-typed on purpose
  ['linger0 as a number', { linger0: 1 }, TypeError, '1'],
  // @ts-expect-error: ill-typed on purpose
  ['bindAddressNoPort as null', { bindAddressNoPort: null }, TypeError, 'null'],
];

describe('bad input throws before any syscall, naming the value', () => {
  let before = 0;
  beforeEach(() => {
    before = fdCount();
  });
  afterEach(() => assert.equal(fdCount(), before, 'no fd was opened'));

  for (const [name, call] of Object.entries(CALLS)) {
    describe(name, () => {
      for (const [what, target, options, type, text] of BAD_TARGETS) {
        it(`rejects ${what}`, async () => {
          await assert.rejects(call(target, options), (err: Error) => {
            assert.equal(err.constructor, type, err.message);
            assert.ok(err.message.includes(text), `${err.message} names ${text}`);
            return true;
          });
        });
      }
      for (const [what, options, type, text] of BAD_OPTIONS) {
        it(`rejects ${what}`, async () => {
          await assert.rejects(call(OK_TARGET, options), (err: Error) => {
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
