// probeMany's batch path (lib/probe-batch.ts): literal targets go to the
// native side many to a call, and each Outcome must be the one probe()
// gives for the same target, field for field and key for key.
import assert from 'node:assert/strict';
import { probe, probeMany, type Outcome, type Target } from '../dist/lib';
import { addon } from '../dist/lib/binding';
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
});
