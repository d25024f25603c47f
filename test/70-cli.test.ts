import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import type { Outcome, Step } from '../dist/lib';
import { main, type Io } from '../dist/lib/cli';
import { loadServices } from '../dist/lib/services';
import { tcpListener, refusedPort, blackHole, unixListener, type TcpListener } from './helpers/listeners';
import { BIN, nbconnect, nbconnectInNamespace, type Ran } from './helpers/command';
import { namespaceBlocker, skipWithout } from './helpers/namespaces';

describe('the nbconnect command', () => {
  let live: TcpListener;
  before(async () => (live = await tcpListener('127.0.0.1')));
  after(() => live.close());

  it('a unix path nobody made exits 3, as refused; a bad NBCONNECT_MODE is one line and exit 2, not a stack trace', () => {
    const missing = spawnSync(process.execPath, [BIN, `unix:/nonexistent-${process.pid}/x.sock`, '--quiet'], { encoding: 'utf8' });
    assert.deepEqual([missing.status, missing.stdout, missing.stderr], [3, '', '']);
    const bad = spawnSync(process.execPath, [BIN, '127.0.0.1:1'], { encoding: 'utf8', env: { ...process.env, NBCONNECT_MODE: 'bogus' } });
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^nbconnect: The environment variable NBCONNECT_MODE must be 'exact' or 'portable'.*Received 'bogus'\n$/);
  });

  it('connects once and prints the trace strace-style, exit 0', async () => {
    const { status, stdout } = await nbconnect(`127.0.0.1:${live.port}`, '--timeout', '2000');
    assert.equal(status, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0], /^\s+[0-9.]+ ms {2}socket\(SOCK_STREAM\|SOCK_CLOEXEC\) = [0-9]+$/);
    assert.ok(
      lines.some((l) => /connect\(\) = -1 EINPROGRESS$/.test(l)),
      stdout,
    );
    assert.ok(
      lines.some((l) => /^\s+[0-9.]+ ms {2}epoll_ctl\(EPOLL_CTL_ADD\) = 0$/.test(l)) && lines.some((l) => /epoll_wait\(\) = 1 \[EPOLLOUT\]$/.test(l)),
      stdout,
    );
    assert.ok(
      lines.some((l) => /getsockopt\(SO_ERROR\) = 0 \(pending error 0\)$/.test(l)),
      stdout,
    );
    assert.match(lines.at(-1)!, /=> OK \(phase: async\)$/);
  });

  it('--sync --wait select: the blocking path and select(2)', async () => {
    const { status, stdout } = await nbconnect(`127.0.0.1:${live.port}`, '--sync', '--wait', 'select');
    assert.equal(status, 0);
    assert.match(stdout, /select\(\) = 1 \[writable\]/);
  });

  it('a refused port: exit 3, and --json prints the Outcome', async () => {
    const port = await refusedPort();
    const { status, stdout } = await nbconnect(`127.0.0.1:${port}`, '--json');
    assert.equal(status, 3);
    const outcome = JSON.parse(stdout);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, 'ECONNREFUSED');
    assert.equal(outcome.errno, -111);
    assert.equal(outcome.target.port, port);
    assert.equal(outcome.steps.find((s: Step) => s.call === 'getsockopt').value, 111);
  });

  it('a deadline against a full queue: ETIMEDOUT, exit 4; AF_UNIX immediate success', async () => {
    const hole = await blackHole('tcp4');
    try {
      const { status, stdout } = await nbconnect(`127.0.0.1:${hole.port}`, '--timeout', '200', '--json');
      assert.equal(status, 4);
      const outcome = JSON.parse(stdout) as { code: string; steps: { call: string; arg?: string }[] };
      assert.equal(outcome.code, 'ETIMEDOUT');
      // A probe reports once its socket is closed: the close ends the trace.
      assert.deepEqual(
        outcome.steps.slice(-2).map((s) => `${s.call} ${s.arg ?? ''}`.trim()),
        ['epoll_ctl EPOLL_CTL_DEL', 'close'],
      );
      const trace = await nbconnect(`127.0.0.1:${hole.port}`, '--timeout', '200');
      assert.equal(trace.status, 4);
      assert.match(trace.stdout, /=> ETIMEDOUT \(phase: timeout\)\n.*epoll_ctl\(EPOLL_CTL_DEL\) = 0\n.*close\(\) = 0\n$/);
    } finally {
      await hole.close();
    }
    const unix = await unixListener();
    try {
      const { status, stdout } = await nbconnect(`unix:${unix.path}`, '--json');
      assert.equal(status, 0);
      assert.equal(JSON.parse(stdout).phase, 'immediate');
    } finally {
      await unix.close();
    }
  });

  it('--local and --syn-count reach the socket', async () => {
    const { status, stdout } = await nbconnect(`127.0.0.1:${live.port}`, '--local', '127.0.0.2:0', '--syn-count', '2', '--json');
    assert.equal(status, 0, stdout);
    const steps = JSON.parse(stdout).steps;
    assert.ok(steps.some((s: Step) => s.call === 'setsockopt' && s.arg === 'TCP_SYNCNT' && s.ret === 0));
    assert.ok(steps.some((s: Step) => s.call === 'bind' && s.ret === 0));
  });

  it('ping: one line per connect with the kernel RTT beside the wall clock, then both min/avg/max/mdev and the loss', async () => {
    const { status, stdout } = await nbconnect('ping', `127.0.0.1:${live.port}`, '-c', '3', '-i', '20');
    assert.equal(status, 0);
    const lines = stdout.trim().split('\n');
    const replies = lines
      .map((l) => /^connected to 127\.0\.0\.1:[0-9]+: seq=[123] time=([0-9.]+) ms kernel rtt=([0-9.]+) ms$/.exec(l))
      .filter((m) => m !== null);
    assert.equal(replies.length, 3, stdout);
    // The kernel's RTT of a loopback handshake is tens of µs, and never more
    // than the wall clock around the whole connect.
    for (const [, time, rtt] of replies) assert.ok(Number(rtt) > 0 && Number(rtt) <= Number(time), `${rtt} vs ${time}`);
    assert.match(stdout, /3 connects, 3 connected, 0 failed, 0\.0% loss/);
    assert.match(stdout, /handshake min\/avg\/max\/mdev = [0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+ ms/);
    assert.match(stdout, /kernel rtt min\/avg\/max\/mdev = [0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+ ms/);

    const port = await refusedPort();
    const down = await nbconnect('ping', `127.0.0.1:${port}`, '-c', '2', '-i', '0');
    // None connected: the class of the last failure, refused.
    assert.equal(down.status, 3);
    assert.match(down.stdout, /ECONNREFUSED from 127\.0\.0\.1:[0-9]+: seq=1/);
    assert.match(down.stdout, /2 connects, 0 connected, 2 failed, 100\.0% loss/);
  });

  describe('scan, read as nmap prints a scan (each range in a network namespace of its own)', () => {
    // The namespace's loopback holds only these listeners, so the ports can
    // be fixed: two accept, 9100 never answers (a full queue), and every
    // other port of the ranges is refused.
    const ours = [8080, 8443];
    const FILTERED = 9100;
    const inNamespace = (...args: string[]) => nbconnectInNamespace([...ours, { blackHole: FILTERED }], 'scan', '127.0.0.1', ...args);
    // What the command should print in the SERVICE column: this machine's
    // /etc/services (lib/services.ts, tested on its own in 69), or nmap's
    // 'unknown' for a port it does not list or where there is no file.
    const names = loadServices();
    const service = (port: number) => names.get(port) ?? 'unknown';
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

    const runs = {} as Record<'table' | 'open' | 'json' | 'jsonOpen' | 'trace', Ran>;
    before(async function () {
      skipWithout(this, namespaceBlocker(), 'network namespaces');
      // The filtered port costs its whole --timeout; the runs go side by side.
      const range = ['8077-8083,8440-8446,9100', '--concurrency', '4', '--timeout', '400'];
      [runs.table, runs.open, runs.json, runs.jsonOpen, runs.trace] = await Promise.all([
        inNamespace(...range),
        inNamespace(...range, '--open'),
        inNamespace('8080,8081,9100', '--timeout', '400', '--json'),
        inNamespace('8080,8081,9100', '--timeout', '400', '--json', '--open'),
        inNamespace('8080,8081,9100', '--timeout', '400', '--json', '--trace'),
      ]);
    });

    it('a line per open and per filtered port (PORT STATE SERVICE REASON), the closed ones counted, the rate in the summary', () => {
      const { status, stdout, stderr } = runs.table;
      assert.equal(status, 0, stdout + stderr);
      const lines = stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'Not shown: 12 closed tcp ports (ECONNREFUSED)', stdout);
      assert.match(lines[1], /^PORT +STATE +SERVICE +REASON$/);
      assert.match(lines[2], new RegExp(`^8080/tcp +open +${escape(service(8080))}$`));
      assert.match(lines[3], new RegExp(`^8443/tcp +open +${escape(service(8443))}$`));
      assert.match(lines[4], new RegExp(`^${FILTERED}/tcp +filtered +${escape(service(FILTERED))} +ETIMEDOUT$`));
      // The columns line up, as nmap's do.
      const stateColumn = lines[1].indexOf('STATE');
      for (const row of lines.slice(2, 5)) assert.match(row.slice(stateColumn), /^(open|filtered) /, row);
      const summary = /^scanned 15 ports on 127\.0\.0\.1 in ([0-9]+) ms \(([0-9]+) ports\/s\): 2 open, 12 closed, 1 filtered, 0 other$/.exec(lines[5]);
      assert.ok(summary, stdout);
      assert.equal(lines.length, 6, stdout);
      // The filtered port waited out its 400 ms; the rate is the ports over that time.
      const [ms, rate] = [Number(summary[1]), Number(summary[2])];
      assert.ok(ms >= 400, `${ms} ms`);
      assert.ok(Math.abs(rate - (15 * 1000) / ms) <= 1, `${rate} ports/s over ${ms} ms`);
    });

    it('--open: only the open ports (no REASON column: they have none), and the summary still counts the rest', () => {
      const { status, stdout, stderr } = runs.open;
      assert.equal(status, 0, stdout + stderr);
      const lines = stdout.trimEnd().split('\n');
      assert.deepEqual(
        lines.slice(0, 3).map((l) => l.split(/ +/).join(' ')),
        ['PORT STATE SERVICE', `8080/tcp open ${service(8080)}`, `8443/tcp open ${service(8443)}`],
        stdout,
      );
      assert.match(lines[3], /^scanned 15 ports on 127\.0\.0\.1 in [0-9]+ ms \([0-9]+ ports\/s\): 2 open, 12 closed, 1 filtered, 0 other$/);
      assert.equal(lines.length, 4, stdout);
    });

    it('--json: one compact line per port, port, state, service, code and ms; --open keeps the open ones', () => {
      const { status, stdout, stderr } = runs.json;
      assert.equal(status, 0, stderr);
      const ports = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .sort((a, b) => (a.port as number) - (b.port as number));
      for (const port of ports) {
        assert.deepEqual(Object.keys(port), ['port', 'state', 'service', 'code', 'ms']);
        assert.equal(typeof port.ms, 'number');
      }
      assert.deepEqual(
        ports.map(({ port, state, service, code }) => ({ port, state, service, code })),
        [
          { port: 8080, state: 'open', service: names.get(8080) ?? null, code: null },
          { port: 8081, state: 'closed', service: names.get(8081) ?? null, code: 'ECONNREFUSED' },
          { port: FILTERED, state: 'filtered', service: names.get(FILTERED) ?? null, code: 'ETIMEDOUT' },
        ],
      );
      assert.ok((ports[2].ms as number) >= 400, `${ports[2].ms as number}`);

      assert.equal(runs.jsonOpen.status, 0, runs.jsonOpen.stderr);
      assert.deepEqual(
        runs.jsonOpen.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { port: number; state: string }).state),
        ['open'],
      );
    });

    it('--json --trace: the whole Outcome of each port, its steps with it', () => {
      const { status, stdout, stderr } = runs.trace;
      assert.equal(status, 0, stderr);
      const outcomes = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Outcome);
      assert.deepEqual(outcomes.map((o) => ('port' in o.target ? o.target.port : NaN)).sort(), [8080, 8081, FILTERED]);
      const byCode = new Map(outcomes.map((o) => [o.code, o]));
      assert.deepEqual([...byCode.keys()].sort(), ['ECONNREFUSED', 'ETIMEDOUT', 'OK']);
      for (const outcome of outcomes)
        assert.ok(
          outcome.steps.some((s: Step) => s.call === 'connect'),
          JSON.stringify(outcome),
        );
      assert.equal(byCode.get('ETIMEDOUT')!.phase, 'timeout');
    });

    it('another errno (an unreachable route: EHOSTUNREACH) is its own state, "other", with its code; more than 25 of one kind are counted, not listed', async function () {
      skipWithout(this, namespaceBlocker(), 'network namespaces');
      // 192.0.2.0/24 is TEST-NET-1; inside this namespace its route refuses, and no interface leads out.
      const script = `ip link set lo up && ip route add unreachable 192.0.2.0/24 && "${process.execPath}" "${BIN}" scan 192.0.2.1 79-81 && "${process.execPath}" "${BIN}" scan 192.0.2.1 1-30`;
      const { status, stdout, stderr } = await new Promise<Ran>((resolve) =>
        execFile('unshare', ['-n', 'sh', '-c', script], { timeout: 20000 }, (error, out, err) =>
          resolve({ status: error ? error.code : 0, stdout: out, stderr: err }),
        ),
      );
      assert.equal(status, 0, stdout + stderr);
      const [few, many] = stdout.split(/(?<=ports\/s\): [^\n]*\n)/);
      assert.match(
        few,
        /^PORT +STATE +SERVICE +REASON\n79\/tcp +other +\S+ +EHOSTUNREACH\n80\/tcp +other +\S+ +EHOSTUNREACH\n81\/tcp +other +\S+ +EHOSTUNREACH\n/,
      );
      assert.match(few, /: 0 open, 0 closed, 0 filtered, 3 other\n$/);
      assert.match(
        many,
        /^Not shown: 30 other tcp ports \(EHOSTUNREACH\)\nscanned 30 ports on 192\.0\.2\.1 in [0-9]+ ms \([0-9]+ ports\/s\): 0 open, 0 closed, 0 filtered, 30 other\n$/,
      );
    });
  });

  it('scan draws a progress bar on stderr only when it is a terminal', async () => {
    for (const tty of [true, false]) {
      const out: string[] = [];
      let err = '';
      const status = await main(['scan', '127.0.0.1', `${live.port}`], { out: (l) => out.push(l), err: (t) => (err += t), tty } satisfies Io);
      assert.equal(status, 0);
      assert.match(out.join('\n'), new RegExp(`^${live.port}/tcp +open `, 'm'));
      if (tty) assert.match(err, /\r\[#{30}\] 1\/1 open 1\n$/);
      else assert.equal(err, '');
    }
  });

  it("--trace: the scan prints each port's step trace before its table; ping each connect's after its line; the plain command its trace as ever", async () => {
    const capture = async (...args: string[]) => {
      const out: string[] = [];
      const status = await main(args, { out: (l) => out.push(l), err: () => {}, tty: false });
      return { status, text: out.join('\n') };
    };
    const scanned = await capture('scan', '127.0.0.1', `${live.port}`, '--trace');
    assert.equal(scanned.status, 0);
    assert.match(
      scanned.text,
      new RegExp(`^127\\.0\\.0\\.1:${live.port}\n(\\s+[0-9.]+ ms {2}.*\n)*\\s+[0-9.]+ ms {2}=> OK \\(phase: async\\)\n`),
      scanned.text,
    );
    assert.match(scanned.text, /connect\(\) = -1 EINPROGRESS/);
    assert.match(scanned.text, new RegExp(`^${live.port}/tcp +open `, 'm'));

    const pinged = await capture('ping', `127.0.0.1:${live.port}`, '-c', '2', '-i', '0', '--trace');
    assert.equal(pinged.status, 0);
    assert.match(
      pinged.text,
      /^connected to 127\.0\.0\.1:[0-9]+: seq=1 .*\n(\s+[0-9.]+ ms {2}.*\n)*\s+[0-9.]+ ms {2}=> OK \(phase: async\)\nconnected to 127\.0\.0\.1:[0-9]+: seq=2 /,
    );

    const plain = await capture(`127.0.0.1:${live.port}`, '--trace');
    assert.equal(plain.status, 0);
    assert.match(plain.text, /^\s+[0-9.]+ ms {2}socket\(/);
    assert.match(plain.text, /=> OK \(phase: async\)$/);
  });

  it('bad arguments: a one-line reason and the usage on stderr, exit 2, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [[], /missing <target>/],
      [['nowhere'], /must be 'host:port'/],
      [['127.0.0.1:99999'], /port should be >= 0 and < 65536/],
      [['127.0.0.1:80', '--wait', 'kqueue'], /--wait must be epoll, poll or select, not 'kqueue'/],
      [['127.0.0.1:80', '--timeout', '-5'], /--timeout|Option '--timeout/],
      [['127.0.0.1:80', '--confirm', 'guess'], /options\.confirm/],
      [['127.0.0.1:80', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['ping', '127.0.0.1:80', '-c', '0'], /-c must be an integer from 1/],
      [['scan', '127.0.0.1', '80-70'], /port range '80-70'/],
      [['scan', '127.0.0.1', 'http'], /<ports> takes numbers/],
      [['scan', '127.0.0.1'], /scan takes <host> <ports>/],
    ];
    for (const [args, reason] of cases) {
      const { status, stdout, stderr } = await nbconnect(...args);
      assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
      assert.equal(stdout, '');
      const [first, second] = stderr.split('\n');
      assert.match(first, /^nbconnect: /);
      assert.match(first, reason, args.join(' '));
      assert.equal(second, 'usage:');
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
