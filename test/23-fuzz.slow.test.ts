// Hostile input, seeded: random targets and options (wrong types, huge
// strings, NaN, negatives, nested junk, prototype tricks, over-long unix
// paths) through connect, connectSync, probe and the raw calls. Each result
// is a valid outcome or a TypeError/RangeError; a rejected input makes no
// socket call at all; nothing crashes and no fd is left open.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as os from 'node:os';
import * as fc from 'fast-check';
import { connect, connectSync, probe, raw, ConnectError, Connection, type ConnectOptions, type Outcome, type Target } from '../dist/lib';
import { addon } from '../dist/lib/binding';
import { parseTarget } from '../dist/lib/validate';
import { tcpListener, refusedPort, unixListener, fdCount, settleFds, type TcpListener, type UnixListener } from './helpers/listeners';

// Every input here is junk on purpose: the calls take it as `unknown`, cast
// to the declared types only to get past the compiler, as a JS caller would.

const SEED = Number(process.env.NBCONNECT_FUZZ_SEED ?? 20261121);
const RUNS = Number(process.env.NBCONNECT_FUZZ_RUNS ?? 25000); // per entry point: 4 of them, 100,000 in all

/** What the caller's own getter throws: it passes through unchanged, before any syscall. */
class GetterError extends Error {}

const junk = fc.oneof(
  fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true }),
  fc.constantFrom(NaN, -0, -1, Infinity, -Infinity, 2 ** 31, 2 ** 53, 1e308, 1.5, '', ' ', '\0', 'a'.repeat(200_000), Symbol('x'), () => {}),
  fc.string({ maxLength: 300 }),
  fc.constant(JSON.parse('{"__proto__": {"host": "127.0.0.1", "port": 1}}')),
  fc.constant(Object.create({ host: '127.0.0.1', port: 1 })),
  fc.constant(
    new Proxy(
      {},
      {
        // Symbols are fast-check's own probes; every named property throws.
        get: (_, key) => {
          if (typeof key === 'symbol') return undefined;
          throw new GetterError('a getter that throws');
        },
        has: () => true,
      },
    ),
  ),
);

function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[unprintable]';
  }
}

/** Only addresses on this machine: loopback literals, localhost, paths under tmp, or junk. */
function harmless(target: unknown): boolean {
  let parsed;
  try {
    parsed = parseTarget(target, 'target');
  } catch {
    return true; // rejected before any socket: safe, and what we are testing
  }
  if (parsed.kind === 'unix') return parsed.path.startsWith(os.tmpdir()) || parsed.path.charCodeAt(0) === 0;
  if (parsed.kind === 'name') return parsed.host === 'localhost';
  return net.isIPv4(parsed.address) ? parsed.address.startsWith('127.') : parsed.address === '::1';
}

function bounded(options: unknown): boolean {
  // A valid but long wait would only slow the run down, not test more.
  if (options && typeof options === 'object') {
    try {
      const { waitDelay, timeout } = options as Record<string, unknown>;
      if (typeof waitDelay === 'number' && waitDelay > 20) return false;
      if (typeof timeout === 'number' && timeout > 1000) return false;
    } catch {
      return true;
    }
  }
  return true;
}

