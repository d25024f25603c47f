import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** Why `unshare <flag>` cannot run here (not root, no unshare(1), refused), or null if it can. */
function unshareBlocker(flag: string): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = spawnSync('unshare', [flag, 'true']);
  if (probe.error) return 'no unshare(1)';
  if (probe.status !== 0) return `unshare ${flag} failed: ${String(probe.stderr).trim()}`;
  return null;
}

/** Why network namespaces cannot be made here (root, unshare -n, ip), or null if they can. */
export function namespaceBlocker(): string | null {
  const gap = unshareBlocker('-n');
  if (gap) return gap;
  if (spawnSync('ip', ['-V']).error) return 'no ip(8) (iproute2)';
  return null;
}

/** Why mount namespaces cannot be made here (root, unshare -m), or null if they can. */
export const mountNamespaceBlocker = () => unshareBlocker('-m');

/**
 * A test whose capability is truly absent here (`gap` says why) is skipped,
 * and says so; under CI=true it fails instead, since CI must run it.
 * Returns without effect when `gap` is null.
 */
export function skipWithout(test: Mocha.Context, gap: string | null, what: string): void {
  if (!gap) return;
  if (process.env.CI === 'true') assert.fail(`${what} are required under CI: ${gap}`);
  console.log(`      (skipped: no ${what} here: ${gap})`);
  test.skip();
}

// Compiled next to this file's own dist-test/helpers.
const LISTEN_AND_RUN = path.join(__dirname, '..', 'fixtures', 'listen-and-run.js');

/**
 * A listener in the namespace: a port number accepts (and closes each
 * connection); { blackHole: port } never accepts and its queue is full, so
 * a connect to it gets no answer before its deadline.
 */
export type NamespaceListener = number | { blackHole: number };

/**
 * The command and arguments that run the Node script `script` in a network
 * namespace made for it (`unshare -n`), its loopback up and holding only
 * listeners on 127.0.0.1 at `ports`: where a scan of a port range runs,
 * never on the machine's own loopback, where its services listen.
 */
export function inNetworkNamespace(ports: readonly NamespaceListener[], script: string, args: readonly string[]): [string, string[]] {
  const portList = ports.map((p) => (typeof p === 'number' ? String(p) : `${p.blackHole}:black-hole`)).join(',');
  return ['unshare', ['-n', process.execPath, LISTEN_AND_RUN, portList, script, ...args]];
}
