import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Outcome, Step } from '../dist/lib';
import { main, type Io } from '../dist/lib/cli';
import { tcpListener, refusedPort, blackHole, unixListener, type TcpListener } from './helpers/listeners';
import { BIN, nbconnect, nbconnectInNamespace } from './helpers/command';
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
      assert.equal(JSON.parse(stdout).code, 'ETIMEDOUT');
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

  it('scan: a range with known open ports, the summary, and --json lines (in a network namespace of its own)', async function () {
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    // The namespace's loopback holds only these two listeners, so the ports
    // can be fixed and every other port of the range is refused.
    const ours = [8080, 8443];
    // A window around each listener's port.
    const [windowed, json] = await Promise.all([
      nbconnectInNamespace(ours, 'scan', '127.0.0.1', '8077-8083,8440-8446', '--concurrency', '4', '--timeout', '2000'),
      nbconnectInNamespace(ours, 'scan', '127.0.0.1', '8080,8443', '--json'),
    ]);
    assert.equal(windowed.status, 0, windowed.stdout + windowed.stderr);
    assert.match(windowed.stdout, /^scanned 14 ports on 127\.0\.0\.1 in [0-9]+ ms$/m);
    assert.match(windowed.stdout, /^ {2}open {10}2\n {2}refused {6}12\n {2}timeout {7}0\n {2}other {9}0$/m);
    assert.match(windowed.stdout, /^open ports: 8080, 8443$/m);

    assert.equal(json.status, 0, json.stderr);
    const outcomes = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Outcome);
    assert.deepEqual(
      outcomes.map((o) => o.code),
      ['OK', 'OK'],
    );
    assert.deepEqual(outcomes.map((o) => ('port' in o.target ? o.target.port : NaN)).sort(), ours);
  });

  it('scan draws a progress bar on stderr only when it is a terminal', async () => {
    for (const tty of [true, false]) {
      const out: string[] = [];
      let err = '';
      const status = await main(['scan', '127.0.0.1', `${live.port}`], { out: (l) => out.push(l), err: (t) => (err += t), tty } satisfies Io);
      assert.equal(status, 0);
      assert.match(out.join('\n'), /open ports: [0-9]+/);
      if (tty) assert.match(err, /\r\[#{30}\] 1\/1 open 1\n$/);
      else assert.equal(err, '');
    }
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
