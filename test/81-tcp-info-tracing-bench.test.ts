// The kernel's view after connect (TCP_INFO), the 'nbconnect:connect'
// tracing channel, and `nbconnect bench` on this machine's own targets.
import assert from 'node:assert/strict';
import * as diagnosticsChannel from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { connect, connectChannel, connectSync, probe, type ConnectTraceContext } from '../dist/lib';
import { nbconnect } from './helpers/command';
import { refusedPort, tcpListener, unixListener, type TcpListener } from './helpers/listeners';

describe('the kernel view after connect: TCP_INFO', function () {
  this.timeout(20000);
  let live: TcpListener;
  before(async () => {
    live = await tcpListener('127.0.0.1');
  });
  after(() => live.close());

  it('conn.tcpInfo(): ESTABLISHED, a handshake RTT in µs, the MSS, Node-style names; ERR_SOCKET_CLOSED once closed', async () => {
    const c = await connect({ host: '127.0.0.1', port: live.port }, { maxSegment: 1200 });
    const info = c.tcpInfo();
    assert.equal(info.state, 'ESTABLISHED');
    // A loopback round trip is µs, never seconds; rttVar is filled too.
    assert.ok(info.rtt > 0 && info.rtt < 1_000_000, `rtt ${info.rtt}`);
    assert.equal(typeof info.rttVar, 'number');
    assert.ok(info.advMss <= 1200 && info.advMss > 0, `advMss ${info.advMss}`);
    assert.ok(info.sndCwnd > 0 && info.pmtu > 0, JSON.stringify(info));
    assert.equal(info.totalRetrans, 0);
    // This kernel fills the newer fields too (they are absent, not 0, on one that does not).
    assert.equal(typeof info.bytesReceived, 'number');
    assert.ok(Object.keys(info).every((k) => /^[a-z][A-Za-z]*$/.test(k)));
    c.close();
    assert.throws(() => c.tcpInfo(), { code: 'ERR_SOCKET_CLOSED', message: /already closed or handed over/ });
  });

  it('AF_UNIX has no TCP_INFO: the kernel says EOPNOTSUPP (95, which Node names ENOTSUP)', async () => {
    const listener = await unixListener();
    const c = await connect({ path: listener.path });
    try {
      assert.throws(() => c.tcpInfo(), { code: 'ENOTSUP', syscall: 'getsockopt', errno: -os.constants.errno.EOPNOTSUPP });
    } finally {
      c.close();
      await listener.close();
    }
  });

  it("a probe's Outcome holds the snapshot taken right after the verdict, before its close; a failure has none", async () => {
    for (const wait of ['epoll', 'poll', 'select'] as const) {
      const o = await probe({ host: '127.0.0.1', port: live.port }, { wait });
      assert.equal(o.code, 'OK');
      assert.ok(o.tcpInfo && o.tcpInfo.rtt > 0, wait);
      const tail = o.steps.slice(-2).map((s) => `${s.call} ${s.arg ?? ''}`);
      assert.deepEqual(tail, ['getsockopt TCP_INFO', 'close '], wait);
    }
    const refused = await probe({ host: '127.0.0.1', port: await refusedPort() });
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.equal(refused.tcpInfo, undefined);
    assert.ok(!refused.steps.some((s) => s.arg === 'TCP_INFO'));
    // A name whose addresses raced: the winner's is read before its close.
    const raced = await probe({ host: 'localhost', port: live.port });
    if (raced.ok) assert.ok(raced.tcpInfo && raced.tcpInfo.rtt > 0);
  });
});

