// waitFor: attempts until every target is up (or down), under one overall
// deadline, and says why when it gives up.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { waitFor, WaitTimeoutError, WAIT_DEFAULTS, type WaitOutcome, type WaitAttempt } from '../dist/lib';
import { blackHole, fdCount, pythonPeer, refusedPort, settleFds, tcpListener, tempSocketPath, testCertificate, unixListener } from './helpers/listeners';
import { mountNamespaceBlocker, skipWithout } from './helpers/namespaces';
import { random } from './helpers/random';

type Timeout = WaitTimeoutError & { targets: { code: string | undefined; attempts: number; ready: boolean; outcome?: WaitOutcome }[] };

async function timedOut(promise: Promise<unknown>): Promise<Timeout> {
  const err = await promise.then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WaitTimeoutError, String(err));
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.name, 'WaitTimeoutError');
  return err;
}

/** Listens on `port` after `delay` ms: a service coming up. */
function listenLater(port: number, delay: number, host = '127.0.0.1'): { started: Promise<number>; close(): Promise<void> } {
  const server = net.createServer((s) => s.destroy());
  const started = new Promise<number>((resolve, reject) => {
    setTimeout(() => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(performance.now()));
    }, delay);
  });
  return { started, close: () => new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve())) };
}

/** An HTTP server whose answers are `statuses`, the last one repeated. */
async function httpServer(statuses: number[], tlsOptions?: https.ServerOptions) {
  let served = 0;
  const answer: http.RequestListener = (_req, res) => {
    res.statusCode = statuses[Math.min(served++, statuses.length - 1)];
    res.end('body');
  };
  const server = tlsOptions ? https.createServer(tlsOptions, answer) : http.createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, served: () => served, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('waitFor', function () {
  this.timeout(30000);
  let baseline: number;
  // The first connect opens the epoll engine's own fds, which stay for the process.
  before(async () => {
    const port = await refusedPort();
    await waitFor(`127.0.0.1:${port}`, { timeout: 100 }).catch(() => undefined);
  });
  beforeEach(() => (baseline = fdCount()));
  afterEach(async () => assert.equal(await settleFds(baseline), baseline, 'fds back to where they were'));

  it('resolves at once for a live listener, with the attempts, when it was ready and the deciding Outcome', async () => {
    const live = await tcpListener();
    try {
      const result = await waitFor(`127.0.0.1:${live.port}`);
      assert.equal(result.targets.length, 1);
      const [ready] = result.targets;
      assert.equal(ready.target, `127.0.0.1:${live.port}`);
      assert.equal(ready.attempts, 1);
      assert.equal(ready.outcome.ok, true);
      assert.equal(ready.outcome.code, 'OK');
      assert.equal(ready.outcome.steps.at(-1)!.call, 'close');
      assert.ok(ready.readyAt >= 0 && ready.readyAt <= result.elapsed);
    } finally {
      await live.close();
    }
  });

  it('sees a service that comes up after a random 0.5-2 s, within interval and a generous margin', async () => {
    const seed = Date.now() % 100000;
    const next = random(seed);
    for (const delay of [500 + 1500 * next(), 500 + 1500 * next()]) {
      const port = await refusedPort();
      const service = listenLater(port, delay);
      const attempts: WaitAttempt[] = [];
      try {
        const result = await waitFor({ host: '127.0.0.1', port }, { timeout: 10000, interval: 100, onAttempt: (_o, a) => attempts.push(a) });
        const up = await service.started;
        const [ready] = result.targets;
        assert.ok(ready.attempts > 1, `${ready.attempts} attempts`);
        assert.equal(attempts.length, ready.attempts);
        assert.deepEqual(
          attempts.map((a) => [a.attempt, a.index]),
          attempts.map((_, i) => [i + 1, 0]),
        );
        // Seen after it came up; generous: interval 100 ms plus 900 ms of slack for a loaded machine.
        const seenAfter = performance.now() - (result.elapsed - ready.readyAt) - up;
        assert.ok(seenAfter < 1000, `seen ${seenAfter} ms after it listened (delay ${delay}, seed ${seed})`);
      } finally {
        await service.close();
      }
    }
  });

  for (const attemptTimeout of [300, 5000]) {
    it(`the overall deadline holds against a black hole, attemptTimeout ${attemptTimeout} (${attemptTimeout < 1000 ? 'smaller' : 'larger'} than what remains)`, async () => {
      const hole = await blackHole('tcp4');
      try {
        const started = performance.now();
        const err = await timedOut(waitFor(`127.0.0.1:${hole.port}`, { timeout: 1000, attemptTimeout, interval: 50 }));
        const took = performance.now() - started;
        assert.ok(took >= 999 && took < 2500, `settled after ${took} ms`);
        assert.equal(err.timeout, 1000);
        const [entry] = err.targets;
        assert.equal(entry.ready, false);
        assert.equal(entry.code, 'ETIMEDOUT');
        assert.equal(entry.outcome!.phase, 'timeout');
        // 300 ms attempts, 50 ms apart: at least two fit in a second; a 5 s one is clipped to the one second.
        if (attemptTimeout < 1000) assert.ok(entry.attempts >= 2, `${entry.attempts} attempts`);
        else assert.equal(entry.attempts, 1);
        assert.match(err.message, new RegExp(`^127\\.0\\.0\\.1:${hole.port} not up after 1000 ms: last attempt ETIMEDOUT \\(\\d+ attempts?\\)$`));
      } finally {
        await hole.close();
      }
    });
  }

  it('the overall deadline is not pushed back by the interval (a long interval against a black hole)', async () => {
    const hole = await blackHole('tcp4');
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await timedOut(waitFor(`127.0.0.1:${hole.port}`, { timeout: 500, interval: 5000 }));
        const took = performance.now() - started;
        // Generous, and still far below 500 + the 5000 ms interval.
        assert.ok(took >= 499 && took < 2500, `settled after ${took} ms`);
      }
    } finally {
      await hole.close();
    }
  });

  it('a refused port: the error names ECONNREFUSED and counts the attempts', async () => {
    const port = await refusedPort();
    const err = await timedOut(waitFor(`127.0.0.1:${port}`, { timeout: 400, interval: 50 }));
    assert.equal(err.targets[0].code, 'ECONNREFUSED');
    assert.equal(err.targets[0].outcome!.errno, -111);
    assert.ok(err.targets[0].attempts >= 3, `${err.targets[0].attempts} attempts`);
    assert.match(err.message, /not up after 400 ms: last attempt ECONNREFUSED \(\d+ attempts\)$/);
  });

  it('reverse: resolves once every target is down, and times out while one stays up', async () => {
    const live = await tcpListener();
    const port = live.port;
    setTimeout(() => void live.close(), 300);
    const result = await waitFor([`127.0.0.1:${port}`, `127.0.0.1:${await refusedPort()}`], { reverse: true, timeout: 5000, interval: 50 });
    assert.deepEqual(
      result.targets.map((t) => t.outcome.code),
      ['ECONNREFUSED', 'ECONNREFUSED'],
    );
    assert.ok(result.targets[0].attempts > 1);
    assert.equal(result.targets[1].attempts, 1);

    const still = await tcpListener();
    try {
      const err = await timedOut(waitFor(`127.0.0.1:${still.port}`, { reverse: true, timeout: 300, interval: 50 }));
      assert.equal(err.reverse, true);
      assert.match(err.message, /still up after 300 ms: last attempt OK/);
    } finally {
      await still.close();
    }
  });

  it('reverse: a live server whose hold the overall deadline cuts is not down (a cut attempt is no verdict)', async () => {
    const live = await tcpListener();
    try {
      const started = performance.now();
      const err = await timedOut(waitFor(`127.0.0.1:${live.port}`, { reverse: true, hold: 2000, timeout: 400, attemptTimeout: 100 }));
      assert.equal(err.reverse, true);
      assert.equal(err.targets[0].ready, false);
      assert.ok(performance.now() - started < 400 + 1500);
    } finally {
      await live.close();
    }
  });

  it('a header the request would refuse is refused before any connect, and no socket is left', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end());
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    try {
      for (const [headers, code] of [
        [{ 'x-a': 'b\nc' }, 'ERR_INVALID_CHAR'],
        [{ 'bad name': 'x' }, 'ERR_INVALID_HTTP_TOKEN'],
      ] as const) {
        const err = (await waitFor(url, { headers, timeout: 2000 }).then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        )) as Error & { code: string };
        assert.equal(err.code, code, err.message);
      }
      assert.equal(connections, 0, 'a connect was made before the headers were checked');
    } finally {
      server.close();
    }
  });

  it('several targets at once: resolves when the last is up; the error names only those not up', async () => {
    const a = await tcpListener();
    const b = await unixListener();
    const port = await refusedPort();
    const later = listenLater(port, 300);
    try {
      const result = await waitFor([`127.0.0.1:${a.port}`, `unix:${b.path}`, { host: '127.0.0.1', port }], { interval: 50, timeout: 5000 });
      assert.deepEqual(
        result.targets.map((t) => t.outcome.ok),
        [true, true, true],
      );
      assert.equal(result.targets[1].target, `unix:${b.path}`);
      assert.ok(result.targets[2].attempts > 1);
      const refused = await refusedPort();
      const err = await timedOut(waitFor([`127.0.0.1:${a.port}`, `127.0.0.1:${refused}`], { timeout: 300 }));
      assert.deepEqual(
        err.targets.map((t) => [t.ready, t.code]),
        [
          [true, 'OK'],
          [false, 'ECONNREFUSED'],
        ],
      );
      assert.ok(!err.message.includes(`:${a.port} `), err.message);
    } finally {
      await Promise.all([a.close(), b.close(), later.close()]);
    }
  });

  it('unix paths and abstract names, as strings and { path }', async () => {
    const file = await unixListener();
    const name = `nbconnect-wait-${process.pid}`;
    // Not net.Server: libuv pads an abstract name to all of sun_path; python
    // binds the exact name. It accepts from its backlog, never reads.
    const abstract = spawn(
      'python3',
      ['-c', "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind('\\0'+sys.argv[1])\ns.listen(64)\nprint('ready',flush=True)\nsys.stdin.read()", name],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise((resolve, reject) => {
        abstract.once('error', reject);
        abstract.stdout.once('data', resolve);
      });
      const result = await waitFor([`unix:${file.path}`, { path: file.path }, `unix:@${name}`, { path: `\0${name}` }], { timeout: 5000 });
      assert.deepEqual(
        result.targets.map((t) => [t.target, t.outcome.code]),
        [
          [`unix:${file.path}`, 'OK'],
          [`unix:${file.path}`, 'OK'],
          [`unix:@${name}`, 'OK'],
          [`unix:@${name}`, 'OK'],
        ],
      );
      const missing = tempSocketPath();
      const err = await timedOut(waitFor([`unix:${missing}`, `unix:@${name}-none`], { timeout: 300 }));
      assert.deepEqual(
        err.targets.map((t) => t.code),
        ['ENOENT', 'ECONNREFUSED'],
      );
    } finally {
      const exited = new Promise((resolve) => abstract.once('exit', resolve));
      abstract.stdin.end();
      await exited;
      await file.close();
    }
  });

  it('hold: a listener that accepts and resets at once is not up; one that keeps the connection is', async () => {
    const reset = await pythonPeer('reset4');
    const live = await tcpListener();
    try {
      const err = await timedOut(waitFor(`127.0.0.1:${reset.port}`, { hold: 200, timeout: 1000, interval: 50 }));
      const [entry] = err.targets;
      assert.equal(entry.code, 'ECONNRESET');
      assert.equal(entry.outcome!.ok, false);
      // The RST may come before the connect's own verdict (then there is no hold to measure) or during the hold.
      assert.ok(entry.outcome!.held === undefined || entry.outcome!.held < 200, `held ${entry.outcome!.held}`);
      // Without hold, a peer that resets after the handshake counts as up:
      // the connect succeeded. Its reset comes 100 ms after the accept here:
      // the peer above, resetting at once, can win the race with the
      // connect's own verdict (SO_ERROR then says ECONNRESET, rightly), and
      // a CI run under load saw it win eight times in a row.
      const late = await tcpListener('127.0.0.1', (s) => {
        s.on('error', () => {});
        setTimeout(() => s.resetAndDestroy(), 100);
      });
      try {
        const plain = await waitFor(`127.0.0.1:${late.port}`, { timeout: 2000 });
        assert.equal(plain.targets[0].outcome.code, 'OK');
      } finally {
        await late.close();
      }

      const held = await waitFor(`127.0.0.1:${live.port}`, { hold: 200, timeout: 5000 });
      assert.equal(held.targets[0].outcome.ok, true);
      assert.equal(held.targets[0].outcome.held, 200);
      assert.ok(held.elapsed >= 199, `elapsed ${held.elapsed}`);
    } finally {
      await Promise.all([reset.close(), live.close()]);
    }
  });

  it('hold: a server that closes at once (FIN) is not up: EOF', async () => {
    const closing = await tcpListener('127.0.0.1', (s) => s.end());
    try {
      const err = await timedOut(waitFor(`127.0.0.1:${closing.port}`, { hold: 300, timeout: 800, interval: 50 }));
      assert.equal(err.targets[0].code, 'EOF');
    } finally {
      await closing.close();
    }
  });

  it('an http target answering 503 then 200 is up at the 200; a 404 forever names 404', async () => {
    const flaky = await httpServer([503, 503, 200]);
    const missing = await httpServer([404]);
    try {
      const codes: string[] = [];
      const result = await waitFor(`http://127.0.0.1:${flaky.port}/health?x=1`, { interval: 50, timeout: 5000, onAttempt: (o) => codes.push(o.code) });
      assert.deepEqual(codes, ['HTTP 503', 'HTTP 503', 'OK']);
      assert.equal(result.targets[0].outcome.status, 200);
      assert.equal(result.targets[0].attempts, 3);
      assert.ok(result.targets[0].outcome.steps.some((s) => s.call === 'connect'));

      const err = await timedOut(waitFor(new URL(`http://127.0.0.1:${missing.port}/`), { interval: 50, timeout: 1500 }));
      assert.equal(err.targets[0].code, 'HTTP 404');
      assert.equal(err.targets[0].outcome!.status, 404);
      assert.match(err.message, /last attempt HTTP 404/);
      // status takes the codes to accept: 404 is up when asked for.
      const ok = await waitFor(`http://127.0.0.1:${missing.port}/`, { status: [404, [200, 204]], method: 'HEAD', headers: { 'x-probe': '1' } });
      assert.equal(ok.targets[0].outcome.status, 404);
    } finally {
      await Promise.all([flaky.close(), missing.close()]);
    }
  });

  it('an attempt cut short by the deadline does not hide the verdict before it', async () => {
    // 404 at once, then requests that are never answered.
    let served = 0;
    const server = http.createServer((_req, res) => {
      if (served++ === 0) {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const err = await timedOut(waitFor(`http://127.0.0.1:${port}/`, { timeout: 800, attemptTimeout: 5000, interval: 10 }));
      assert.equal(served, 2, 'a second request was in flight at the deadline');
      assert.equal(err.targets[0].code, 'HTTP 404');
      assert.equal(err.targets[0].attempts, 1);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an http target whose connect is refused or black-holed carries the connect code', async () => {
    const port = await refusedPort();
    const refused = await timedOut(waitFor(`http://127.0.0.1:${port}/`, { timeout: 300 }));
    assert.equal(refused.targets[0].code, 'ECONNREFUSED');
    const hole = await blackHole('tcp4');
    try {
      const err = await timedOut(waitFor(`http://127.0.0.1:${hole.port}/`, { timeout: 600, attemptTimeout: 200, interval: 10 }));
      assert.equal(err.targets[0].code, 'ETIMEDOUT');
    } finally {
      await hole.close();
    }
  });

  it('an http server that accepts and never answers: the request counts against the attempt deadline', async () => {
    const silent = await tcpListener('127.0.0.1', (s) => s.resume());
    try {
      const started = performance.now();
      const err = await timedOut(waitFor(`http://127.0.0.1:${silent.port}/`, { timeout: 700, attemptTimeout: 200, interval: 10 }));
      assert.ok(performance.now() - started < 3000);
      assert.equal(err.targets[0].code, 'ETIMEDOUT');
      // The connect itself succeeded: its trace says so.
      assert.ok(err.targets[0].outcome!.steps.some((s) => s.call === 'getsockopt'));
      assert.ok(err.targets[0].attempts >= 2, `${err.targets[0].attempts} attempts`);
    } finally {
      await silent.close();
    }
  });

  it('https with a self-signed certificate: refused by default, up with rejectUnauthorized: false', async () => {
    const server = await httpServer([200], testCertificate());
    try {
      const err = await timedOut(waitFor(`https://127.0.0.1:${server.port}/`, { timeout: 2000, interval: 50 }));
      assert.match(err.targets[0].code!, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      const result = await waitFor(`https://127.0.0.1:${server.port}/`, { rejectUnauthorized: false, timeout: 5000 });
      assert.equal(result.targets[0].outcome.status, 200);
    } finally {
      await server.close();
    }
  });

  it('an abort rejects at once with the AbortError, its reason as cause, and closes the sockets', async () => {
    const hole = await blackHole('tcp4');
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stop waiting')), 150);
      const started = performance.now();
      const err = (await waitFor(`127.0.0.1:${hole.port}`, { signal: controller.signal, timeout: 10000 }).catch((e: unknown) => e)) as Error & {
        code: string;
        cause: Error;
      };
      assert.ok(performance.now() - started < 2000);
      assert.equal(err.name, 'AbortError');
      assert.equal(err.code, 'ABORT_ERR');
      assert.equal(err.cause.message, 'stop waiting');
      const already = (await waitFor(`127.0.0.1:${hole.port}`, { signal: AbortSignal.abort() }).catch((e: unknown) => e)) as Error & { code: string };
      assert.equal(already.code, 'ABORT_ERR');
    } finally {
      await hole.close();
    }
  });

  it('a throw from onAttempt ends the wait with that error', async () => {
    const port = await refusedPort();
    const err = await waitFor(`127.0.0.1:${port}`, {
      onAttempt: () => {
        throw new Error('seen enough');
      },
    }).then(
      () => assert.fail('resolved'),
      (e: Error) => e,
    );
    assert.equal(err.message, 'seen enough');
  });

  it('documents its defaults', () => {
    assert.deepEqual({ ...WAIT_DEFAULTS }, { timeout: 60000, attemptTimeout: 2000, interval: 250 });
  });

  describe('bad input: Node ERR_* before any connect', () => {
    const cases: [string, () => Promise<unknown>, string][] = [
      // @ts-expect-error no target
      ['no target', () => waitFor(), 'ERR_MISSING_ARGS'],
      ['an empty list', () => waitFor([]), 'ERR_MISSING_ARGS'],
      ['a bad URL', () => waitFor('http://exa mple.com:80/'), 'ERR_INVALID_ARG_VALUE'],
      ['an ftp URL', () => waitFor('ftp://127.0.0.1/'), 'ERR_INVALID_ARG_VALUE'],
      ['a bad string', () => waitFor('127.0.0.1'), 'ERR_INVALID_ARG_VALUE'],
      ['a bad port', () => waitFor({ host: '127.0.0.1', port: 70000 }), 'ERR_SOCKET_BAD_PORT'],
      ['a negative interval', () => waitFor('127.0.0.1:1', { interval: -1 }), 'ERR_OUT_OF_RANGE'],
      ['a NaN timeout', () => waitFor('127.0.0.1:1', { timeout: NaN }), 'ERR_OUT_OF_RANGE'],
      ['attemptTimeout 0', () => waitFor('127.0.0.1:1', { attemptTimeout: 0 }), 'ERR_OUT_OF_RANGE'],
      // @ts-expect-error reverse is a boolean
      ['reverse as a string', () => waitFor('127.0.0.1:1', { reverse: 'yes' }), 'ERR_INVALID_ARG_TYPE'],
      // @ts-expect-error a per-target timeout is not taken
      ['a connect timeout on a target', () => waitFor({ host: '127.0.0.1', port: 1, timeout: 100 }), 'ERR_INVALID_ARG_VALUE'],
      ['a status out of range', () => waitFor('http://127.0.0.1:1/', { status: [700] }), 'ERR_OUT_OF_RANGE'],
      ['a method with a space', () => waitFor('http://127.0.0.1:1/', { method: 'GET X' }), 'ERR_INVALID_ARG_VALUE'],
      // @ts-expect-error onAttempt is a function
      ['onAttempt not a function', () => waitFor('127.0.0.1:1', { onAttempt: 1 }), 'ERR_INVALID_ARG_TYPE'],
      ['a TCP option on a unix target', () => waitFor('unix:/tmp/x.sock', { noDelay: true }), 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [what, call, code] of cases)
      it(what, async () => {
        const err = (await call().then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        )) as Error & { code: string };
        assert.equal(err.code, code, err.message);
      });

    it('the timeout hint names attemptTimeout', async () => {
      // @ts-expect-error a per-target timeout is not taken
      const err = (await waitFor({ host: '127.0.0.1', port: 1, timeout: 100 }).catch((e: unknown) => e)) as Error;
      assert.ok(err instanceof Error);
      assert.match(err.message, /options\.attemptTimeout/);
    });
  });

  it('localhost answering ::1 first, the server on 127.0.0.1 only: up at the first attempt (private mount namespace)', function () {
    skipWithout(this, mountNamespaceBlocker(), 'mount namespaces');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-hosts-'));
    const hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, '::1 localhost\n127.0.0.1 localhost\n');
    try {
      const fixture = path.join(__dirname, 'fixtures', 'wait-localhost.js');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "${hosts}" /etc/hosts && exec "${process.execPath}" "${fixture}"`], {
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { api: unknown; single: string; cli: { status: number; last: Record<string, unknown> } };
      assert.deepEqual(report.api, { attempts: 1, address: '127.0.0.1', raced: ['ECONNREFUSED ::1', 'OK 127.0.0.1'] });
      assert.equal(report.single, 'ECONNREFUSED');
      assert.equal(report.cli.status, 0);
      assert.equal(report.cli.last.ready, true);
      assert.equal(report.cli.last.attempts, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
