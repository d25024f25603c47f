import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Connector, classify, type AttemptReport, type ConnectError } from '../dist/lib';
import { blackHole, refusedPort, fdCount } from './helpers/listeners';

describe('Connector and classify', () => {
  it('classify follows the documented table, by name or errno of either sign', () => {
    for (const code of [0, 'OK', 'EINPROGRESS', 'EINTR', 'EISCONN']) assert.equal(classify(code), 'connecting', String(code));
    for (const code of ['EAGAIN', 'EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'ENETUNREACH', 'ETIMEDOUT', 'ESELFCONNECT'])
      assert.equal(classify(code), 'retry', code);
    for (const code of ['EACCES', 'EPERM', 'EAFNOSUPPORT', 'EALREADY', 'EBADF', 'EFAULT', 'ENOTSOCK', 'EHOSTUNREACH', 'ENOTFOUND'])
      assert.equal(classify(code), 'fatal', code);
    assert.equal(classify(111), 'retry'); // ECONNREFUSED, as the kernel sets it
    assert.equal(classify(-111), 'retry'); // as Node reports it
    assert.equal(classify(-13), 'fatal'); // EACCES
    // @ts-expect-error: a code is a name or a number
    assert.throws(() => classify(null), TypeError);
    assert.throws(() => classify(1.5), RangeError);
  });

  it('retries a refused port on the backoff schedule until the listener appears', async function () {
    this.timeout(20000);
    const port = await refusedPort();
    const initialDelay = 200;
    const connector = new Connector({ host: '127.0.0.1', port }, { initialDelay, maxDelay: 800 });
    const reports: AttemptReport[] = [];
    connector.on('attempt', (r) => reports.push(r));
    // After three refusals (at about 0, 200 and 600 ms) the listener is up,
    // so the fourth (at about 1,400 ms: the delay doubled, then capped) connects.
    const server = net.createServer((s) => s.destroy());
    const listening = new Promise<void>((resolve) => setTimeout(() => server.listen(port, '127.0.0.1', resolve), 900));
    try {
      const connection = await connector.connect();
      connection.close();
    } finally {
      await listening;
      await new Promise((resolve) => server.close(resolve));
    }
    assert.deepEqual(
      reports.map((r) => r.outcome.code),
      ['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED', 'OK'],
    );
    assert.deepEqual(
      reports.map((r) => r.disposition),
      ['retry', 'retry', 'retry', 'connecting'],
    );
    assert.deepEqual(
      reports.map((r) => r.nextDelay),
      [200, 400, 800, undefined],
    );
    const expected = [0, 200, 600, 1400];
    reports.forEach((r, i) => {
      // Never early; late by a loaded machine's scheduling at most.
      assert.ok(r.startedAt >= expected[i] - 1 && r.startedAt < expected[i] + 400, `attempt ${i + 1} at ${r.startedAt}, expected ${expected[i]}`);
      assert.equal(r.outcome.steps[0].call, 'socket', 'a fresh socket per attempt');
    });
    const fds = reports.map((r) => r.outcome.steps[0].ret);
    assert.ok(
      reports.slice(0, 3).every((r) => r.outcome.steps.at(-1)!.call === 'close'),
      `each failed socket closed (${fds.join(', ')})`,
    );
  });

  it('stops at once on a fatal code, and after maxAttempts on retries', async () => {
    const port = await refusedPort();
    // bind() of an IPv6 address to an IPv4 socket: EAFNOSUPPORT, fatal by the table.
    const mismatched = new Connector(`127.0.0.1:${port}`, { initialDelay: 10, localAddress: '::1' });
    const fatalSeen: unknown[][] = [];
    mismatched.on('attempt', (r) => fatalSeen.push([r.outcome.code, r.disposition, r.nextDelay]));
    await assert.rejects(mismatched.connect(), { code: 'EAFNOSUPPORT', syscall: 'bind' });
    assert.deepEqual(fatalSeen, [['EAFNOSUPPORT', 'fatal', undefined]]);

    const limited = new Connector(`127.0.0.1:${port}`, { initialDelay: 10, maxAttempts: 3 });
    const seen: number[] = [];
    limited.on('attempt', (r) => seen.push(r.attempt));
    await assert.rejects(limited.connect(), { code: 'ECONNREFUSED' });
    assert.deepEqual(seen, [1, 2, 3]);

    const fatal = new Connector(`127.0.0.1:${port}`, { initialDelay: 10, classify: (code) => (code === 'ECONNREFUSED' ? 'fatal' : 'retry') });
    const once: string[] = [];
    fatal.on('attempt', (r) => once.push(r.disposition));
    await assert.rejects(fatal.connect(), { code: 'ECONNREFUSED' });
    assert.deepEqual(once, ['fatal']);
  });

  it('jitter draws each delay from [delay × (1 − jitter), delay]', async () => {
    const port = await refusedPort();
    const connector = new Connector(`127.0.0.1:${port}`, { initialDelay: 40, jitter: 0.5, maxAttempts: 6 });
    const delays: [number, number][] = [];
    connector.on('attempt', (r) => r.nextDelay !== undefined && delays.push([r.nextDelay, connector.delayAfter(r.attempt)]));
    await assert.rejects(connector.connect(), { code: 'ECONNREFUSED' });
    assert.equal(delays.length, 5);
    for (const [got, full] of delays) assert.ok(got >= full / 2 && got <= full, `${got} of ${full}`);
  });

  it("the caller's deadline rejects with the AbortError whose cause is the last attempt's error", async () => {
    const port = await refusedPort();
    const refused = await new Connector(`127.0.0.1:${port}`, { initialDelay: 20, factor: 1, signal: AbortSignal.timeout(300) }).connect().then(
      () => assert.fail('connected'),
      (e: Error & { code: string; cause: ConnectError }) => e,
    );
    assert.equal(refused.code, 'ABORT_ERR');
    assert.equal(refused.cause.code, 'ECONNREFUSED');
    assert.equal(refused.cause.port, port);

    // Cut during an attempt against a black hole: the cause is the attempt before it, timed out.
    const hole = await blackHole('tcp4');
    try {
      const cut = await new Connector(`127.0.0.1:${hole.port}`, { timeout: 150, initialDelay: 10, factor: 1, signal: AbortSignal.timeout(400) }).connect().then(
        () => assert.fail('connected'),
        (e: Error & { code: string; cause: ConnectError }) => e,
      );
      assert.equal(cut.code, 'ABORT_ERR');
      assert.equal(cut.cause.code, 'ETIMEDOUT');
    } finally {
      await hole.close();
    }

    // No attempt finished: the signal's reason, as before.
    const reason = new Error('gave up');
    const early = await new Connector(`127.0.0.1:${port}`, { signal: AbortSignal.abort(reason) }).connect().catch((e: Error) => e);
    assert.equal((early as Error & { cause: unknown }).cause, reason);
  });

  it('the signal stops a backoff wait and a pending attempt; leaving attempts() early too', async () => {
    const before = fdCount();
    const port = await refusedPort();
    const ac = new AbortController();
    const connector = new Connector(`127.0.0.1:${port}`, { initialDelay: 10000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    await assert.rejects(connector.connect(), { code: 'ABORT_ERR', name: 'AbortError' });
    assert.ok(performance.now() - t0 < 5000);

    const iterated = new Connector(`127.0.0.1:${port}`, { initialDelay: 10000 });
    for await (const report of iterated.attempts()) {
      assert.equal(report.attempt, 1);
      break; // must not wait out the 10 s backoff
    }
    assert.equal(fdCount(), before);
  });

  it('validates its options before any socket', () => {
    assert.throws(() => new Connector('127.0.0.1:1', { initialDelay: -1 }), RangeError);
    assert.throws(() => new Connector('127.0.0.1:1', { factor: 0.5 }), RangeError);
    assert.throws(() => new Connector('127.0.0.1:1', { jitter: 2 }), RangeError);
    assert.throws(() => new Connector('127.0.0.1:1', { maxAttempts: 0 }), RangeError);
    // @ts-expect-error: classify is a function
    assert.throws(() => new Connector('127.0.0.1:1', { classify: 'x' }), TypeError);
    assert.throws(() => new Connector('127.0.0.1:99999'), RangeError);
    // @ts-expect-error: no such wait
    assert.throws(() => new Connector('127.0.0.1:1', { wait: 'x' }), TypeError);
  });
});
