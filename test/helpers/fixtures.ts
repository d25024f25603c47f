// Running a fixture (test/fixtures/*.ts, compiled to dist-test/fixtures) in
// a process of its own, and reading what /proc says of an fd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/**
 * Runs fixture `name` with its config as argv[2], through `sh -c` so that
 * `shell` can set limits first ('ulimit -n 64 && '); returns the JSON it
 * printed, after asserting that it exited 0 and was not killed.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each fixture prints its own report shape
export function runFixture(name: string, config: Record<string, unknown>, { shell = '', timeout = 120000, nodeFlags = [] as string[] } = {}): any {
  const command = `${shell}exec "${process.execPath}" ${nodeFlags.join(' ')} "${path.join(FIXTURES, name)}" '${JSON.stringify(config)}'`;
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout });
  assert.equal(r.signal, null, `${name} was killed by ${r.signal}: ${r.stderr.slice(-2000)}`);
  assert.equal(r.status, 0, `${name} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

/** readlink(2), undefined for a path that is gone. */
export function readlink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
