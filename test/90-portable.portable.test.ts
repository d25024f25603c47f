// The portable mode's spec: run by `npm run test:portable` (and `npm test`)
// with NBCONNECT_MODE=portable forced, on this Linux machine, against real
// listeners and black holes. Every call here is net's: the assertions are
// on what net reports (codes, errno, deadlines, addresses), never on a
// syscall trace, which this mode does not have.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as undici from 'undici';

import {
  connect,
  connectAny,
  connectSync,
  Connector,
  createConnection,
  probe,
  probeMany,
  raw,
  waitFor,
  WaitTimeoutError,
  type ConnectOptions,
  type Outcome,
} from '../dist/lib';
import { rejected, rejectedAll } from './helpers/calls';
import { mountNamespaceBlocker, skipWithout } from './helpers/namespaces';
import { nbconnect } from './helpers/command';
import {
  blackHole,
  fdCount,
  refusedPort,
  settleFds,
  tcpListener,
  tempSocketPath,
  unixListener,
  type Peer,
  type TcpListener,
  type UnixListener,
} from './helpers/listeners';

const DEADLINE = 200;
const LATE_TOLERANCE = 1500;
const NET_CALLS = new Set(['net']);

describe('the portable mode (NBCONNECT_MODE=portable)', () => {
  let live: TcpListener;
  let unix: UnixListener;
  let hole: Peer;
  let refused: number;
  let baseline: number;

  before(async function () {
    // This file specifies the portable mode; in the exact mode it would test nothing it says.
    assert.equal(process.env.NBCONNECT_MODE, 'portable', 'run by npm run test:portable, which sets NBCONNECT_MODE=portable');
    live = await tcpListener('127.0.0.1', (s) => s.pipe(s));
    unix = await unixListener();
    hole = await blackHole('tcp4');
    refused = await refusedPort();
    baseline = fdCount();
  });
  after(async () => {
    await live.close();
    await unix.close();
    await hole.close();
  });
  afterEach(async () => {
    // Every socket is closed: the fd count is back where it started.
    assert.equal(await settleFds(baseline), baseline);
  });

  it('connect to a live listener: exact false, the addresses net reports, a trace of net events only', async () => {
    const c = await connect({ host: '127.0.0.1', port: live.port }, { timeout: 2000, noDelay: true, keepAlive: { idle: 5 } });
    assert.equal(c.exact, false);
    assert.equal(c.family, 'IPv4');
    assert.equal(c.remoteAddress, '127.0.0.1');
    assert.equal(c.remotePort, live.port);
    assert.equal(c.localAddress, '127.0.0.1');
    assert.ok(c.fd >= 0, `fd ${c.fd}`);
    assert.deepEqual(
      c.steps.map((s) => [s.call, s.arg, s.ret]),
      [['net', 'connect', 0]],
    );
    // toSocket hands over the net.Socket itself, which then talks.
    const socket = c.toSocket();
    assert.equal(c.fd, -1);
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.once('data', (d: Buffer) => resolve(d.toString())).once('error', reject);
      socket.write('ping');
    });
    assert.equal(echoed, 'ping');
    socket.destroy();
  });

  it('close() destroys the socket and is traced; a second close is a no-op', async () => {
    const c = await connect(`127.0.0.1:${live.port}`);
    c.close();
    c.close();
    assert.equal(c.fd, -1);
    assert.deepEqual(
      c.steps.map((s) => `${s.call} ${s.arg}`),
      ['net connect', 'net destroy'],
    );
  });

  it("refused: ECONNREFUSED with Node's errno, syscall and message; probe says the same", async () => {
    const err = await rejected(connect({ host: '127.0.0.1', port: refused }, { timeout: 2000 }));
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.errno, -111);
    assert.equal(err.posixErrno, 111);
    assert.equal(err.syscall, 'connect');
    assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${refused}`);
    assert.equal(err.phase, 'async');
    assert.deepEqual(
      err.steps.map((s) => [s.call, s.arg, s.code]),
      [['net', 'error', 'ECONNREFUSED']],
    );
    const outcome = await probe(`127.0.0.1:${refused}`);
    assert.deepEqual([outcome.ok, outcome.exact, outcome.code, outcome.errno], [false, false, 'ECONNREFUSED', -111]);
  });

  it('AF_UNIX: a listener connects, a missing path is ENOENT', async () => {
    const c = await connect({ path: unix.path });
    assert.deepEqual([c.exact, c.family, c.path], [false, 'unix', unix.path]);
    c.close();
    const missing = tempSocketPath();
    const err = await rejected(connect(`unix:${missing}`));
    assert.deepEqual([err.code, err.errno, err.address], ['ENOENT', -2, missing]);
  });

  it('a deadline against a black hole: ETIMEDOUT, phase timeout, counted from the call, the socket destroyed', async () => {
    const started = performance.now();
    const err = await rejected(connect({ host: '127.0.0.1', port: hole.port }, { timeout: DEADLINE }));
    const took = performance.now() - started;
    assert.deepEqual([err.code, err.errno, err.phase, err.message], ['ETIMEDOUT', -110, 'timeout', `connect ETIMEDOUT 127.0.0.1:${hole.port}`]);
    assert.ok(err.elapsed >= DEADLINE - 1, `elapsed ${err.elapsed}`);
    assert.ok(took >= DEADLINE - 1 && took < DEADLINE + LATE_TOLERANCE, `took ${took} ms`);
    assert.deepEqual(
      err.steps.map((s) => `${s.call} ${s.arg}`),
      ['net destroy'],
    );
    const outcome = await probe(`127.0.0.1:${hole.port}`, { timeout: DEADLINE });
    assert.deepEqual([outcome.ok, outcome.exact, outcome.code, outcome.phase], [false, false, 'ETIMEDOUT', 'timeout']);
  });

  it('abort: ABORT_ERR, AbortError, the reason as cause, the socket destroyed', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 50);
    const err = await rejected(connect({ host: '127.0.0.1', port: hole.port }, { signal: controller.signal }));
    assert.deepEqual([err.name, err.code, err.phase, err.cause], ['AbortError', 'ABORT_ERR', 'aborted', reason]);
    const already = await rejected(connect({ host: '127.0.0.1', port: live.port }, { signal: AbortSignal.abort() }));
    assert.equal(already.code, 'ABORT_ERR');
  });

  it('races ::1 and 127.0.0.1: the refused one fails, the listening one wins, the loser is closed', async () => {
    const { connection, winner, attempts } = await connectAny([`[::1]:${live.port}`, `127.0.0.1:${live.port}`], { delay: 250 });
    assert.equal(winner, 1);
    assert.equal(connection.remoteAddress, '127.0.0.1');
    assert.equal(connection.exact, false);
    assert.deepEqual(
      attempts.map((a) => [a.result, a.error?.code]),
      [
        ['failed', 'ECONNREFUSED'],
        ['won', undefined],
      ],
    );
    connection.close();
    const all = await rejectedAll(connectAny([`[::1]:${refused}`, `127.0.0.1:${refused}`]));
    assert.equal(all.code, 'ECONNREFUSED');
  });

  it('a name with ::1 first and 127.0.0.1 (a private /etc/hosts), a server on 127.0.0.1 only: raced as the exact engine races it', function () {
    // test/17-localhost.test.ts's fixture, here in the portable mode (the child inherits NBCONNECT_MODE).
    skipWithout(this, mountNamespaceBlocker(), 'mount namespaces');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-hosts-'));
    const hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, '::1 localhost\n127.0.0.1 localhost\n');
    try {
      const fixture = path.join(__dirname, 'fixtures', 'localhost-both.js');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "${hosts}" /etc/hosts && exec "${process.execPath}" "${fixture}"`], {
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(report.lookup, ['::1', '127.0.0.1']);
      assert.equal(report.raced, '127.0.0.1');
      assert.equal(report.single, 'ECONNREFUSED ::1');
      assert.equal(report.http, 'hello');
      assert.deepEqual(report.allFail, report.nodeAllFail);
      assert.deepEqual(report.probe, { ok: true, code: 'OK', address: '127.0.0.1', attempts: ['ECONNREFUSED ::1', 'OK 127.0.0.1'] });
      assert.deepEqual(report.probeAllFail, { ok: false, code: 'ECONNREFUSED', attempts: ['ECONNREFUSED ::1', 'ECONNREFUSED 127.0.0.1'] });
      assert.deepEqual(report.probeSingle, { code: 'ECONNREFUSED', address: '::1', attempts: 'none' });
      // connectSync is the exact engine's alone.
      assert.equal(report.sync, 'ERR_NBCONNECT_NOT_EXACT');
      const cli = report.cli as { status: number; stdout: string };
      assert.equal(cli.status, 0, cli.stdout);
      assert.match(cli.stdout, /\[::1\]:\d+ {2}=> ECONNREFUSED \(phase: async\)/);
      assert.match(cli.stdout, /127\.0\.0\.1:\d+ {2}net\(connect\) = 0/);
      assert.equal((report.cliSync as { status: number }).status, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a name: probe races its addresses and reports each', async () => {
    const outcome = await probe({ host: 'localhost', port: live.port }, { timeout: 2000 });
    assert.equal(outcome.ok, true, `${outcome.code}`);
    assert.equal(outcome.exact, false);
    for (const attempt of outcome.attempts ?? []) assert.equal(attempt.exact, false);
  });

  it('probeMany: every verdict, in completion order, each exact false', async () => {
    const targets = [`127.0.0.1:${live.port}`, `127.0.0.1:${refused}`, `127.0.0.1:${hole.port}`, `unix:${unix.path}`];
    const outcomes: Outcome[] = [];
    for await (const o of probeMany(targets, { timeout: DEADLINE, concurrency: 2 })) outcomes.push(o);
    const byTarget = new Map(outcomes.map((o) => ['path' in o.target ? `unix:${o.target.path}` : `127.0.0.1:${o.target.port}`, o.code]));
    assert.deepEqual(
      targets.map((t) => byTarget.get(t)),
      ['OK', 'ECONNREFUSED', 'ETIMEDOUT', 'OK'],
    );
    assert.ok(outcomes.every((o) => o.exact === false));
  });

  it('Connector: retries a refused port until it listens', async () => {
    const port = await refusedPort();
    const server = net.createServer((s) => s.destroy());
    setTimeout(() => server.listen(port, '127.0.0.1'), 300);
    try {
      const connector = new Connector({ host: '127.0.0.1', port }, { initialDelay: 100, maxAttempts: 20 });
      const codes: string[] = [];
      connector.on('attempt', (r: { outcome: Outcome }) => codes.push(r.outcome.code));
      const c = await connector.connect();
      c.close();
      assert.equal(codes.at(-1), 'OK');
      assert.ok(codes.slice(0, -1).length >= 1 && codes.slice(0, -1).every((code) => code === 'ECONNREFUSED'), codes.join());
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('createConnection under http.Agent and undici; ETIMEDOUT at the deadline', async () => {
    const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const agent = new http.Agent();
    agent.createConnection = createConnection({ timeout: 2000 });
    const dispatcher = new undici.Agent({ connect: createConnection({ timeout: 2000 }) });
    const holeDispatcher = new undici.Agent({ connect: createConnection({ timeout: DEADLINE }) });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${port}/a`, { agent }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString())).on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      assert.equal(body, 'hello /a');
      const response = await undici.request(`http://127.0.0.1:${port}/b`, { dispatcher });
      assert.equal(await response.body.text(), 'hello /b');
      const err = await undici.request(`http://127.0.0.1:${hole.port}/`, { dispatcher: holeDispatcher }).then(
        () => assert.fail('connected to a black hole'),
        (e: NodeJS.ErrnoException) => e,
      );
      assert.equal(err.code, 'ETIMEDOUT');
    } finally {
      agent.destroy();
      await dispatcher.close();
      await holeDispatcher.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('the command: 0 connected, 3 refused, 4 timed out, 2 for a flag only the exact engine has', async () => {
    const ok = await nbconnect(`127.0.0.1:${live.port}`, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout) as Outcome, { ...(JSON.parse(ok.stdout) as Outcome), ok: true, exact: false, code: 'OK' });
    const no = await nbconnect(`127.0.0.1:${refused}`, '--json');
    assert.equal(no.status, 3);
    assert.equal((JSON.parse(no.stdout) as Outcome).code, 'ECONNREFUSED');
    const late = await nbconnect(`127.0.0.1:${hole.port}`, '--timeout', String(DEADLINE), '--json');
    assert.equal(late.status, 4);
    assert.equal((JSON.parse(late.stdout) as Outcome).phase, 'timeout');
    for (const args of [['--wait', 'poll'], ['--sync'], ['--syn-count', '1'], ['--confirm', 'read'], ['--mark', '1']].map((flags) => [
      `127.0.0.1:${live.port}`,
      ...flags,
    ])) {
      const exactOnly = await nbconnect(...args);
      assert.equal(exactOnly.status, 2, args.join(' '));
      assert.match(exactOnly.stderr, /needs the exact engine/);
    }
    // The benchmark measures the exact engine's waits: refused whole, never a table of failures.
    const bench = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '2');
    assert.equal(bench.status, 2, bench.stdout);
    assert.match(bench.stderr, /^nbconnect: nbconnect bench needs the exact engine/);
    assert.equal(bench.stdout, '');
  });

  it('timeout: 0 makes no connect, as in the exact engine: ETIMEDOUT at once, the listener sees nothing', async () => {
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const target = { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
      const error = await rejected(connect(target, { timeout: 0 }));
      assert.deepEqual([error.code, error.phase, error.steps], ['ETIMEDOUT', 'timeout', []]);
      assert.match(error.message, /no connect was made/);
      const outcome = await probe(target, { timeout: 0 });
      assert.deepEqual([outcome.code, outcome.exact], ['ETIMEDOUT', false]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(accepted, 0);
    } finally {
      server.close();
    }
  });

  it('the command scans (no option the portable mode lacks), and a unix path nobody made exits 3', async () => {
    const scan = await nbconnect('scan', '127.0.0.1', String(live.port));
    assert.equal(scan.status, 0, scan.stderr);
    assert.match(scan.stdout, new RegExp(`^${live.port}/tcp +open `, 'm'));
    assert.match(scan.stdout, /^scanned 1 port on 127\.0\.0\.1 in [0-9]+ ms \([0-9]+ ports\/s\): 1 open, 0 closed, 0 filtered, 0 other$/m);
    const missing = await nbconnect(`unix:${path.join(os.tmpdir(), `nbconnect-none-${process.pid}.sock`)}`, '--quiet');
    assert.equal(missing.status, 3, missing.stderr);
  });

  it('waitFor keeps its API: up at once for a listener, and at its deadline the last error of each target', async () => {
    const up = await waitFor([`127.0.0.1:${live.port}`, `unix:${unix.path}`], { timeout: 2000 });
    assert.deepEqual(
      up.targets.map((t) => [t.outcome.ok, t.outcome.exact]),
      [
        [true, false],
        [true, false],
      ],
    );
    const started = performance.now();
    const error = await waitFor([`127.0.0.1:${refused}`, `127.0.0.1:${hole.port}`], { timeout: 400, attemptTimeout: 100 }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WaitTimeoutError);
    assert.deepEqual(
      error.targets.map((t) => t.code),
      ['ECONNREFUSED', 'ETIMEDOUT'],
    );
    const took = performance.now() - started;
    assert.ok(took >= 400 && took < 400 + 1500, `${took} ms`);
    const waited = await nbconnect('wait', `127.0.0.1:${live.port}`, '--timeout', '2000', '--quiet');
    assert.equal(waited.status, 0, waited.stderr);
  });

  describe('what needs the kernel: ERR_NBCONNECT_NOT_EXACT, named, before any I/O', () => {
    // Each option net cannot honour exactly, with a value the exact engine takes.
    const KERNEL_ONLY: [string, ConnectOptions][] = [
      ['options.wait', { wait: 'epoll' }],
      ['options.confirm', { confirm: 'so_error' }],
      ['options.waitDelay', { waitDelay: 1 }],
      ['options.synCount', { synCount: 1 }],
      ['options.userTimeout', { userTimeout: 1000 }],
      ['options.bindAddressNoPort', { bindAddressNoPort: true }],
      ['options.linger0', { linger0: true }],
      ['options.bindToDevice', { bindToDevice: 'lo' }],
      ['options.tos', { tos: 16 }],
      ['options.mark', { mark: 1 }],
      ['options.sendBufferSize', { sendBufferSize: 65536 }],
      ['options.receiveBufferSize', { receiveBufferSize: 65536 }],
      ['options.maxSegment', { maxSegment: 1200 }],
      ['options.congestion', { congestion: 'reno' }],
      ['options.fastOpen', { fastOpen: true }],
      ['options.mptcp', { mptcp: 'prefer' }],
      ['options.setsockopt', { setsockopt: [{ level: 'SOL_SOCKET', name: 'SO_PRIORITY', value: 1 }] }],
      ['options.keepAlive.interval', { keepAlive: { idle: 5, interval: 5 } }],
      ['options.keepAlive.count', { keepAlive: { count: 3 } }],
    ];
    let accepted: number;
    const countAccepts = () => accepted++;
    beforeEach(() => {
      accepted = 0;
      live.server.on('connection', countAccepts);
    });
    afterEach(async () => {
      // Nothing reached the listener.
      await new Promise((resolve) => setTimeout(resolve, 20));
      live.server.removeListener('connection', countAccepts);
      assert.equal(accepted, 0);
    });

    const notExact = (what: string) => (err: unknown) => {
      const e = err as NodeJS.ErrnoException;
      assert.equal(e.code, 'ERR_NBCONNECT_NOT_EXACT');
      assert.ok(e.message.startsWith(`${what} needs the exact engine: `), e.message);
      assert.match(e.message, /runs on Linux \(x64, arm64\) with the native addon/);
      assert.match(e.message, /NBCONNECT_MODE=portable is set/);
      return true;
    };

    for (const [what, options] of KERNEL_ONLY) {
      it(`${what}: connect, probe, connectAny, Connector and createConnection refuse it`, async () => {
        const target = `127.0.0.1:${live.port}`;
        await assert.rejects(connect(target, options), notExact(what));
        await assert.rejects(probe(target, options), notExact(what));
        await assert.rejects(connectAny([target], options), notExact(what));
        assert.throws(() => new Connector(target, options), notExact(what));
        assert.throws(() => createConnection(options), notExact(what));
      });
    }

    it('connectSync, every raw call and Connection.tcpInfo()', async () => {
      assert.throws(() => connectSync(`127.0.0.1:${live.port}`), notExact('connectSync'));
      assert.throws(() => raw.socket(4), notExact('raw.socket'));
      assert.throws(() => raw.connect(0, `127.0.0.1:${live.port}`), notExact('raw.connect'));
      assert.throws(() => raw.poll([{ fd: 0 }], 0), notExact('raw.poll'));
      assert.throws(() => raw.getsockopt(0, 'SO_RCVBUF'), notExact('raw.getsockopt'));
      assert.throws(() => raw.close(0), notExact('raw.close'));
      live.server.removeListener('connection', countAccepts); // this one does connect
      const c = await connect(`127.0.0.1:${live.port}`);
      try {
        assert.throws(() => c.tcpInfo(), notExact('Connection.tcpInfo()'));
      } finally {
        c.close();
      }
    });

    it("bad input still fails as Node fails it, with Node's codes, first", async () => {
      await assert.rejects(connect({ host: '127.0.0.1', port: 70000 }, { wait: 'poll' }), { code: 'ERR_SOCKET_BAD_PORT' });
      // @ts-expect-error: a timeout that is not a number
      await assert.rejects(connect(`127.0.0.1:${live.port}`, { timeout: 'soon' }), { code: 'ERR_INVALID_ARG_TYPE' });
      await assert.rejects(connect(`127.0.0.1:${live.port}`, { keepAlive: { idle: 0 } }), { code: 'ERR_OUT_OF_RANGE' });
      // @ts-expect-error: noDelay is a boolean
      await assert.rejects(connect(`127.0.0.1:${live.port}`, { noDelay: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
    });
  });

  it('every step is a net event or a destroy: no syscall is invented', async () => {
    const outcomes = [await probe(`127.0.0.1:${live.port}`), await probe(`127.0.0.1:${refused}`), await probe(`127.0.0.1:${hole.port}`, { timeout: 50 })];
    for (const o of outcomes) for (const s of o.steps) assert.ok(NET_CALLS.has(s.call), `${o.code}: ${s.call}`);
  });
});