describe("tracing: diagnostics_channel.tracingChannel('nbconnect:connect')", function () {
  this.timeout(20000);
  let live: TcpListener;
  before(async () => {
    live = await tcpListener('127.0.0.1');
  });
  after(() => live.close());

  const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

  /** Subscribes to every event of the channel for the run of `body`. */
  async function recorded(body: () => unknown): Promise<{ event: string; context: ConnectTraceContext }[]> {
    const seen: { event: string; context: ConnectTraceContext }[] = [];
    const handlers = Object.fromEntries(EVENTS.map((event) => [event, (message: unknown) => seen.push({ event, context: message as ConnectTraceContext })]));
    const channel = diagnosticsChannel.tracingChannel('nbconnect:connect');
    channel.subscribe(handlers as never);
    try {
      await body();
    } finally {
      channel.unsubscribe(handlers as never);
    }
    return seen;
  }

  it('connect: start and end around the call, asyncStart and asyncEnd at the verdict, with target, options and the Outcome with its steps', async () => {
    const options = { timeout: 1000, noDelay: true };
    let connection: Awaited<ReturnType<typeof connect>> | undefined;
    const seen = await recorded(async () => {
      connection = await connect(`127.0.0.1:${live.port}`, options);
    });
    connection!.close();
    assert.deepEqual(
      seen.map((s) => s.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    const context = seen[3].context;
    // One context object travels through every event, as Node's channels do.
    assert.ok(seen.every((s) => s.context === context));
    assert.equal(context.call, 'connect');
    assert.equal(context.target, `127.0.0.1:${live.port}`);
    assert.equal(context.options, options);
    assert.equal(context.result, connection);
    assert.equal(context.outcome!.code, 'OK');
    assert.deepEqual(context.outcome!.steps.map((s) => s.call).slice(0, 3), ['socket', 'fcntl', 'fcntl']);
    // The Outcome is a record of the verdict: a later close does not change it.
    assert.ok(!context.outcome!.steps.some((s) => s.call === 'close'));
  });

  it('a refused connect publishes error with the ConnectError and its Outcome; bad input publishes error with the TypeError alone', async () => {
    const port = await refusedPort();
    const seen = await recorded(() => connect(`127.0.0.1:${port}`).catch(() => undefined));
    assert.deepEqual(
      seen.map((s) => s.event),
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
    );
    const context = seen[2].context;
    assert.equal((context.error as { code: string }).code, 'ECONNREFUSED');
    assert.equal(context.outcome!.code, 'ECONNREFUSED');
    assert.ok(context.outcome!.steps.length > 0);

    const bad = await recorded(() => connect('127.0.0.1:99999').catch(() => undefined));
    const badContext = bad.find((s) => s.event === 'error')!.context;
    assert.equal((badContext.error as { code: string }).code, 'ERR_SOCKET_BAD_PORT');
    assert.equal(badContext.outcome, undefined);
  });

  it('probe and connectSync are traced too: probe resolves its Outcome, connectSync publishes start and end', async () => {
    const probed = await recorded(() => probe(`127.0.0.1:${live.port}`));
    assert.deepEqual(
      probed.map((s) => s.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    assert.equal(probed[3].context.call, 'probe');
    assert.equal(probed[3].context.result, probed[3].context.outcome);
    assert.ok(probed[3].context.outcome!.tcpInfo);

    const synced = await recorded(() => connectSync(`127.0.0.1:${live.port}`).close());
    assert.deepEqual(
      synced.map((s) => s.event),
      ['start', 'end'],
    );
    assert.equal(synced[1].context.call, 'connectSync');
    assert.equal(synced[1].context.outcome!.code, 'OK');

    const port = await refusedPort();
    const failed = await recorded(() => {
      assert.throws(() => connectSync(`127.0.0.1:${port}`), { code: 'ECONNREFUSED' });
    });
    assert.deepEqual(
      failed.map((s) => s.event),
      ['start', 'error', 'end'],
    );
    assert.equal(failed[1].context.outcome!.code, 'ECONNREFUSED');
  });

  it('the exported connectChannel is the one diagnostics_channel names, and without a subscriber it has none', () => {
    assert.equal(connectChannel.start, diagnosticsChannel.channel('tracing:nbconnect:connect:start'));
    assert.equal(connectChannel.asyncEnd, diagnosticsChannel.channel('tracing:nbconnect:connect:asyncEnd'));
    for (const event of EVENTS) assert.equal(connectChannel[event].hasSubscribers, false, event);
  });
});

describe('nbconnect bench', function () {
  this.timeout(120000);
  let live: TcpListener;
  before(async () => {
    live = await tcpListener('127.0.0.1');
  });
  after(() => live.close());

  it('every wait against net.Socket, sequential and concurrent, as JSON rows with ratios, and an SVG chart', async () => {
    const svg = path.join(os.tmpdir(), `nbconnect-bench-${process.pid}.svg`);
    try {
      const { status, stdout, stderr } = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '40', '-c', '8', '--reps', '1', '--json', '--svg', svg);
      assert.equal(status, 0, stderr);
      const report = JSON.parse(stdout) as { rows: { scenario: string; metric: string; driver: string; median: number; vsNet?: number }[]; truncated: boolean };
      assert.equal(report.truncated, false);
      const drivers = new Set(report.rows.map((r) => r.driver));
      assert.deepEqual([...drivers].sort(), ['nbconnect-epoll', 'nbconnect-poll', 'nbconnect-select', 'net']);
      for (const driver of drivers) {
        const row = (scenario: string, metric: string) => report.rows.find((r) => r.scenario === scenario && r.metric === metric && r.driver === driver)!;
        assert.ok(row('sequential', 'p50').median > 0, driver);
        assert.ok(row('concurrent', 'perSec').median > 0, driver);
        assert.equal(row('sequential', 'failed').median, 0, driver);
        if (driver !== 'net') assert.ok(row('sequential', 'p50').vsNet! > 0, driver);
        else assert.equal(row('sequential', 'p50').vsNet, undefined);
      }
      const chart = fs.readFileSync(svg, 'utf8');
      assert.match(chart, /^<svg /);
      assert.match(chart, /nbconnect-epoll/);
    } finally {
      fs.rmSync(svg, { force: true });
    }
  });

  it('the text form has the table shape of npm run bench', async () => {
    const { status, stdout } = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '20', '-c', '4', '--reps', '1');
    assert.equal(status, 0, stdout);
    assert.match(stdout, /\| scenario \| metric \| driver \| median \| min–max \| × net\.Socket \| × C \|/);
    assert.match(stdout, /\| sequential \| p50 \(µs\) \| nbconnect-epoll \| [0-9.,]+ \|/);
  });

  it('refuses a target that is not this machine without --i-own-this-host, before any connect; and bounds -n and -c', async () => {
    // 192.0.2.1 is TEST-NET-1: refused before any socket is made.
    const refusedTarget = await nbconnect('bench', '192.0.2.1:80', '-n', '10');
    assert.equal(refusedTarget.status, 2);
    assert.match(refusedTarget.stderr, /192\.0\.2\.1:80 is not this machine.*--i-own-this-host/);
    const tooMany = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '100001');
    assert.equal(tooMany.status, 2);
    assert.match(tooMany.stderr, /-n must be an integer from 1 to 100000/);
    const wide = await nbconnect('bench', `127.0.0.1:${live.port}`, '-c', '5000');
    assert.equal(wide.status, 2);
  });
});
