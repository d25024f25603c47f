// Wherever Node users run it: Bun, Deno and every current Node line, each
// from the npm registry into a cache folder of the project's own (never onto
// PATH). Each runs the same checks (test/helpers/runtime-checks.ts) with
// default options against listeners this process makes, then the command;
// each Node line also runs the whole fast layer. Deno runs with the
// smallest set of permissions the package documents (docs/runtimes.md), and
// without each one it fails at load naming it. The sanitizer pass leaves
// this file out (test/native/sanitize.sh): another runtime cannot load its
// ASan build, and nothing here may inherit its variables.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import { blackHole, refusedPort, tcpListener, unixListener, type Peer, type TcpListener, type UnixListener } from './helpers/listeners';
import type { CheckResult } from './helpers/runtime-checks';
import { installRuntime, RUNTIMES, type RuntimeSpec } from './helpers/runtimes';
import { denoPermissions } from '../dist/lib/runtime';

const ROOT = path.join(__dirname, '..');
const CHECKS = path.join(__dirname, 'helpers', 'runtime-checks.js');
const BIN = path.join(ROOT, 'bin', 'nbconnect.js');

// The smallest set the package needs under Deno (lib/runtime.ts); the
// checks need no more (their listeners are this process's).
const DENO_PERMISSIONS = denoPermissions(ROOT);

/** This environment without what the sanitizer pass or npm set: another runtime inherits none of it. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of Object.keys(env))
    if (/^(NBCONNECT_ADDON|LD_PRELOAD|ASAN_OPTIONS|UBSAN_OPTIONS|TSAN_OPTIONS|LSAN_OPTIONS|npm_)/.test(name)) delete env[name];
  return env;
}

/** The argv that runs `script` under the runtime. */
function argvOf(spec: RuntimeSpec, bin: string, script: string, args: string[], permissions = DENO_PERMISSIONS): string[] {
  if (spec.bin !== 'deno') return [bin, script, ...args];
  return [bin, 'run', '--no-prompt', ...permissions, script, ...args];
}

interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a child without blocking this loop (its listeners must answer), killed after `timeout`. */
function run(argv: string[], timeout = 60000, cwd = os.tmpdir()): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env: cleanEnv(), timeout, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Installs the runtime, or fails the suite under CI; elsewhere skips saying why (no registry). */
function installOrSkip(test: Mocha.Context, spec: RuntimeSpec): string {
  try {
    return installRuntime(spec);
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    console.log(`      skipped: ${spec.npm} cannot be installed here (${String(error).split('\n')[0]})`);
    test.skip();
  }
}

describe('other runtimes and Node lines, with default options', function () {
  this.timeout(600000);
  let listener: TcpListener;
  let unix: UnixListener;
  let hole: Peer;
  let refused: number;

  before(async () => {
    listener = await tcpListener('127.0.0.1');
    unix = await unixListener();
    hole = await blackHole('tcp4');
    refused = await refusedPort();
  });
  after(async () => {
    await listener.close();
    await unix.close();
    await hole.close();
  });

  for (const spec of RUNTIMES) {
    describe(spec.label, () => {
      let bin: string;
      before(function () {
        bin = installOrSkip(this, spec);
      });

      it('passes every check: connect, ECONNREFUSED, a 300 ms deadline, abort, 200 at once, connectSync, each wait, raw, probeMany', async () => {
        const targets = JSON.stringify({ port: listener.port, refusedPort: refused, blackHole: { host: '127.0.0.1', port: hole.port }, unixPath: unix.path });
        const ran = await run(argvOf(spec, bin, CHECKS, [path.join(ROOT, 'dist', 'lib', 'index.js'), targets]));
        assert.equal(ran.status, 0, `exit ${ran.status ?? ran.signal}: ${ran.stderr}`);
        const report = JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as { runtime: string; results: CheckResult[] };
        console.log(`      ${report.runtime}`);
        for (const r of report.results) console.log(`        ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail} (${r.elapsed?.toFixed(0)} ms)`);
        const failed = report.results.filter((r) => !r.ok);
        assert.deepEqual(failed, [], `${report.runtime}: ${failed.map((r) => `${r.name}: ${r.detail}`).join('; ')}`);
        assert.equal(report.results.length, 16);
        // The deadline: never before 300 ms; the upper bound is generous (the
        // benchmark reports each runtime's overshoot).
        const deadline = report.results.find((r) => r.name === '300 ms deadline to a black hole')!;
        assert.ok(deadline.elapsed! >= 299 && deadline.elapsed! < 5000, `ETIMEDOUT after ${deadline.elapsed} ms`);
      });

      it('runs the command: connected exits 0, refused exits 3 with its trace', async () => {
        const ok = await run(argvOf(spec, bin, BIN, [`127.0.0.1:${listener.port}`]));
        assert.equal(ok.status, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, /=> OK/);
        const no = await run(argvOf(spec, bin, BIN, [`127.0.0.1:${refused}`]));
        assert.equal(no.status, 3, no.stderr);
        assert.match(no.stdout + no.stderr, /ECONNREFUSED/);
      });

      if (spec.bin === 'deno')
        it('fails at load naming each missing permission', async () => {
          for (const missing of DENO_PERMISSIONS.slice(1)) {
            const ran = await run(
              argvOf(
                spec,
                bin,
                BIN,
                [`127.0.0.1:${listener.port}`],
                DENO_PERMISSIONS.filter((p) => p !== missing),
              ),
            );
            assert.equal(ran.status, 1);
            assert.match(ran.stderr, new RegExp(`nbconnect: Deno needs ${missing} to load the native addon`));
          }
        });

      if (spec.bin === 'node')
        it('passes the fast layer', async () => {
          const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
          const ran = await run([bin, mocha, '--reporter', 'dot'], 480000, ROOT);
          assert.equal(ran.status, 0, `${ran.stdout.slice(-4000)}\n${ran.stderr.slice(-2000)}`);
          const passing = /(\d+) passing/.exec(ran.stdout);
          console.log(`      ${passing?.[0]}`);
          assert.ok(passing && Number(passing[1]) > 300, ran.stdout.slice(-2000));
        });

      // Slow by design (services that come up after seconds, the kernel's
      // 3 s of SYN retries), not by engine: they run on every Node line too.
      if (spec.bin === 'node')
        it('passes the wait tests and the kernel-paced option test', async () => {
          const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
          const files = ['dist-test/35-wait-for.slow.test.js', 'dist-test/15-options.slow.test.js'];
          const ran = await run([bin, mocha, '--no-config', '--timeout', '30000', '--reporter', 'dot', ...files], 240000, ROOT);
          assert.equal(ran.status, 0, `${ran.stdout.slice(-4000)}\n${ran.stderr.slice(-2000)}`);
          const passing = /(\d+) passing/.exec(ran.stdout);
          console.log(`      ${passing?.[0]}`);
          assert.ok(passing && Number(passing[1]) >= 39, ran.stdout.slice(-2000));
        });
    });
  }
});
