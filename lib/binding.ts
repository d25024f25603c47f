// The addon's shape, as lib/ sees it. Everything here is already validated
// by lib/validate.ts; the native side re-checks only what it cannot trust.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertDenoPermissions, RUNTIME } from './runtime';

import { addonNotLoaded, exactOffLinux, notExact } from './errors';
import { MODE } from './mode';

/** What lib/ hands the native side: numbers are -1 when absent. */
/**
 * How a socket is made and waited on, checked once per call; the endpoint
 * and what is left of the deadline join it when an attempt starts.
 */
export interface SocketSpec {
  localAddress: string | undefined;
  localPort: number;
  wait: number; // the native Wait: lib/wire.ts's WAIT_NUMBER
  noDelay: number;
  synCount: number;
  userTimeout: number;
  bindAddressNoPort: number;
  linger0: number;
  confirm: 0 | 1 | 2 | 3; // so_error, getpeername, read, reconnect
  waitDelay: number; // ms between connect() and the first wait
  closeWhenConnected: boolean;
  mptcp: 0 | 1 | 2; // off, required, preferred (native Mptcp)
  /**
   * The further options, set in the order given, packed per address family
   * (tos is IP_TOS or IPV6_TCLASS); undefined when there are none.
   */
  extra: { 4: Buffer | undefined; 6: Buffer | undefined; 0: Buffer | undefined } | undefined;
}

/** A sockaddr as lib/ hands it over: family 0 is AF_UNIX. */
export interface NativeAddr {
  family: 4 | 6 | 0;
  address: string;
  port: number;
  path: string;
}

export interface NativeRawResult {
  ret: number;
  errno?: number;
}

interface RawAddon {
  socket(family: 4 | 6 | 0, protocol?: number): NativeRawResult;
  fcntl(fd: number, cmd: 0 | 1 | 2, arg: number): NativeRawResult;
  /** level and name as this system's numbers; value an int or the option's bytes. */
  setsockopt(fd: number, level: number, name: number, value: number | Buffer): NativeRawResult;
  getsockopt(fd: number, level: number, name: number, size: number): NativeRawResult & { data?: Buffer };
  /** TCP_INFO in layout.tcpInfo's order, NaN for a field the kernel did not fill. */
  getTcpInfo(fd: number): NativeRawResult & { info?: Float64Array };
  bind(fd: number, addr: NativeAddr): NativeRawResult;
  connect(fd: number, addr: NativeAddr): NativeRawResult;
  poll(fds: number[], events: number[], timeout: number): NativeRawResult & { revents: string[][] };
  select(fds: number[], read: boolean[], write: boolean[], timeout: number): NativeRawResult & { readable: boolean[]; writable: boolean[] };
  getSoError(fd: number): NativeRawResult & { value?: number };
  getsockname(fd: number): NativeName;
  getpeername(fd: number): NativeName;
  read(fd: number, n: number): NativeRawResult & { data: Buffer };
  close(fd: number): NativeRawResult;
  readonly constants: Record<string, number>;
}

export interface NativeLayout {
  spec: readonly string[];
  result: Record<string, number>;
  step: readonly string[];
  target: readonly string[];
  packing: { argUnit: number; detailUnit: number; readableBit: number; writableBit: number; revents: number; sets: number; value: number; optionBytes: number };
  calls: readonly (string | null)[];
  args: readonly (string | null)[];
  waits: readonly string[];
  confirms: readonly string[];
  phases: readonly string[];
  whys: readonly (string | null)[];
  sequels: readonly string[];
  pollEvents: readonly (readonly [number, string])[];
  epollEvents: readonly (readonly [number, string])[];
  tcpInfo: readonly string[];
  tcpStates: readonly (string | null)[];
  /** [name, -1, number] */
  socketLevels: readonly (readonly [string, number, number])[];
  /** [name, level, number] */
  socketOptions: readonly (readonly [string, number, number])[];
}

/** getsockname/getpeername: a path, or an endpoint for lib/wire.ts's decodeEndpoint. */
export type NativeName = NativeRawResult & { family?: 4 | 6 | 0; path?: string; endpoint?: Float64Array };

