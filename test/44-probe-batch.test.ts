// probeMany's batch path (lib/probe-batch.ts): literal targets go to the
// native side many to a call, and each Outcome must be the one probe()
// gives for the same target, field for field and key for key.
import assert from 'node:assert/strict';
import * as diagnostics from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { probe, probeMany, type Outcome, type Target } from '../dist/lib';
import { addon } from '../dist/lib/binding';
import { ProbeBatch } from '../dist/lib/probe-batch';
import { SEQUEL, type Result } from '../dist/lib/wire';
import { runFixture } from './helpers/fixtures';
import { blackHole, callsOf, fdCount, refusedPort, settleFds, tcpListener, tempSocketPath, unixListener } from './helpers/listeners';

async function collect(targets: Iterable<Target> | AsyncIterable<Target>, options = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for await (const outcome of probeMany(targets, options)) out.push(outcome);
  return out;
}

/** How often each entry point of the addon is called while `run` runs. */
async function countingCalls<T>(run: () => Promise<T>): Promise<{ result: T; probeStart: number; connectStart: number; targets: number }> {
  // The binding's functions take no `this`: they are the addon's exports.
  const original = { probeStart: addon.probeStart.bind(addon), connectStart: addon.connectStart.bind(addon) };
  const counts = { probeStart: 0, connectStart: 0, targets: 0 };
  const binding = addon as unknown as Record<string, unknown>;
  const saved = { probeStart: binding.probeStart, connectStart: binding.connectStart };
  binding.probeStart = (...args: Parameters<typeof addon.probeStart>) => {
    counts.probeStart++;
    counts.targets += args[2].length / (addon.layout.target.length || 1);
    return original.probeStart(...args);
  };
  binding.connectStart = (...args: Parameters<typeof addon.connectStart>) => {
    counts.connectStart++;
    return original.connectStart(...args);
  };
  try {
    return { result: await run(), ...counts };
  } finally {
    Object.assign(binding, saved);
  }
}

/** A target whose host and port are getters that count their reads. */
function countingTarget(host: string, port: number) {
  const count = { host: 0, port: 0 };
  const target = {
    get host() {
      count.host++;
      return host;
    },
    get port() {
      count.port++;
      return port;
    },
  };
  return { target, count };
}

/** An Outcome with its timings and the kernel's numbers left out: what must match exactly. */
function shape(o: Outcome) {
  return {
    keys: Object.keys(o),
    ok: o.ok,
    exact: o.exact,
    code: o.code,
    errno: o.errno,
    phase: o.phase,
    target: o.target,
    calls: callsOf(o.steps),
    stepKeys: o.steps.map((s) => Object.keys(s)),
    tcpInfoKeys: o.tcpInfo && Object.keys(o.tcpInfo),
    tcpState: o.tcpInfo?.state,
  };
}