describe('hostile input (seeded fuzzing)', function () {
  this.timeout(600000);
  let live: TcpListener;
  let unix: UnixListener;
  let refused: number;
  let targets: fc.Arbitrary<unknown>;
  let baseline: number;
  const tally = { outcome: 0, typeError: 0, rangeError: 0, skipped: 0 };

  before(async () => {
    live = await tcpListener('127.0.0.1');
    unix = await unixListener();
    refused = await refusedPort();
    // Warm both waiters and the epoll engine, whose eventfds and epoll fd are made on first use.
    await probe(`127.0.0.1:${refused}`, { wait: 'epoll' });
    await probe(`127.0.0.1:${refused}`, { wait: 'poll' });
    await probe(`127.0.0.1:${refused}`, { wait: 'select' });
    baseline = fdCount();
    const host = fc.constantFrom('127.0.0.1', '::1', 'localhost', '127.0.0.2', '::ffff:127.0.0.1', '1.2.3.4.5', 'local host', '[::1]');
    const port = fc.oneof(fc.constantFrom(live.port, refused, 0, 65535, 65536, -1), junk);
    targets = fc.oneof(
      fc.record({ host, port }),
      fc.record({ host: fc.oneof(host, junk), port }, { requiredKeys: [] }),
      fc.record({
        path: fc.oneof(
          fc.constant(unix.path),
          fc.string({ maxLength: 200 }).map((s) => `${os.tmpdir()}/${s}`),
          fc.constant('x'.repeat(108)),
          fc.constant(`\0${'y'.repeat(107)}`),
          fc.constant(`\0${'y'.repeat(108)}`),
          junk,
        ),
      }),
      fc.tuple(host, port).map(([h, p]) => `${h}:${textOf(p)}`),
      fc.constant(`unix:${unix.path}`),
      junk,
    );
  });

  after(async () => {
    await live.close();
    await unix.close();
    console.log(`      ${JSON.stringify(tally)}`);
  });

  const options = () =>
    fc.oneof(
      fc.constant(undefined),
      junk,
      fc.record(
        {
          timeout: fc.oneof(fc.integer({ min: 0, max: 200 }), junk),
          wait: fc.oneof(fc.constantFrom('poll', 'select', 'epoll'), junk),
          family: fc.oneof(fc.constantFrom(4, 6, 0), junk),
          // 192.0.2.1 (TEST-NET-1) is no address of this host: bind() refuses it, EADDRNOTAVAIL, before any packet.
          localAddress: fc.oneof(fc.constantFrom('127.0.0.1', '::1', '0.0.0.0', '192.0.2.1'), junk),
          localPort: fc.oneof(fc.constantFrom(0, 1, 65535, 70000), junk),
          noDelay: fc.oneof(fc.boolean(), junk),
          synCount: fc.oneof(fc.integer({ min: 0, max: 130 }), junk),
          userTimeout: fc.oneof(fc.integer({ min: -1, max: 10000 }), junk),
          bindAddressNoPort: fc.oneof(fc.boolean(), junk),
          linger0: fc.oneof(fc.boolean(), junk),
          confirm: fc.oneof(fc.constantFrom('so_error', 'getpeername', 'read', 'reconnect', 'guess'), junk),
          waitDelay: fc.oneof(fc.integer({ min: 0, max: 5 }), junk),
          signal: fc.oneof(fc.constant(AbortSignal.abort()), fc.constant(new AbortController().signal), junk),
        },
        { requiredKeys: [] },
      ),
    );

  /** The verdict on one call's result; returns nothing, throws on a bad one. */
  function judge(result: Connection | Outcome | undefined, error: unknown, callsBefore: number): void {
    if (error !== undefined) {
      if (error instanceof TypeError || error instanceof RangeError || error instanceof GetterError) {
        tally[error instanceof TypeError ? 'typeError' : 'rangeError']++;
        assert.ok(error.message.length > 0);
        assert.equal(addon.socketCalls(), callsBefore, `no socket call for bad input: ${error.message}`);
        return;
      }
      assert.ok(error instanceof ConnectError, `neither an outcome nor a TypeError/RangeError: ${(error as Error | undefined)?.stack}`);
      assert.equal(typeof error.code, 'string');
      assert.ok(Array.isArray(error.steps));
      tally.outcome++;
      return;
    }
    if (result instanceof Connection) {
      assert.ok(result.fd >= 0);
      result.close();
    } else {
      assert.ok(result !== undefined);
      assert.equal(typeof result.ok, 'boolean');
      assert.equal(typeof result.code, 'string');
      assert.ok(Array.isArray(result.steps));
    }
    tally.outcome++;
  }

  const asyncCalls: [string, (t: unknown, o: unknown) => Promise<Connection | Outcome>][] = [
    ['connect', (t, o) => connect(t as Target, o as ConnectOptions)],
    ['probe', (t, o) => probe(t as Target, o as ConnectOptions)],
  ];
  for (const [name, call] of asyncCalls) {
    it(`${name}: ${RUNS} random inputs`, async () => {
      await fc.assert(
        fc.asyncProperty(targets, options(), async (target, opts) => {
          if (!harmless(target) || !bounded(opts)) return void tally.skipped++;
          const callsBefore = addon.socketCalls();
          let result: Connection | Outcome | undefined;
          let error: unknown;
          try {
            result = await call(target, opts);
          } catch (e) {
            error = e;
          }
          judge(result, error, callsBefore);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      assert.equal(await settleFds(baseline), baseline);
    });
  }

  it(`connectSync: ${RUNS} random inputs`, async () => {
    await fc.assert(
      fc.asyncProperty(targets, options(), async (target, opts) => {
        // The listeners live on this event loop: let them accept between
        // calls, or a full accept queue would drop the next SYN.
        await new Promise(setImmediate);
        if (!harmless(target) || !bounded(opts)) return void tally.skipped++;
        const callsBefore = addon.socketCalls();
        let result: Connection | undefined;
        let error: unknown;
        try {
          result = connectSync(target as Target, opts as ConnectOptions);
        } catch (e) {
          error = e;
        }
        judge(result, error, callsBefore);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.equal(await settleFds(baseline), baseline);
  });

  it(`raw calls: ${RUNS} random inputs; only an fd of our own is ever valid`, async () => {
    const own = raw.socket(4).ret;
    // Nonblocking, as the algorithm leaves its sockets: bind and connect may
    // pick the same port and connect the socket to itself, and a blocking
    // read would then wait forever.
    raw.setNonblocking(own, raw.getFlags(own).ret);
    try {
      // A non-negative integer that is not our fd could name mocha's own
      // files: those are replaced by ours (or by -1) so the run can't touch them.
      const fd = fc.oneof(fc.constant(own), fc.constant(-1), junk).map((v) => (Number.isInteger(v) && v >= 0 && v !== own ? own : v));
      const address = fc.oneof(fc.constant({ host: '127.0.0.1', port: refused }), fc.constant(`unix:${unix.path}`), junk);
      const calls = fc.oneof(
        fc.tuple(fc.constant('socket'), fc.oneof(fc.constantFrom(4, 6, 'unix', 5, 'ipv4'), junk)),
        fc.tuple(fc.constant('setsockopt'), fd, fc.oneof(fc.constantFrom('TCP_NODELAY', 'SO_LINGER', 'SO_REUSEADDR'), junk), junk),
        fc.tuple(fc.constant('bind'), fd, address),
        fc.tuple(fc.constant('connect'), fd, address),
        fc.tuple(
          fc.constant('poll'),
          fc.oneof(fc.array(fc.record({ fd, events: fc.oneof(fc.constant(['POLLOUT']), junk) }), { maxLength: 3 }), junk),
          fc.oneof(fc.constantFrom(0, -1.5, 2 ** 40), junk),
        ),
        fc.tuple(
          fc.constant('select'),
          fc.oneof(fc.array(fc.record({ fd: fc.oneof(fd, fc.constant(5000)), read: junk, write: junk }), { maxLength: 3 }), junk),
          fc.oneof(fc.constant(0), junk),
        ),
        fc.tuple(fc.constant('getSoError'), fd),
        fc.tuple(fc.constant('getpeername'), fd),
        fc.tuple(fc.constant('read'), fd, fc.oneof(fc.constantFrom(0, 16, 1 << 21), junk)),
        fc.tuple(
          fc.constant('close'),
          fc.oneof(fc.constant(-1), junk).map((v) => (Number.isInteger(v) && v >= 0 ? -1 : v)),
        ),
      );
      fc.assert(
        fc.property(calls, ([name, ...args]) => {
          // A valid timeout other than 0 (or none, which blocks) could wait
          // forever on fds that never change: those become 0. Junk stays.
          if ((name === 'poll' || name === 'select') && (args[1] === undefined || (Number.isInteger(args[1]) && args[1] !== 0))) args[1] = 0;
          const callsBefore = addon.socketCalls();
          let result: raw.RawResult;
          try {
            result = (raw[name as keyof typeof raw] as (...a: unknown[]) => raw.RawResult)(...args);
          } catch (e) {
            assert.ok(e instanceof TypeError || e instanceof RangeError || e instanceof GetterError, `${name}: ${(e as Error | undefined)?.stack}`);
            assert.equal(addon.socketCalls(), callsBefore, `${name}: a socket call for bad input (${e.message})`);
            tally[e instanceof TypeError ? 'typeError' : 'rangeError']++;
            return;
          }
          assert.equal(typeof result.ret, 'number');
          if (result.ret < 0) assert.equal(typeof result.code, 'string');
          if (name === 'socket' && result.ret >= 0) raw.close(result.ret);
          tally.outcome++;
        }),
        { seed: SEED, numRuns: RUNS },
      );
    } finally {
      raw.close(own);
    }
    assert.equal(await settleFds(baseline), baseline);
  });
});
