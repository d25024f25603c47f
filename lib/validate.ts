// Validation at the door: every argument is checked here, and a bad one
// throws TypeError or RangeError naming the value before any syscall runs.
import * as net from 'node:net';

import { addon, type SocketSpec } from './binding';
import { MODE } from './mode';
import { portableKeepAlive, portableNoDelay, rejectKernelOnly, type PortableKeepAlive } from './portable';
import type { Confirm, ConnectOptions, Endpoint, Wait, Where } from './types';
import { prepareListed, TCP_ONLY_LISTED } from './sockopts';
import { RUNTIME } from './runtime';
import { CONFIRM_NUMBER, WAIT_NUMBER } from './wire';
import { featureUnavailable, invalidArgType, invalidArgValue, invalidIpAddress, missingArgs } from './errors';
import {
  validateAbortSignal,
  validateBoolean,
  validateInteger,
  validateNumber,
  validateOneOf,
  validatePort,
  validateString,
  validateObject,
} from './validators';

/** A target after parsing: a literal address, a name still to resolve, or a path. */
export type ParsedTarget =
  { kind: 'ip'; host: string; address: string; port: number; family: 4 | 6 } | { kind: 'name'; host: string; port: number } | { kind: 'unix'; path: string };

export interface Prepared {
  target: ParsedTarget;
  socket: SocketSpec;
  /** The lookup family: 0 for any. */
  family: 0 | 4 | 6;
  /** Race a name's addresses (Happy Eyeballs), and the delay between attempts. */
  autoSelectFamily: boolean;
  attemptDelay: number;
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  /** The portable mode's options for net.connect (empty in the exact mode, which packs them in `socket`). */
  portable: { noDelay?: boolean; keepAlive?: PortableKeepAlive };
}

function checkPort(name: string, value: unknown): number {
  if (value === undefined) throw missingArgs(`"${name}" or "path" argument`, value);
  return validatePort(value, name);
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function parseHost(name: string, host: unknown, port: number): ParsedTarget {
  validateString(host, name);
  const family = net.isIP(host);
  if (family === 4 || family === 6) return { kind: 'ip', host, address: host, port, family };
  // A colon means an IPv6 literal was meant, and a name never has one. Digits
  // and dots that are not an IPv4 literal ('127.1') are a name to look up,
  // as Node does: getaddrinfo reads the classic inet_aton forms itself.
  if (host.includes(':')) throw invalidIpAddress(name, host);
  if (!HOSTNAME.test(host)) throw invalidArgValue(name, host, 'is not a valid host name', RangeError);
  return { kind: 'name', host, port };
}

// The portable mode has no addon to ask: sockaddr_un's sun_path is 104
// bytes on macOS and the BSDs, 108 on Linux and in Windows' afunix.h.
const SUN_PATH_SIZE = MODE === 'exact' ? addon.SUN_PATH_SIZE : process.platform === 'darwin' || process.platform.endsWith('bsd') ? 104 : 108;

function checkPath(name: string, path: unknown): ParsedTarget {
  validateString(path, name);
  if (path.length === 0) throw invalidArgValue(name, path, 'must be a non-empty path', RangeError);
  // sun_path holds 108 bytes on Linux: a file path needs one for its NUL; an
  // abstract name (leading NUL) may use them all.
  const abstract = path.charCodeAt(0) === 0;
  const max = SUN_PATH_SIZE - (abstract ? 0 : 1);
  const bytes = Buffer.byteLength(path);
  if (bytes > max) throw invalidArgValue(name, path, `is too long for sun_path: ${bytes} bytes, at most ${max}`, RangeError);
  if (path.indexOf('\0', 1) !== -1) throw invalidArgValue(name, path, 'must not contain a NUL byte after the first', RangeError);
  return { kind: 'unix', path };
}

/** The last host an object target named, parsed (targetParser). */
interface HostCache {
  host: string | undefined;
  parsed: ParsedTarget | undefined;
}

/** Parses every form of `Target`, reading each field of an object once. */
export function parseTarget(target: unknown, name = 'target', cache?: HostCache): ParsedTarget {
  if (typeof target === 'string') {
    if (target.startsWith('unix:')) return checkPath(name, target.slice(5));
    const bracketed = /^\[([^\]]*)\]:([0-9]+)$/.exec(target);
    const plain = /^([^:]*):([0-9]+)$/.exec(target);
    const match = bracketed ?? plain;
    if (!match) throw invalidArgValue(name, target, "must be 'host:port', '[v6]:port' or 'unix:/path'");
    const port = checkPort(`${name} port`, Number(match[2]));
    const parsed = parseHost(`${name} host`, match[1], port);
    if (bracketed && !(parsed.kind === 'ip' && parsed.family === 6)) throw invalidArgValue(name, target, 'may bracket an IPv6 literal only', RangeError);
    return parsed;
  }
  if (target === null || typeof target !== 'object') throw invalidArgType(name, 'an object with host and port, an object with path, or a string', target);
  const t = target as Record<string, unknown>;
  if ('path' in t && t.path !== undefined) {
    if ('host' in t || 'port' in t) throw invalidArgValue(name, target, 'takes path, or host and port, not both');
    return checkPath(`${name}.path`, t.path);
  }
  const port = checkPort(`${name}.port`, t.port);
  const host = t.host;
  if (cache !== undefined && typeof host === 'string' && host === cache.host) {
    const last = cache.parsed!;
    return last.kind === 'ip' ? { ...last, port } : { kind: 'name', host, port };
  }
  const parsed = parseHost(`${name}.host`, host, port);
  if (cache !== undefined && parsed.kind !== 'unix') {
    cache.host = parsed.host;
    cache.parsed = parsed;
  }
  return parsed;
}

