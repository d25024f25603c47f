// The package as a user gets it: packed from a clean tree (prepack makes the
// prebuild), installed with an empty npm cache and no registry into a fresh
// project whose PATH has no compiler, then used from CommonJS and ESM
// (nbconnect/raw too), from the command line, and type-checked with tsc.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// npm's own install checks, as arborist calls them for every dependency. They ship no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS package without declarations
const { checkPlatform } = require('npm-install-checks') as {
  checkPlatform: (target: { os?: string[] }, force: boolean, environment: { os: string; cpu: string }) => void;
};

const ROOT = path.join(__dirname, '..');

/** A PATH of node, npm and sh alone: no cc, c++, g++, make or python3. */
function compilerFreePath(dir: string): string {
  fs.mkdirSync(dir);
  for (const tool of ['node', 'npm', 'sh']) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    fs.symlinkSync(fs.realpathSync(found), path.join(dir, tool));
  }
  return dir;
}

function run(command: string, args: string[], options: SpawnSyncOptions): { status: number | null; stdout: string; out: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 120000, ...options });
  return { status: r.status, stdout: String(r.stdout), out: `${String(r.stdout)}${String(r.stderr)}` };
}

describe('the package: packed, installed without a compiler, imported every way', function () {
  this.timeout(240000);
  let work: string;
  let tarball: string;
  let consumer: string;
  let env: NodeJS.ProcessEnv;
  let files: string[];
  let dependencyTarballs: string[];

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-pack-'));
    // An empty npm cache of its own: nothing here may lean on what earlier
    // runs left in the machine's cache.
    const cache = path.join(work, 'npm-cache');
    // The release tree as a clean clone has it (the files git tracks, or
    // would: no build/, dist/ or prebuilds/), outside the working copy.
    // Packing it must make the prebuild itself (prepack).
    const release = path.join(work, 'release');
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && fs.existsSync(path.join(ROOT, file)));
    for (const file of tracked) fs.cpSync(path.join(ROOT, file), path.join(release, file), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(release, 'node_modules'));
    const packed = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: release, env: { ...process.env, npm_config_cache: cache } });
    assert.equal(packed.status, 0, packed.out);
    const [{ filename, files: packedFiles }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
    tarball = path.join(work, filename);
    files = (packedFiles as { path: string }[]).map((f) => f.path);
    // The runtime dependencies, packed from the lockfile's installed copies,
    // so that the install below needs no registry.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    dependencyTarballs = Object.keys(pkg.dependencies).map((name) => {
      const r = run('npm', ['pack', path.join(ROOT, 'node_modules', name), '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: work,
        env: { ...process.env, npm_config_cache: cache },
      });
      assert.equal(r.status, 0, r.out);
      return path.join(work, JSON.parse(r.stdout)[0].filename);
    });

    consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    env = { ...process.env, PATH: compilerFreePath(path.join(work, 'bin')), npm_config_cache: cache };
    // The consumer loads what it installed: not a sanitizer build, not npm's build settings.
    for (const name of ['NBCONNECT_ADDON', 'npm_config_nodedir', 'npm_config_node_gyp']) delete env[name];
  });

  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('holds only the compiled JS, types, ESM entries, the command, native sources, binding.gyp, the prebuild, README and LICENSE', () => {
    const allowed =
      /^(package\.json|README\.md|LICENSE|binding\.gyp|dist\/lib\/[a-z-]+\.(js|d\.ts)|esm\/[a-z]+\.(mjs|d\.mts)|bin\/nbconnect\.js|scripts\/install\.js|native\/[a-z_]+\.(cpp|h)|prebuilds\/linux-[a-z0-9]+\/nbconnect\.node)$/;
    assert.ok(files.length > 20, `${files.length} files`);
    for (const file of files) assert.match(file, allowed);
    assert.ok(
      files.some((f) => f.startsWith('prebuilds/')),
      'the prebuild is in',
    );
    assert.ok(!files.some((f) => /^(test|bench|build|examples|lib)\//.test(f) || f.endsWith('.map')));
  });

  it('installs from the tarball with no compiler on the PATH', () => {
    for (const tool of ['cc', 'c++', 'g++', 'make', 'python3'])
      assert.notEqual(run('sh', ['-c', `command -v ${tool}`], { env }).status, 0, `${tool} is reachable`);
    const installed = run('npm', ['install', tarball, ...dependencyTarballs, '--offline', '--no-audit', '--no-fund'], { cwd: consumer, env });
    assert.equal(installed.status, 0, installed.out);
    const pkg = path.join(consumer, 'node_modules', 'nbconnect');
    assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'nothing was built from source');
    // The install script itself (npm may hold install scripts for approval):
    // on Linux it is node-gyp-build, which finds the prebuild and builds
    // nothing, so it needs no compiler. Run as npm runs it: with the
    // installed bins on the PATH.
    const bins = path.join(consumer, 'node_modules', '.bin');
    const script = run('node', ['scripts/install.js'], { cwd: pkg, env: { ...env, PATH: `${bins}:${env.PATH}` } });
    assert.equal(script.status, 0, script.out);
    assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'nothing was built from source');
  });

  it('connects from CommonJS and ESM, nbconnect/raw included, and runs the command', () => {
    const server = `const server = require('node:net').createServer((s) => s.destroy());`;
    fs.writeFileSync(
      path.join(consumer, 'cjs.js'),
      `
      const nb = require('nbconnect');
      const raw = require('nbconnect/raw');
      ${server}
      server.listen(0, '127.0.0.1', async () => {
        const outcome = await nb.probe({ host: '127.0.0.1', port: server.address().port });
        console.log(JSON.stringify({ code: outcome.code, raw: typeof raw.socket, same: raw === nb.raw }));
        server.close();
      });`,
    );
    fs.writeFileSync(
      path.join(consumer, 'esm.mjs'),
      `
      import { connect, raw as fromIndex } from 'nbconnect';
      import * as raw from 'nbconnect/raw';
      import net from 'node:net';
      const server = net.createServer((s) => s.destroy());
      server.listen(0, '127.0.0.1', async () => {
        const c = await connect({ host: '127.0.0.1', port: server.address().port });
        const fd = raw.socket(4);
        console.log(JSON.stringify({ code: c.remotePort === server.address().port ? 'OK' : 'wrong', raw: fd.ret >= 0, same: fromIndex.socket === raw.socket }));
        raw.close(fd.ret);
        c.close();
        server.close();
      });`,
    );
    for (const file of ['cjs.js', 'esm.mjs']) {
      const r = run('node', [file], { cwd: consumer, env });
      assert.equal(r.status, 0, r.out);
      assert.deepEqual(JSON.parse(r.stdout), { code: 'OK', raw: file === 'cjs.js' ? 'function' : true, same: true });
    }
    const cli = run(path.join(consumer, 'node_modules', '.bin', 'nbconnect'), ['127.0.0.1:99999'], { cwd: consumer, env });
    assert.equal(cli.status, 2, cli.out);
    assert.match(cli.out, /^nbconnect: .*should be >= 0 and < 65536/);
  });

  it('tsc type-checks a consumer against the shipped types, and rejects a misuse', () => {
    const tsconfig = {
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      },
    };
    fs.writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));
    fs.writeFileSync(
      path.join(consumer, 'good.mts'),
      `
      import { connect, probe, connectAny, createConnection, ConnectError, type Outcome, type Step } from 'nbconnect';
      import { socket, poll } from 'nbconnect/raw';
      const o: Outcome = await probe('127.0.0.1:1', { timeout: 100, wait: 'select' });
      const s: Step[] = o.steps;
      const c = await connect({ host: '127.0.0.1', port: 1 }).catch((e: ConnectError) => e.phase);
      void [s, c, socket, poll, connectAny, createConnection({ timeout: 1 })];`,
    );
    fs.writeFileSync(
      path.join(consumer, 'good.cts'),
      `
      import nb = require('nbconnect');
      const p: Promise<nb.Outcome> = nb.probe('unix:/tmp/x');
      void p;`,
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const good = run('node', [tsc, '-p', '.'], { cwd: consumer, env });
    assert.equal(good.status, 0, good.out);
    fs.writeFileSync(path.join(consumer, 'bad.mts'), `import { probe } from 'nbconnect';\nawait probe('127.0.0.1:1', { wait: 'kqueue' });\n`);
    const bad = run('node', [tsc, '-p', '.'], { cwd: consumer, env });
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /bad\.mts.*'"kqueue"' is not assignable/);
  });

  it('the ESM entries export every name the CommonJS build has, as the same objects, and the module as default', async () => {
    for (const [esm, cjs] of [
      ['esm/index.mjs', 'dist/lib/index.js'],
      ['esm/raw.mjs', 'dist/lib/raw.js'],
    ]) {
      const fromEsm = await import(path.join(ROOT, esm));
      // The CommonJS module object itself, as require() gives it: an import would wrap it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fromCjs = require(path.join(ROOT, cjs));
      const names = Object.keys(fromCjs)
        .filter((k) => k !== '__esModule')
        .sort();
      // The main entry also has the module as its default, as node:net does.
      assert.deepEqual(
        Object.keys(fromEsm)
          .filter((k) => k !== 'default')
          .sort(),
        names,
        esm,
      );
      for (const name of names) assert.equal(fromEsm[name], fromCjs[name], `${esm}: ${name}`);
      if (esm === 'esm/index.mjs') assert.equal(fromEsm.default, fromCjs);
    }
  });

  for (const platform of ['darwin', 'win32'] as const) {
    it(`${platform}: npm's own platform check accepts the packed package.json, and the old os: linux is what it refused`, () => {
      const packed = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'nbconnect', 'package.json'), 'utf8')) as { os?: string[] };
      assert.equal(packed.os, undefined);
      // npm-install-checks is what npm (arborist) calls for every dependency, with the real process.platform.
      checkPlatform(packed, false, { os: platform, cpu: 'x64' });
      checkPlatform(packed, false, { os: platform, cpu: 'arm64' });
      assert.throws(() => checkPlatform({ ...packed, os: ['linux'] }, false, { os: platform, cpu: 'x64' }), { code: 'EBADPLATFORM' });
    });

    it(`${platform}: the install script builds nothing and succeeds with no prebuild; the package loads its portable mode`, () => {
      const pretend = path.join(work, `${platform}.js`);
      fs.writeFileSync(pretend, `Object.defineProperty(process, 'platform', { value: '${platform}' });`);
      const pkg = path.join(consumer, 'node_modules', 'nbconnect');
      fs.renameSync(path.join(pkg, 'prebuilds'), path.join(pkg, 'prebuilds.away'));
      try {
        // No node-gyp, no compiler on the PATH: a fallback to a build would fail here.
        const script = run('node', ['--require', pretend, 'scripts/install.js'], { cwd: pkg, env });
        assert.equal(script.status, 0, script.out);
        assert.match(script.out, new RegExp(`nothing to build on ${platform}; it runs in its portable mode here`));
        assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'nothing was built');
        const probe = `const server = require('node:net').createServer((s) => s.destroy()).listen(0, '127.0.0.1', async () => {
          const o = await require('nbconnect').probe({ host: '127.0.0.1', port: server.address().port });
          console.log(JSON.stringify({ ok: o.ok, exact: o.exact }));
          server.close();
        });`;
        const r = run('node', ['--require', pretend, '-e', probe], { cwd: consumer, env });
        assert.equal(r.status, 0, r.out);
        assert.deepEqual(JSON.parse(r.stdout), { ok: true, exact: false });
      } finally {
        fs.renameSync(path.join(pkg, 'prebuilds.away'), path.join(pkg, 'prebuilds'));
      }
    });
  }

  it('a missing binary says what was tried and how to build from source', () => {
    const pkg = path.join(consumer, 'node_modules', 'nbconnect');
    fs.renameSync(path.join(pkg, 'prebuilds'), path.join(pkg, 'prebuilds.away'));
    try {
      const r = run('node', ['-e', "require('nbconnect')"], { cwd: consumer, env });
      assert.notEqual(r.status, 0);
      assert.match(
        r.out,
        /cannot load the native addon for linux-[a-z0-9]+ \(Node-API [0-9]+\)\. Tried .*build\/Release and .*prebuilds\/linux-[a-z0-9]+\. Build it from source with `npm rebuild nbconnect`/,
      );
      // The switch to the portable mode is named; it is never taken silently on Linux.
      assert.match(r.out, /Or set NBCONNECT_MODE=portable for the portable mode/);
    } finally {
      fs.renameSync(path.join(pkg, 'prebuilds.away'), path.join(pkg, 'prebuilds'));
    }
  });
});