describe('probeMany: the batch path', () => {
  it('gives each target the Outcome probe() gives it: open, refused, IPv6, a unix path, a missing path, a deadline', async function () {
    this.timeout(20000);
    const v4 = await tcpListener('127.0.0.1');
    const v6 = await tcpListener('::1');
    const unix = await unixListener();
    const hole = await blackHole('tcp4');
    const refused = await refusedPort();
    const targets: Target[] = [
      { host: '127.0.0.1', port: v4.port },
      `127.0.0.1:${refused}`,
      `[::1]:${v6.port}`,
      { path: unix.path },
      { path: tempSocketPath() },
      { host: '127.0.0.1', port: hole.port },
    ];
    const options = { timeout: 300, linger0: true };
    try {
      const batched = await collect(targets, options);
      assert.equal(batched.length, targets.length);
      for (const target of targets) {
        const single = await probe(target, options);
        const same = batched.filter((o) => JSON.stringify(o.target) === JSON.stringify(single.target));
        assert.equal(same.length, 1, `one Outcome for ${JSON.stringify(single.target)}`);
        assert.deepEqual(shape(same[0]), shape(single));
        assert.equal(Object.getPrototypeOf(same[0]), Object.prototype, 'a plain object, as probe() gives');
      }
      const codes = batched.map((o) => o.code).sort();
      assert.deepEqual(codes, ['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'OK', 'OK', 'OK']);
      const timedOut = batched.find((o) => o.code === 'ETIMEDOUT')!;
      assert.equal(timedOut.phase, 'timeout');
      assert.equal(timedOut.steps.at(-1)!.call, 'close', 'the close that came after the deadline is in the trace');
      assert.ok(timedOut.elapsed >= 300);
      const open = batched.find((o) => o.ok && 'address' in o.target && o.target.family === 4)!;
      assert.equal(open.tcpInfo?.state, 'ESTABLISHED');
    } finally {
      await Promise.all([v4.close(), v6.close(), unix.close(), hole.close()]);
    }
  });

  it('hands many targets to the native side in one call, and none through connectStart', async function () {
    this.timeout(20000);
    const listener = await tcpListener('127.0.0.1');
    const refused = await refusedPort();
    const n = 2000;
    function* targets() {
      for (let i = 0; i < n; i++) yield { host: '127.0.0.1', port: i % 4 ? refused : listener.port };
    }
    try {
      const { result, probeStart, connectStart, targets: handed } = await countingCalls(() => collect(targets(), { concurrency: 256, linger0: true }));
      assert.equal(result.length, n);
      assert.equal(result.filter((o) => o.ok).length, n / 4);
      assert.equal(handed, n, 'every target went through probeStart');
      assert.equal(connectStart, 0);
      // The first call takes the whole window; each later one what a batch
      // of results freed.
      assert.ok(probeStart <= n / 8, `${probeStart} calls for ${n} targets`);
    } finally {
      await listener.close();
    }
  });

  it('a name is a probe of its own (its lookup and race), beside the batch', async function () {
    this.timeout(20000);
    const listener = await tcpListener('127.0.0.1');
    try {
      const targets: Target[] = [
        { host: '127.0.0.1', port: listener.port },
        { host: 'localhost', port: listener.port },
        { host: '127.0.0.1', port: listener.port },
      ];
      const { result, probeStart, connectStart } = await countingCalls(() => collect(targets, { family: 4 }));
      assert.deepEqual(
        result.map((o) => o.code),
        ['OK', 'OK', 'OK'],
      );
      assert.equal(result.filter((o) => 'host' in o.target && o.target.host === 'localhost').length, 1);
      assert.equal(connectStart, 1);
      assert.ok(probeStart >= 1);
    } finally {
      await listener.close();
    }
  });

  it('checks the options once per kind of target, with the error probe() rejects with', async () => {
    const path = tempSocketPath();
    const refused = await refusedPort();
    // A first target of another kind passes; the bad one fails as probe() fails it.
    for (const [first, bad, options] of [
      [{ host: '127.0.0.1', port: refused }, { path }, { noDelay: true }],
      [{ host: '::1', port: refused }, { host: '127.0.0.1', port: 1 }, { family: 6 }],
      [{ host: '127.0.0.1', port: refused }, { host: '::1', port: 1 }, { family: 4 }],
    ] as [Target, Target, object][]) {
      const single = await probe(bad, options).then(
        () => assert.fail('probe() accepted it'),
        (err: Error) => err,
      );
      const before = fdCount();
      await assert.rejects(collect([first, bad], options), (err: Error) => {
        assert.equal(err.constructor, single.constructor);
        assert.equal(err.message, single.message);
        return true;
      });
      assert.equal(fdCount(), before);
    }
  });

  it("the caller's abort ends every attempt in flight as ABORT_ERR, its close in the trace, and leaks no fd", async function () {
    this.timeout(20000);
    const before = fdCount();
    const hole = await blackHole('tcp4');
    const withPeer = fdCount();
    const controller = new AbortController();
    const reason = new Error('enough');
    try {
      setTimeout(() => controller.abort(reason), 150);
      const started = performance.now();
      const outcomes = await collect(
        Array.from({ length: 200 }, () => ({ host: '127.0.0.1', port: hole.port })),
        { concurrency: 200, signal: controller.signal },
      );
      assert.ok(performance.now() - started < 5000);
      assert.equal(outcomes.length, 200);
      for (const o of outcomes) {
        assert.equal(o.code, 'ABORT_ERR');
        assert.equal(o.phase, 'aborted');
        assert.equal(o.steps.at(-1)!.call, 'close');
      }
      assert.equal(fdCount(), withPeer, 'every socket closed when the loop ended');
    } finally {
      await hole.close();
    }
    assert.equal(await settleFds(before), before);
  });

  it('two copies of the JS layer run batches at once, each with its own results', async function () {
    this.timeout(30000);
    const report = runFixture('two-copies.js', { rounds: [], perCopy: 0, probeMany: 500 }, { nodeFlags: ['--expose-gc'] }) as {
      probeMany: { copy: number; outcomes: number; wrongTarget: number; codes: Record<string, number> }[];
    };
    assert.equal(report.probeMany.length, 2);
    for (const copy of report.probeMany) {
      assert.equal(copy.outcomes, 500);
      assert.equal(copy.wrongTarget, 0);
      assert.deepEqual(copy.codes, { OK: 500 });
    }
  });

  it('an async source that pauses: what it yielded starts at once, not when the loop stops pulling', async function () {
    this.timeout(20000);
    const listener = await tcpListener('127.0.0.1');
    let released: 'by its outcome' | 'by the fallback' | undefined;
    let release: (() => void) | undefined;
    async function* targets(): AsyncGenerator<Target> {
      yield { host: '127.0.0.1', port: listener.port };
      // The next target comes only once the first one's Outcome is read (or
      // after 3 s, so that a loop that waits for more targets first still ends).
      await new Promise<void>((resolve) => {
        release = resolve;
        setTimeout(() => {
          released ??= 'by the fallback';
          resolve();
        }, 3000).unref();
      });
      yield { host: '127.0.0.1', port: listener.port };
    }
    try {
      const codes: string[] = [];
      for await (const outcome of probeMany(targets())) {
        codes.push(outcome.code);
        released ??= 'by its outcome';
        release?.();
      }
      assert.deepEqual(codes, ['OK', 'OK']);
      assert.equal(released, 'by its outcome');
    } finally {
      await listener.close();
    }
  });

  it('a bad target after one in flight ends the loop at once, without waiting for that verdict', async function () {
    this.timeout(10000);
    const hole = await blackHole('tcp4');
    try {
      for (const [bad, options, error] of [
        [{ host: '127.0.0.1', port: 'eighty' }, {}, { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' }],
        [{ path: tempSocketPath() }, { noDelay: true }, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }],
      ] as [Target, object, object][]) {
        // The black hole's verdict would take 20 s: the loop must not wait for it.
        await assert.rejects(collect([{ host: '127.0.0.1', port: hole.port }, bad], { ...options, timeout: 20000 }), error);
      }
    } finally {
      await hole.close();
    }
  });

  it('a deadline whose verdict came before the abort stays ETIMEDOUT, as probe() keeps it', async function () {
    this.timeout(20000);
    const hole = await blackHole('tcp4');
    // Watched, not changed: which deadline verdicts, and which of their
    // closes, reached the batch before the abort.
    const take = Object.getOwnPropertyDescriptor(ProbeBatch.prototype, 'take')!.value as (this: ProbeBatch, r: Result) => void;
    let aborted = false;
    const timedOutFirst = new Set<number>();
    const closedFirst = new Set<number>();
    ProbeBatch.prototype.take = function (this: ProbeBatch, r: Result) {
      if (!aborted && r.sequel === SEQUEL.close_follows && r.phase === 'timeout') timedOutFirst.add(r.id);
      if (!aborted && r.sequel === SEQUEL.steps) closedFirst.add(r.id);
      take.call(this, r);
    };
    const controller = new AbortController();
    const codes: Record<string, number> = {};
    // The loop is kept busy from 180 to 230 ms, so that all 500 deadlines
    // (200 ms) are due at the engine's next look: their verdicts come 64 a
    // slice in that one turn, their closes 64 a turn after it, and the first
    // Outcome (read after the first close) comes long before the last close.
    setTimeout(() => {
      const end = performance.now() + 50;
      while (performance.now() < end);
    }, 180);
    try {
      const targets = Array.from({ length: 500 }, () => ({ host: '127.0.0.1', port: hole.port }));
      for await (const o of probeMany(targets, { concurrency: 500, timeout: 200, signal: controller.signal })) {
        codes[o.code] = (codes[o.code] ?? 0) + 1;
        if (!aborted) {
          aborted = true;
          controller.abort(new Error('seen enough'));
        }
      }
    } finally {
      ProbeBatch.prototype.take = take;
      await hole.close();
    }
    // The case in question: a verdict before the abort, its close after it.
    const closedAfter = [...timedOutFirst].filter((id) => !closedFirst.has(id)).length;
    assert.ok(closedAfter > 0, `deadlines before the abort: ${timedOutFirst.size}, closed after it: ${closedAfter}`);
    assert.equal(codes.ETIMEDOUT, timedOutFirst.size, JSON.stringify(codes));
    assert.equal((codes.ETIMEDOUT ?? 0) + (codes.ABORT_ERR ?? 0), 500);
  });

  it('if the native side refuses a batch, the loop rejects with its error and settles', async function () {
    this.timeout(10000);
    const binding = addon as unknown as Record<string, unknown>;
    const saved = binding.probeStart;
    binding.probeStart = () => {
      throw new RangeError('nbconnect: targets rejected by the native layer');
    };
    try {
      await assert.rejects(collect([{ host: '127.0.0.1', port: 9 }]), /targets rejected by the native layer/);
    } finally {
      binding.probeStart = saved;
    }
  });

  it("reads a target's host and port once each, as probe() does", async () => {
    const refused = await refusedPort();
    const reads = (run: (target: Target) => Promise<unknown>) => {
      const { target, count } = countingTarget('127.0.0.1', refused);
      return run(target).then(() => count);
    };
    const single = await reads((t) => probe(t));
    const batched = await reads((t) => collect([t]));
    assert.deepEqual(batched, single);
    assert.deepEqual(single, { host: 1, port: 1 });
  });

  it('a signal aborted before the loop: no target is pulled, nothing is yielded', async () => {
    const refused = await refusedPort();
    let pulled = 0;
    function* targets() {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield { host: '127.0.0.1', port: refused };
      }
    }
    const before = fdCount();
    const outcomes = await collect(targets(), { signal: AbortSignal.abort() });
    assert.deepEqual(outcomes, []);
    assert.equal(pulled, 0);
    assert.equal(fdCount(), before);
  });

  it("the caller's abort ends a loop whose source has not answered", async function () {
    this.timeout(10000);
    const refused = await refusedPort();
    let answered = false;
    async function* targets(): AsyncGenerator<Target> {
      yield { host: '127.0.0.1', port: refused };
      // A source that does not answer (for 5 s, so that the test itself ends).
      await new Promise((resolve) => setTimeout(resolve, 5000).unref());
      answered = true;
      yield { host: '127.0.0.1', port: refused };
    }
    const codes: string[] = [];
    for await (const o of probeMany(targets(), { signal: AbortSignal.timeout(200) })) codes.push(o.code);
    assert.deepEqual(codes, ['ECONNREFUSED']);
    assert.equal(answered, false, 'the loop ended at the abort, not when the source answered');
  });

  for (const traced of [false, true])
    it(`a bad target stops the pulling at once, traced or not (${traced ? 'traced' : 'untraced'}), names included`, async () => {
      const refused = await refusedPort();
      const channel = diagnostics.tracingChannel('nbconnect:connect');
      const subscriber = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
      if (traced) channel.subscribe(subscriber);
      try {
        for (const bad of [
          { host: '127.0.0.1', port: -1 },
          { host: 'localhost', port: 1e6 },
          { host: 'bad host name', port: 1 },
        ] as Target[]) {
          let pulled = 0;
          function* targets(): Generator<Target> {
            for (const t of [{ host: 'localhost', port: refused }, bad, ...Array.from({ length: 6 }, () => ({ host: '127.0.0.1', port: refused }))]) {
              pulled++;
              yield t;
            }
          }
          await assert.rejects(collect(targets(), { concurrency: 8, family: 4 }), RangeError);
          assert.equal(pulled, 2, `pulled ${pulled} for ${JSON.stringify(bad)}`);
        }
        // Options that do not fit a name's kind: refused with its first name.
        let pulled = 0;
        function* named(): Generator<Target> {
          for (let i = 0; i < 8; i++) {
            pulled++;
            yield { host: 'localhost', port: refused };
          }
        }
        await assert.rejects(collect(named(), { concurrency: 8, timeout: -1 }), RangeError);
        assert.equal(pulled, 1);
      } finally {
        if (traced) channel.unsubscribe(subscriber);
      }
    });

  it("a source whose next() throws: its error, and no return() (as for...of); return()'s own error never hides the loop's", async () => {
    const refused = await refusedPort();
    const calls = { return: 0 };
    const throwing = (at: number): Iterable<Target> => ({
      [Symbol.iterator]() {
        let i = 0;
        return {
          next() {
            if (i++ === at) throw new Error('next failed');
            return { done: false, value: { host: '127.0.0.1', port: refused } };
          },
          return() {
            calls.return++;
            throw new Error('cleanup failed');
          },
        };
      },
    });
    await assert.rejects(collect(throwing(2)), /next failed/);
    assert.equal(calls.return, 0);
    // A bad target: the loop stops early, so the source is closed, and the
    // target's error is what the loop throws.
    const closing: Iterable<Target> = {
      [Symbol.iterator]() {
        let i = 0;
        return {
          next: () => ({ done: false, value: (i++ === 1 ? { host: '127.0.0.1', port: 'x' } : { host: '127.0.0.1', port: refused }) as Target }),
          return() {
            calls.return++;
            throw new Error('cleanup failed');
          },
        };
      },
    };
    await assert.rejects(collect(closing), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' });
    assert.equal(calls.return, 1);
  });

  it("leaves no listener on the caller's signal when the targets cannot be iterated", async () => {
    const controller = new AbortController();
    const broken = {
      [Symbol.iterator]() {
        throw new Error('no iterator');
      },
    } as unknown as Iterable<Target>;
    for (let i = 0; i < 3; i++) await assert.rejects(collect(broken, { signal: controller.signal }), /no iterator/);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it("reads a name target's host and port once each too", async () => {
    const refused = await refusedPort();
    const { target, count } = countingTarget('localhost', refused);
    const [outcome] = await collect([target], { family: 4 });
    assert.equal(outcome.code, 'ECONNREFUSED');
    assert.deepEqual(count, { host: 1, port: 1 });
  });

  it('probeStart refuses arguments lib/ never sends with an error, never reading past them', () => {
    const spec = new Float64Array(addon.layout.spec.length);
    const one = new Float64Array([0, 1, 0]);
    const call = (...args: unknown[]) => (addon.probeStart as (...a: unknown[]) => unknown)(...args);
    assert.throws(() => call(new Float64Array(1), ['127.0.0.1'], one, undefined, undefined, 1), TypeError);
    assert.throws(() => call(spec, '127.0.0.1', one, undefined, undefined, 1), TypeError);
    assert.throws(() => call(spec, ['127.0.0.1'], new Float64Array([0, 1]), undefined, undefined, 1), TypeError);
    assert.throws(() => call(spec, ['127.0.0.1'], new Float64Array(0), undefined, undefined, 1), TypeError);
    assert.throws(() => call(spec, ['127.0.0.1'], one, undefined, undefined, 'x'), TypeError);
    assert.throws(() => call(spec, ['127.0.0.1'], new Float64Array([5, 1, 0]), undefined, undefined, 1), RangeError);
    assert.throws(() => call(spec, ['127.0.0.1'], new Float64Array([0, 1e9, 0]), undefined, undefined, 1), RangeError);
    const client = new Float64Array(spec);
    client[addon.layout.spec.indexOf('client')] = 1e12;
    client[addon.layout.spec.indexOf('family')] = 4;
    assert.throws(() => call(client, ['127.0.0.1'], one, undefined, undefined, 1), /client init\(\) never made/);
  });
});
