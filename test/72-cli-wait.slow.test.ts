// The command as a health check (a default deadline, the reason on stderr,
// one exit status per class of failure) and `nbconnect wait`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { main, type Io } from '../dist/lib/cli';
import { BIN, nbconnect } from './helpers/command';
import { blackHole, refusedPort, tcpListener, testCertificate } from './helpers/listeners';
import { mountNamespaceBlocker, namespaceBlocker, skipWithout } from './helpers/namespaces';

/** main() with its output captured. */
async function run(argv: string[], tty = false) {
  const out: string[] = [];
  let err = '';
  const status = await main(argv, { out: (l) => out.push(l), err: (t) => (err += t), tty } satisfies Io);
  return { status, out, err };
}

/** A shell line inside a fresh network namespace (and, with `mounts`, a private mount namespace): its status and output. */
function inNamespace(script: string, mounts = false) {
  const r = spawnSync('unshare', [...(mounts ? ['-n', '-m'] : ['-n']), 'sh', '-c', script], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the command as a health check', function () {
  this.timeout(30000);

  it('refused: exit 3, the trace on stdout, one line naming the code and the address on stderr; --quiet prints nothing', async () => {
    const port = await refusedPort();
    const r = await nbconnect(`127.0.0.1:${port}`);
    assert.equal(r.status, 3);
    assert.match(r.stdout, /=> ECONNREFUSED \(phase: async\)/);
    assert.equal(r.stderr, `nbconnect: ECONNREFUSED 127.0.0.1:${port}\n`);
    const quiet = await nbconnect(`127.0.0.1:${port}`, '--quiet');
    assert.deepEqual([quiet.status, quiet.stdout, quiet.stderr], [3, '', '']);
    const ok = await tcpListener();
    try {
      const up = await nbconnect(`127.0.0.1:${ok.port}`, '-q');
      assert.deepEqual([up.status, up.stdout, up.stderr], [0, '', '']);
    } finally {
      await ok.close();
    }
  });

  it('a black hole with no --timeout: the default deadline (5000 ms, stated in --help), exit 4', async () => {
    const help = await nbconnect('--help');
    assert.match(help.stdout, /--timeout: the connect's deadline, default 5000 ms/);
    assert.match(help.stdout, /3 refused \(a unix path: no listener\), 4 timed out, 5 unreachable .* 6 name not resolved/);
    const hole = await blackHole('tcp4');
    try {
      const started = performance.now();
      const r = await nbconnect(`127.0.0.1:${hole.port}`);
      const took = performance.now() - started;
      assert.equal(r.status, 4, r.stderr);
      assert.ok(took >= 4900 && took < 20000, `took ${took} ms`);
      assert.equal(r.stderr, `nbconnect: ETIMEDOUT 127.0.0.1:${hole.port} (no verdict within 5000 ms)\n`);
    } finally {
      await hole.close();
    }
  });

  it('unreachable: an unreachable route (EHOSTUNREACH) and a prohibit route (EACCES at connect) exit 5, inside a namespace', function () {
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    // 192.0.2.0/24 is TEST-NET-1; inside this namespace it has a route that refuses, and no interface leads out.
    const r = inNamespace(
      'ip link set lo up && ip route add unreachable 192.0.2.0/25 && ip route add prohibit 192.0.2.128/25 && ' +
        `"${process.execPath}" "${BIN}" 192.0.2.1:80; echo "status $?"; "${process.execPath}" "${BIN}" 192.0.2.129:80; echo "status $?"`,
    );
    assert.match(r.stdout, /=> EHOSTUNREACH[^]*status 5\n[^]*=> EACCES[^]*status 5\n$/, r.stdout + r.stderr);
    assert.match(r.stderr, /^nbconnect: EHOSTUNREACH 192\.0\.2\.1:80\nnbconnect: EACCES 192\.0\.2\.129:80\n$/);
  });

  it('a name that does not resolve: exit 6, in a namespace with its own hosts and resolv.conf (no query leaves the machine)', function () {
    skipWithout(this, namespaceBlocker() ?? mountNamespaceBlocker(), 'network and mount namespaces');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-resolv-'));
    try {
      fs.writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
      // The namespace's only nameserver is its own loopback, where nothing listens.
      fs.writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
      // files and dns only: no NSS module (systemd-resolved over D-Bus, mdns) that could ask outside the namespace.
      fs.writeFileSync(path.join(dir, 'nsswitch.conf'), 'hosts: files dns\n');
      const r = inNamespace(
        `mount --bind "${dir}/hosts" /etc/hosts && mount --bind "${dir}/resolv.conf" /etc/resolv.conf && ` +
          `mount --bind "${dir}/nsswitch.conf" /etc/nsswitch.conf && ip link set lo up && ` +
          `"${process.execPath}" "${BIN}" no-such-host.invalid:80; echo "status $?"`,
        true,
      );
      assert.match(r.stdout, /status 6\n$/, r.stdout + r.stderr);
      assert.match(r.stderr, /^nbconnect: (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid:80\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nbconnect wait', function () {
  this.timeout(30000);

  it('a service that comes up: exit 0 and a line per target; not a terminal: a line when the reason changes', async () => {
    const port = await refusedPort();
    const server = net.createServer((s) => s.destroy());
    try {
      // The service comes up once the command has said it is refused, however
      // slow the machine (a sanitizer build) makes the command's start.
      const child = spawn(process.execPath, [BIN, 'wait', `127.0.0.1:${port}`, '--interval', '50', '--timeout', '10000'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += String(d);
        if (!server.listening && stderr.includes('ECONNREFUSED')) server.listen(port, '127.0.0.1');
      });
      const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const r = { status, stderr };
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.match(lines[0], new RegExp(`^127\\.0\\.0\\.1:${port}: ECONNREFUSED \\(attempt 1, 0\\.0 s\\)$`));
      assert.match(lines.at(-1)!, new RegExp(`^127\\.0\\.0\\.1:${port} up after \\d+ ms \\(\\d+ attempts\\)$`));
      assert.equal(lines.length, 2, r.stderr);
    } finally {
      server.close();
    }
  });

  it('the deadline passes: exit 4, as the plain command times out, with the reason; --quiet prints nothing', async () => {
    const port = await refusedPort();
    const r = await nbconnect('wait', `127.0.0.1:${port}`, '--timeout', '300');
    assert.equal(r.status, 4);
    assert.match(r.stderr, new RegExp(`nbconnect: 127\\.0\\.0\\.1:${port} not up after 300 ms: last attempt ECONNREFUSED \\(\\d+ attempts?\\)\\n$`));
    const quiet = await nbconnect('wait', `127.0.0.1:${port}`, '--timeout', '300', '--quiet');
    assert.deepEqual([quiet.status, quiet.stdout, quiet.stderr], [4, '', '']);
  });

  it('--json: one line per attempt and one per result on stdout', async () => {
    const live = await tcpListener();
    const port = await refusedPort();
    try {
      const r = await run(['wait', `127.0.0.1:${live.port}`, `127.0.0.1:${port}`, '--timeout', '300', '--interval', '100', '--json']);
      assert.equal(r.status, 4);
      assert.equal(r.err, '');
      const lines = r.out.map((l) => JSON.parse(l) as { type: string; target: string; ready?: boolean; code?: string; outcome?: { code: string } });
      const results = lines.filter((l) => l.type === 'result');
      assert.deepEqual(
        results.map((l) => [l.target, l.ready, l.code]),
        [
          [`127.0.0.1:${live.port}`, true, 'OK'],
          [`127.0.0.1:${port}`, false, 'ECONNREFUSED'],
        ],
      );
      const attempts = lines.filter((l) => l.type === 'attempt');
      assert.ok(attempts.length >= 3);
      assert.ok(attempts.every((a) => a.outcome!.code === (a.target === `127.0.0.1:${port}` ? 'ECONNREFUSED' : 'OK')));
    } finally {
      await live.close();
    }
  });

  it('on a terminal: one live line per target on stderr, redrawn in place', async () => {
    const live = await tcpListener();
    const port = await refusedPort();
    try {
      const r = await run(['wait', `127.0.0.1:${live.port}`, `127.0.0.1:${port}`, '--timeout', '500', '--interval', '100'], true);
      assert.equal(r.status, 4);
      assert.ok(r.err.includes('\x1b[2A'), 'moves up over both lines');
      assert.match(r.err, new RegExp(`\\r\\x1b\\[2K127\\.0\\.0\\.1:${live.port} {2}up {2}\\(1 attempt, [0-9.]+ s\\)\\n`));
      assert.match(r.err, new RegExp(`\\r\\x1b\\[2K127\\.0\\.0\\.1:${port} {2}last ECONNREFUSED {2}\\(\\d+ attempts, [0-9.]+ s\\)\\n`));
      assert.match(r.err, /not up after 500 ms: last attempt ECONNREFUSED/);
    } finally {
      await live.close();
    }
  });

  it('-- command: runs once every target is up, with its exit status; not at all on timeout', async () => {
    const live = await tcpListener();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-wait-'));
    const marks = path.join(dir, 'ran');
    try {
      const r = await nbconnect('wait', `127.0.0.1:${live.port}`, '--quiet', '--', 'sh', '-c', `echo ran >> "${marks}"; echo out; exit 7`);
      assert.equal(r.status, 7);
      assert.equal(r.stdout, 'out\n');
      assert.equal(fs.readFileSync(marks, 'utf8'), 'ran\n');
      const port = await refusedPort();
      const never = await nbconnect('wait', `127.0.0.1:${port}`, '--timeout', '200', '--', 'sh', '-c', `echo ran >> "${marks}"`);
      assert.equal(never.status, 4);
      assert.equal(fs.readFileSync(marks, 'utf8'), 'ran\n', 'not run after the timeout');
      const missing = await nbconnect('wait', `127.0.0.1:${live.port}`, '--quiet', '--', path.join(dir, 'no-such-command'));
      assert.equal(missing.status, 127);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await live.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`-- command: ${signal} is forwarded to the command, and its status is the exit status`, async () => {
      const live = await tcpListener();
      try {
        const child = spawn(
          process.execPath,
          [
            BIN,
            'wait',
            `127.0.0.1:${live.port}`,
            '--quiet',
            '--',
            'sh',
            '-c',
            `trap 'echo got ${signal}; exit 42' ${signal.slice(3)}; echo ready; while :; do sleep 0.05; done`,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += String(d);
          if (stdout === 'ready\n') child.kill(signal);
        });
        const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        assert.equal(stdout, `ready\ngot ${signal}\n`);
        assert.equal(status, 42);
      } finally {
        await live.close();
      }
    });
  }

  it('--reverse, --hold, --status, --insecure reach waitFor', async () => {
    const port = await refusedPort();
    assert.equal((await run(['wait', `127.0.0.1:${port}`, '--reverse', '--timeout', '2000'])).status, 0);
    const closing = await tcpListener('127.0.0.1', (s) => s.end());
    const server = https.createServer(testCertificate(), (_q, res) => {
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    try {
      const held = await run(['wait', `127.0.0.1:${closing.port}`, '--hold', '200', '--timeout', '600']);
      assert.equal(held.status, 4);
      assert.match(held.err, /last attempt EOF/);
      const strict = await run(['wait', url, '--timeout', '1000', '--status', '404']);
      assert.equal(strict.status, 4);
      assert.match(strict.err, /last attempt (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
      assert.equal((await run(['wait', url, '--timeout', '2000', '--insecure', '--status', '400-404'])).status, 0);
      const wrong = await run(['wait', url, '--timeout', '600', '-k']);
      assert.equal(wrong.status, 4);
      assert.match(wrong.err, /last attempt HTTP 404/);
    } finally {
      server.close();
      await closing.close();
    }
  });

  it('bad input: exit 2 with the reason and the usage, before any connect', async () => {
    let accepted = 0;
    const live = await tcpListener('127.0.0.1', (s) => {
      accepted++;
      s.destroy();
    });
    const t = `127.0.0.1:${live.port}`;
    try {
      const cases: [string[], RegExp][] = [
        [['wait'], /wait takes at least one <target>/],
        [['wait', t, 'http://exa mple.com/'], /is not a valid URL/],
        [['wait', t, '--interval=-1'], /--interval must be an integer from 0/],
        [['wait', t, '--bogus'], /Unknown option '--bogus'/],
        [['wait', t, '--status', '99'], /--status takes codes and ranges/],
        [['wait', t, 'unix:/tmp/x.sock', '--tos', '4'], /ERR_INVALID_ARG_VALUE|tos/],
        [['wait', t, '--'], /'--' must be followed by a command/],
      ];
      for (const [argv, reason] of cases) {
        const r = await run(argv);
        assert.equal(r.status, 2, argv.join(' '));
        assert.match(r.err, reason, argv.join(' '));
        assert.match(r.err, /\nusage:\n/);
      }
      assert.equal(accepted, 0, 'no connect was made');
    } finally {
      await live.close();
    }
  });
});