/**
 * parseTarget for a run of targets that mostly share a host (a scan of one
 * host's ports): an object target's host is parsed once per change of host,
 * its port every time. The same reads, results and errors as parseTarget.
 */
export function targetParser(name = 'target'): (target: unknown) => ParsedTarget {
  const cache: HostCache = { host: undefined, parsed: undefined };
  return (target) => parseTarget(target, name, cache);
}

function optionalBoolean(options: Record<string, unknown>, name: string): number {
  const value = options[name];
  if (value === undefined) return -1;
  validateBoolean(value, `options.${name}`);
  return value ? 1 : 0;
}

function optionalInteger(options: Record<string, unknown>, name: string, min: number, max: number): number {
  const value = options[name];
  return value === undefined ? -1 : validateInteger(value, `options.${name}`, min, max);
}

const CONFIRMS = Object.keys(CONFIRM_NUMBER) as Confirm[];
const WAITS = Object.keys(WAIT_NUMBER) as Wait[];

/**
 * The wait an async connect uses unless told otherwise: epoll, the engine
 * in the event loop's own thread, the only wait whose cost per connect does
 * not grow with the number pending (docs/engine.md, docs/benchmarks.md);
 * poll where the host has no libuv loop for the engine (Bun, Deno:
 * lib/runtime.ts).
 */
export const DEFAULT_WAIT: Wait = RUNTIME.libuvLoop ? 'epoll' : 'poll';

/** Async epoll needs the host's libuv loop: named, with the alternatives, before any syscall. */
function checkWaitInRuntime(wait: Wait, mode: 'async' | 'sync'): void {
  if (wait !== 'epoll' || mode === 'sync' || RUNTIME.libuvLoop) return;
  const runtime = `${RUNTIME.name === 'bun' ? 'Bun' : 'Deno'} ${RUNTIME.version}`;
  throw featureUnavailable(
    `options.wait 'epoll' runs in Node's libuv event loop, which ${runtime} does not have. ` +
      `Use wait: 'poll' (the default under ${runtime}) or 'select', or connectSync, whose epoll needs no event loop.`,
  );
}

const TCP_ONLY = ['localAddress', 'localPort', 'family', 'noDelay', 'synCount', 'userTimeout', 'bindAddressNoPort', ...TCP_ONLY_LISTED];