interface Addon {
  /** A copy of lib/ introduces itself; returns its client number. The caller keeps onBatch alive. */
  init(onBatch: (results: Float64Array) => void): number;
  /** spec: lib/wire.ts's pack(); returns one encoded result. */
  connectSync(spec: Float64Array, address: string, localAddress: string | undefined, extra: Buffer | undefined): Float64Array;
  /** The attempt's id (native-minted, for cancel), or why the engine or waiter could not start (errno positive); then nothing was started. */
  connectStart(spec: Float64Array, address: string, localAddress: string | undefined, extra: Buffer | undefined): number | { errno: number; syscall: string };
  /**
   * Many attempts of one spec (its family for all): `targets` holds
   * layout.target's slots per target, `addresses` the distinct addresses
   * or paths they index. Each result carries `batch` and the target's tag.
   * The first attempt's id (the rest follow it, one apart), or why the
   * engine or waiter could not start; then none was started.
   */
  probeStart(
    spec: Float64Array,
    addresses: readonly string[],
    targets: Float64Array,
    localAddress: string | undefined,
    extra: Buffer | undefined,
    batch: number,
  ): number | { errno: number; syscall: string };
  cancel(wait: number, id: number): void;
  /** close(2) of an fd handed to JS; 0 or the positive errno. */
  close(fd: number): number;
  /** The fd went to another owner (a net.Socket): not closed at teardown. */
  release(fd: number): void;
  /** Each address as an endpoint for lib/wire.ts's decodeEndpoint, or getaddrinfo's failure. */
  lookupSync(host: string, family: number): Float64Array[] | { eai: number; message: string };
  /** if_indextoname(3), or the number as text when no interface has it. */
  interfaceName(index: number): string;
  readonly raw: RawAddon;
  /** The wire's layout and name tables (native/wire.h), read by lib/wire.ts. */
  readonly layout: NativeLayout;
  readonly FD_SETSIZE: number;
  /** Socket syscalls made so far by this process (for the tests: bad input makes none). */
  socketCalls(): number;
  readonly SUN_PATH_SIZE: number;
}

const PACKAGE_ROOT = path.join(__dirname, '..', '..');

/**
 * node-gyp-build finds the binary: build/Release when it was built from
 * source here, else the prebuild in prebuilds/<platform>-<arch>/ for this
 * platform, arch and libc (one Node-API binary serves every Node version).
 */
function load(): Addon {
  assertDenoPermissions();
  // The sanitizer run (npm run test:sanitize) points this at its own build.
  // The exact engine runs on Linux only, whatever binary is named.
  if (process.platform !== 'linux') throw exactOffLinux(process.platform);
  const override = process.env.NBCONNECT_ADDON;
  // A native addon loads only through require(); there is no import form for a .node file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (override) return require(path.resolve(override)) as Addon;
  if (RUNTIME.name === 'deno') return loadDirectly();
  try {
    // node-gyp-build ships no types; it returns what require() of the binary returns.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node-gyp-build') as (dir: string) => Addon)(PACKAGE_ROOT);
  } catch (cause) {
    throw cannotLoad(cause);
  }
}

/**
 * The portable mode loads no addon. What stands in its place answers only
 * `init` (there is no waiter to hear from); anything else asked of it is a
 * call that needs the kernel, and throws ERR_NBCONNECT_NOT_EXACT. The calls
 * that users make check first and name themselves; this catches the rest.
 */
function noAddon(): Addon {
  return new Proxy({} as Addon, {
    get(_, key) {
      if (key === 'init') return () => 0; // no client: nothing will be started
      throw notExact(`the native addon's ${String(key)}`, 'the portable mode loads no native code');
    },
  });
}

/**
 * Deno: the two places node-gyp-build would look, without it, since it
 * reads eight environment variables and /etc/alpine-release at load, each
 * a permission Deno would ask for.
 */
function loadDirectly(): Addon {
  const candidates = [
    path.join(PACKAGE_ROOT, 'build', 'Release', 'nbconnect.node'),
    path.join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`, 'nbconnect.node'),
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (found === undefined) throw cannotLoad(undefined);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(found) as Addon;
}

/** The two places the binary can be, for the error that names both. */
const cannotLoad = (cause: unknown) =>
  addonNotLoaded([path.join(PACKAGE_ROOT, 'build', 'Release'), path.join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`)], cause);

export const addon: Addon = MODE === 'exact' ? load() : noAddon();
