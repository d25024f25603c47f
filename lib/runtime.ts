// The JavaScript runtime nbconnect was loaded in, and what that decides.
//
// Node's event loop is libuv, which the epoll engine joins (a uv_poll_t on
// its epoll fd, a uv_idle_t). Bun and Deno load Node-API
// addons but run their own loops: Bun's libuv functions are stubs that abort
// the process (oven-sh/bun#18546: "unsupported uv function: uv_poll_init"),
// and Deno's uv_poll and uv_timer shims never fire (denoland/deno#36317,
// #36454), so an attempt there would never settle, deadline and abort
// included. The poll and select waiters need no loop of the host's: their
// thread hands results over through a thread-safe function, which both
// runtimes implement. So there the default wait is poll, and an async
// connect that asks for epoll by name is refused before any syscall.
// connectSync's epoll uses an instance of its own, outside any loop, and
// works everywhere.

import * as path from 'node:path';

import { denoPermissionsMissing } from './errors';

/** The runtime's name and version, as `process.versions` or `Deno.version` give it. */
export interface HostRuntime {
  name: 'node' | 'bun' | 'deno';
  version: string;
  /** Whether the host's event loop is libuv, which the epoll engine needs. */
  libuvLoop: boolean;
}

interface DenoPermissionStatus {
  state: 'granted' | 'prompt' | 'denied';
}
interface DenoGlobal {
  version: { deno: string };
  permissions: { querySync(descriptor: { name: string; path?: string; variable?: string }): DenoPermissionStatus };
}

/** The Deno namespace when running under Deno; typed here, since lib/ compiles against Node's types. */
export function denoGlobal(): DenoGlobal | undefined {
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  return typeof deno?.version?.deno === 'string' ? deno : undefined;
}

function detect(): HostRuntime {
  const bun = (process.versions as Record<string, string | undefined>).bun;
  if (typeof bun === 'string') return { name: 'bun', version: bun, libuvLoop: false };
  const deno = denoGlobal();
  if (deno) return { name: 'deno', version: deno.version.deno, libuvLoop: false };
  return { name: 'node', version: process.versions.node, libuvLoop: true };
}

export const RUNTIME: HostRuntime = detect();

/**
 * The Deno permissions loading the addon needs, each checked before it is
 * used so that a missing one fails here with its flag named, not deep in a
 * require. `--allow-read` of the package (its JS and the .node file),
 * `--allow-env=NBCONNECT_ADDON` (the override lib/binding.ts reads) and
 * `--allow-ffi` (Deno asks it of every native addon). Connects make their
 * own syscalls, so they need no `--allow-net`; only a name's lookup
 * (dns.lookup) does.
 */
export function missingDenoPermissions(packageRoot: string): string[] {
  const deno = denoGlobal();
  if (!deno) return [];
  const granted = (descriptor: { name: string; path?: string; variable?: string }) => deno.permissions.querySync(descriptor).state === 'granted';
  const missing: string[] = [];
  if (!granted({ name: 'read', path: packageRoot })) missing.push(`--allow-read=${packageRoot}`);
  const variables = ENVIRONMENT.filter((variable) => !granted({ name: 'env', variable }));
  if (variables.length > 0) missing.push(`--allow-env=${variables.join(',')}`);
  if (!granted({ name: 'ffi' })) missing.push('--allow-ffi');
  return missing;
}

/** Every permission missingDenoPermissions checks, as `deno run` flags: the whole set to grant. */
export function denoPermissions(packageRoot: string): string[] {
  return [`--allow-read=${packageRoot}`, `--allow-env=${ENVIRONMENT.join(',')}`, '--allow-ffi'];
}

/** The variables nbconnect reads: the addon override and the mode (lib/mode.ts). */
const ENVIRONMENT = ['NBCONNECT_ADDON', 'NBCONNECT_MODE'];
const PACKAGE_ROOT = path.join(__dirname, '..', '..');

/**
 * Throws, under Deno, naming every permission loading needs that is not
 * granted, before the first of them is used (a read of the environment
 * would otherwise prompt, or fail with Deno's own words).
 */
export function assertDenoPermissions(): void {
  const missing = missingDenoPermissions(PACKAGE_ROOT);
  if (missing.length > 0) throw denoPermissionsMissing(missing, PACKAGE_ROOT, ENVIRONMENT);
}
