// Which engine a process runs, chosen once at load. Each mode runs in a
// child of its own, since the mode is fixed at load. The two engines
// compared, scenario by scenario, are 91-modes.slow.test.ts.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chooseMode } from '../dist/lib/mode';

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'dist', 'lib');

/** Runs `script` in a child Node with `env` added (NBCONNECT_MODE removed unless given) and `platform` pretended. */
function node(script: string, env: Record<string, string> = {}, platform?: string): SpawnSyncReturns<string> {
  const base = { ...process.env };
  delete base.NBCONNECT_MODE;
  const args = platform ? ['--require', pretend(platform), '-e', script] : ['-e', script];
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...base, ...env }, timeout: 20000 });
}

let work: string;
function pretend(platform: string): string {
  const file = path.join(work, `${platform}.js`);
  fs.writeFileSync(file, `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });`);
  return file;
}

// A refused port's probe: what engine answered, and whether it made a syscall trace.
const PROBE = `
  const server = require('node:net').createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(async () => {
      const o = await require(${JSON.stringify(LIB)}).probe({ host: '127.0.0.1', port });
      console.log(JSON.stringify({ exact: o.exact, code: o.code, calls: [...new Set(o.steps.map((s) => s.call))] }));
    });
  });`;

describe('the mode: exact on Linux, portable elsewhere or when asked', () => {
  before(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-modes-'))));
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('chooseMode: unset is exact on Linux only; exact and portable are taken as said; anything else is refused', () => {
    assert.equal(chooseMode(undefined, 'linux'), 'exact');
    assert.equal(chooseMode('', 'linux'), 'exact');
    assert.equal(chooseMode(undefined, 'darwin'), 'portable');
    assert.equal(chooseMode(undefined, 'win32'), 'portable');
    assert.equal(chooseMode('portable', 'linux'), 'portable');
    assert.equal(chooseMode('exact', 'darwin'), 'exact');
    assert.throws(() => chooseMode('fast', 'linux'), {
      name: 'RangeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: "The environment variable NBCONNECT_MODE must be 'exact' or 'portable' (or unset: exact on Linux, portable elsewhere). Received 'fast'",
    });
  });

  it('the loader on Linux: the exact engine by default, the portable mode when NBCONNECT_MODE=portable', () => {
    const exact = node(PROBE);
    assert.equal(exact.status, 0, exact.stderr);
    assert.deepEqual(JSON.parse(exact.stdout), {
      exact: true,
      code: 'ECONNREFUSED',
      calls: ['socket', 'fcntl', 'connect', 'epoll_ctl', 'epoll_wait', 'getsockopt', 'close'],
    });
    const portable = node(PROBE, { NBCONNECT_MODE: 'portable' });
    assert.equal(portable.status, 0, portable.stderr);
    assert.deepEqual(JSON.parse(portable.stdout), { exact: false, code: 'ECONNREFUSED', calls: ['net'] });
  });

  for (const platform of ['darwin', 'win32']) {
    it(`the loader on ${platform} (pretended): the portable mode, and NBCONNECT_MODE=exact fails saying why`, () => {
      const portable = node(PROBE, {}, platform);
      assert.equal(portable.status, 0, portable.stderr);
      assert.deepEqual(JSON.parse(portable.stdout), { exact: false, code: 'ECONNREFUSED', calls: ['net'] });
      const exact = node(`require(${JSON.stringify(LIB)})`, { NBCONNECT_MODE: 'exact' }, platform);
      assert.notEqual(exact.status, 0);
      assert.match(exact.stderr, new RegExp(`NBCONNECT_MODE=exact asks for the exact engine, which runs on Linux only \\(this is ${platform}\\)`));
      // A path is AF_UNIX on darwin as on Linux; on Windows net takes it as a named pipe, so it is refused.
      const unix = node(
        `require(${JSON.stringify(LIB)}).probe('unix:/nonexistent/nbconnect.sock').then((o) => console.log(o.code), (e) => console.log(e.code))`,
        {},
        platform,
      );
      assert.equal(unix.status, 0, unix.stderr);
      assert.equal(unix.stdout.trim(), platform === 'win32' ? 'ERR_NBCONNECT_NOT_EXACT' : 'ENOENT');
    });
  }

  it('an unknown NBCONNECT_MODE fails the load, naming the value', () => {
    const r = node(`require(${JSON.stringify(LIB)})`, { NBCONNECT_MODE: 'fast' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ERR_INVALID_ARG_VALUE/);
    assert.match(r.stderr, /Received 'fast'/);
  });

  it('on Linux without a loadable addon, loading fails and names the switch: never a silent portable mode', () => {
    // The compiled lib/ alone, beside the dependencies: no build/, no prebuilds/.
    const pkg = path.join(work, 'no-addon');
    fs.cpSync(LIB, path.join(pkg, 'dist', 'lib'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    const r = node(`require(${JSON.stringify(path.join(pkg, 'dist', 'lib'))})`, { NBCONNECT_ADDON: '' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cannot load the native addon for linux-/);
    assert.match(r.stderr, /Or set NBCONNECT_MODE=portable for the portable mode/);
    const asked = node(`require(${JSON.stringify(path.join(pkg, 'dist', 'lib'))}).probe('127.0.0.1:1').then((o) => console.log(o.exact, o.code))`, {
      NBCONNECT_ADDON: '',
      NBCONNECT_MODE: 'portable',
    });
    assert.equal(asked.status, 0, asked.stderr);
    assert.equal(asked.stdout.trim(), 'false ECONNREFUSED');
  });
});
