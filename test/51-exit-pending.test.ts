import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { blackHole, type Peer } from './helpers/listeners';

const FIXTURE = path.join(__dirname, 'fixtures', 'pending-connects.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: unknown[];
  stderr: string;
  took: number;
}

function run(config: Record<string, unknown>): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: unknown[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, lines, stderr, took: performance.now() - started })));
}

describe('process exit with connects pending', () => {
  let hole: Peer;
  before(async () => {
    hole = await blackHole('tcp4');
  });
  after(async () => {
    await hole.close();
  });

  it('process.exit() with 1,000 connects pending exits promptly and cleanly', async () => {
    const result = await run({ port: hole.port, count: 1000, exitAfterStart: true });
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.lines, [{ started: 1000 }]);
    assert.ok(result.took < 10000, `took ${result.took} ms`);
  });

  it('pending connects keep the loop alive until they settle, then let it go', async () => {
    const result = await run({ port: hole.port, count: 200, timeout: 300 });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.lines, [{ started: 200 }, { done: 200, code: 'ETIMEDOUT' }]);
    assert.ok(result.took >= 300, `took ${result.took} ms`);
  });
});