/** Checks target and options together and builds what the native side takes. */
export function prepare(target: unknown, options: unknown, closeWhenConnected = false, mode: 'async' | 'sync' = 'async'): Prepared {
  const parsed = parseTarget(target);
  if (options === undefined) options = {};
  validateObject(options, 'options');
  const o = options as Record<string, unknown> & ConnectOptions;
  // What needs the kernel is refused whole in the portable mode, before
  // the checks below could read it as half-supported.
  if (MODE !== 'exact') rejectKernelOnly(o, parsed);

  let timeout: number | undefined;
  if (o.timeout !== undefined) {
    validateNumber(o.timeout, 'options.timeout', 0, Infinity, 'a number >= 0 (ms), or Infinity');
    timeout = o.timeout === Infinity ? undefined : o.timeout;
  }

  if (o.wait !== undefined) checkWaitInRuntime(validateOneOf(o.wait, 'options.wait', WAITS), mode);

  const signal = o.signal;
  validateAbortSignal(signal, 'options.signal');

  // 0 is any family, as in Node.
  const family = o.family === undefined ? 0 : validateOneOf(o.family, 'options.family', [0, 4, 6] as const);

  if (parsed.kind === 'unix') {
    const misplaced = TCP_ONLY.find((name) => o[name] !== undefined);
    if (misplaced) throw invalidArgValue(`options.${misplaced}`, o[misplaced], `applies to TCP only, not to unix:${parsed.path}`);
  }

  let localAddress: string | undefined;
  if (o.localAddress !== undefined) {
    validateString(o.localAddress, 'options.localAddress');
    // The family may differ from the target's: the kernel reports that, and
    // the trace shows bind() saying so.
    if (net.isIP(o.localAddress) === 0) throw invalidIpAddress('options.localAddress', o.localAddress);
    localAddress = o.localAddress;
  }
  const localPort = o.localPort === undefined ? -1 : checkPort('options.localPort', o.localPort);

  if (parsed.kind === 'ip' && family !== 0 && family !== parsed.family)
    throw invalidArgValue('options.family', family, `does not match the IPv${parsed.family} address ${parsed.address}`, RangeError);

  if (o.confirm !== undefined) validateOneOf(o.confirm, 'options.confirm', CONFIRMS);

  const socket: SocketSpec = {
    localAddress,
    localPort,
    wait: WAIT_NUMBER[o.wait ?? DEFAULT_WAIT],
    noDelay: optionalBoolean(o, 'noDelay'),
    // TCP_SYNCNT: the kernel takes 1..MAX_TCP_SYNCNT (127).
    synCount: optionalInteger(o, 'synCount', 1, 127),
    userTimeout: optionalInteger(o, 'userTimeout', 0, 2 ** 31 - 1),
    bindAddressNoPort: optionalBoolean(o, 'bindAddressNoPort'),
    linger0: optionalBoolean(o, 'linger0'),
    confirm: CONFIRM_NUMBER[o.confirm ?? 'so_error'] as SocketSpec['confirm'],
    waitDelay: Math.max(0, optionalInteger(o, 'waitDelay', 0, 60000)),
    closeWhenConnected,
    ...(MODE === 'exact' ? prepareListed(o) : { mptcp: 0, extra: undefined }),
  };
  if (o.autoSelectFamily !== undefined) validateBoolean(o.autoSelectFamily, 'options.autoSelectFamily');
  // Node raises anything below 10 ms to 10.
  const attemptDelay =
    o.autoSelectFamilyAttemptTimeout === undefined
      ? 250
      : Math.max(10, validateInteger(o.autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1, 2 ** 31 - 1));
  const portable = MODE === 'exact' ? {} : { noDelay: portableNoDelay(o.noDelay), keepAlive: portableKeepAlive(o.keepAlive) };
  return { target: parsed, socket, family, timeout, signal, autoSelectFamily: o.autoSelectFamily !== false, attemptDelay, portable };
}

/** Where a target goes before any lookup or socket: a name or literal with its port, or a path. */
export function whereOf(target: ParsedTarget): Where {
  return target.kind === 'unix' ? { path: target.path } : { host: target.host, port: target.port };
}

/** A target with one of its addresses. */
export function endpointOf(target: ParsedTarget, address: string, family: 4 | 6): Endpoint {
  if (target.kind === 'unix') return { path: target.path };
  return { host: target.host, address, port: target.port, family };
}

/** A literal or a path is an endpoint already; a name is not until looked up. */
export function literalEndpoint(target: ParsedTarget): Endpoint | undefined {
  if (target.kind === 'unix') return literalEndpointAt(target.path, 0, 0);
  if (target.kind === 'ip') return literalEndpointAt(target.address, target.family, target.port);
  return undefined;
}

/** The endpoint of an IP literal (its host is its address) or, for family 0, of a path. */
export function literalEndpointAt(address: string, family: 0 | 4 | 6, port: number): Endpoint {
  return family === 0 ? { path: address } : { host: address, address, port, family };
}
