// The README's recipes, run as written from a scratch project whose
// node_modules holds this package: only the ports change (5432 and 8080
// become listeners of this test). There is no Docker engine here, so the
// HEALTHCHECK's exec-form command line is run as Docker would run it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { refusedPort, tcpListener } from './helpers/listeners';

const ROOT = path.join(__dirname, '..');

/** The fenced blocks of the README's wait recipe (its ### section); the README's programs are run by test 63. */
function recipes(): { lang: string; body: string }[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('### Wait for a service / health check');
  assert.ok(start > 0, 'the README has the wait recipe');
  const section = text.slice(start, text.indexOf('\n### ', start + 1));
  return [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```\n/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

/** Runs a program, resolving with its status and output (bounded by `timeout`). */
function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 20000) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(file, args, { cwd, env, timeout });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('the README recipes', function () {
  this.timeout(60000);
  let scratch: string;
  let web: http.Server;
  let webPort: number;
  const ports = (text: string, db: number) => text.replaceAll('127.0.0.1:5432', `127.0.0.1:${db}`).replaceAll('127.0.0.1:8080', `127.0.0.1:${webPort}`);

  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-recipes-'));
    fs.mkdirSync(path.join(scratch, 'node_modules', '.bin'), { recursive: true });
    fs.symlinkSync(ROOT, path.join(scratch, 'node_modules', 'nbconnect'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'undici'), path.join(scratch, 'node_modules', 'undici'));
    fs.symlinkSync(path.join(ROOT, 'bin', 'nbconnect.js'), path.join(scratch, 'node_modules', '.bin', 'nbconnect'));
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, scripts: { test: 'echo the tests ran' } }));
    web = http.createServer((req, res) => res.end(req.url));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webPort = (web.address() as net.AddressInfo).port;
  });
  after(() => {
    web.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('has the two: a CI wait and a HEALTHCHECK', () => {
    assert.deepEqual(
      recipes().map((r) => r.lang),
      ['sh', 'dockerfile'],
    );
  });

  it('the CI wait runs the command once the database and the web server are up', async () => {
    const [line] = recipes()[0].body.trim().split('\n');
    assert.match(line, /^npx nbconnect wait /);
    const port = await refusedPort();
    const db = net.createServer((s) => s.destroy());
    setTimeout(() => db.listen(port, '127.0.0.1'), 500);
    try {
      // offline: npx must find the local bin, never fetch one.
      const r = await run('sh', ['-c', ports(line, port)], scratch, { ...process.env, npm_config_offline: 'true' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /the tests ran/);
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port} up after`));
    } finally {
      db.close();
    }
  });

  it('the HEALTHCHECK command: exit 0 while the server listens, 3 (refused) once it is gone, and quiet', async () => {
    const m = /CMD (\[.*\])\s*$/.exec(recipes()[1].body.trim());
    assert.ok(m, 'exec form');
    const [file, ...args] = JSON.parse(ports(m[1], 0)) as string[];
    assert.equal(file, 'node');
    const up = await run(process.execPath, args, scratch);
    assert.deepEqual([up.status, up.stdout, up.stderr], [0, '', '']);
    const gone = await tcpListener();
    await gone.close();
    const down = await run(
      process.execPath,
      args.map((a) => a.replace(`127.0.0.1:${webPort}`, `127.0.0.1:${gone.port}`)),
      scratch,
    );
    assert.deepEqual([down.status, down.stdout, down.stderr], [3, '', '']);
  });
});
