// Validation at the door: every argument is checked here, and a bad one
// throws TypeError or RangeError naming the value before any syscall runs.
import * as net from 'node:net';
import { inspect } from 'node:util';

import { addon, type NativeSpec } from './binding';
import type { Confirm, ConnectOptions } from './types';

/** A target after parsing: a literal address, a name still to resolve, or a path. */
export type ParsedTarget =
  | { kind: 'ip'; host: string; address: string; port: number; family: 4 | 6 }
  | { kind: 'name'; host: string; port: number }
  | { kind: 'unix'; path: string };

export interface Prepared {
  target: ParsedTarget;
  spec: NativeSpec;
  /** The lookup family: 0 for any. */
  family: 0 | 4 | 6;
  /** Race a name's addresses (Happy Eyeballs), and the delay between attempts. */
  autoSelectFamily: boolean;
  attemptDelay: number;
  timeout: number | undefined;
  signal: AbortSignal | undefined;
}

export function show(value: unknown): string {
  return inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 64 });
}

function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`The "${name}" argument must be ${expected}. Received ${show(value)}`);
}

function rangeError(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${show(value)}`);
}

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw typeError(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max)
    throw rangeError(name, `an integer >= ${min} and <= ${max}`, value);
  return value;
}

const checkPort = (name: string, value: unknown) => checkInteger(name, value, 0, 65535);

// Digits and dots only, or a colon anywhere: the caller meant a literal, and
// a bad one must not fall through to a DNS query.
const LOOKS_LIKE_IPV4 = /^[0-9.]+$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function parseHost(name: string, host: unknown, port: number): ParsedTarget {
  if (typeof host !== 'string') throw typeError(name, 'of type string', host);
  const family = net.isIP(host);
  if (family === 4 || family === 6) return { kind: 'ip', host, address: host, port, family };
  if (host.includes(':') || LOOKS_LIKE_IPV4.test(host))
    throw new RangeError(`The value of "${name}" is not a valid IP address. Received ${show(host)}`);
  if (!HOSTNAME.test(host))
    throw new RangeError(`The value of "${name}" is not a valid host name. Received ${show(host)}`);
  return { kind: 'name', host, port };
}

function checkPath(name: string, path: unknown): ParsedTarget {
  if (typeof path !== 'string') throw typeError(name, 'of type string', path);
  if (path.length === 0) throw rangeError(name, 'a non-empty path', path);
  // sun_path holds 108 bytes on Linux: a file path needs one for its NUL; an
  // abstract name (leading NUL) may use them all.
  const abstract = path.charCodeAt(0) === 0;
  const max = addon.SUN_PATH_SIZE - (abstract ? 0 : 1);
  const bytes = Buffer.byteLength(path);
  if (bytes > max)
    throw new RangeError(
      `The value of "${name}" is too long for sun_path: ${bytes} bytes, at most ${max}. Received ${show(path)}`,
    );
  if (path.indexOf('\0', 1) !== -1)
    throw new RangeError(`The value of "${name}" must not contain a NUL byte after the first. Received ${show(path)}`);
  return { kind: 'unix', path };
}

/** Parses every form of `Target`. */
export function parseTarget(target: unknown, name = 'target'): ParsedTarget {
  if (typeof target === 'string') {
    if (target.startsWith('unix:')) return checkPath(name, target.slice(5));
    const bracketed = /^\[([^\]]*)\]:([0-9]+)$/.exec(target);
    const plain = /^([^:]*):([0-9]+)$/.exec(target);
    const match = bracketed ?? plain;
    if (!match)
      throw new TypeError(
        `The "${name}" argument must be 'host:port', '[v6]:port' or 'unix:/path'. Received ${show(target)}`,
      );
    const port = checkPort(`${name} port`, Number(match[2]));
    const parsed = parseHost(`${name} host`, match[1], port);
    if (bracketed && !(parsed.kind === 'ip' && parsed.family === 6))
      throw new RangeError(`Brackets in "${name}" hold an IPv6 literal. Received ${show(target)}`);
    return parsed;
  }
  if (target === null || typeof target !== 'object')
    throw typeError(name, "an object with host and port, an object with path, or a string", target);
  const t = target as Record<string, unknown>;
  if ('path' in t && t.path !== undefined) {
    if ('host' in t || 'port' in t)
      throw new TypeError(`The "${name}" argument takes path, or host and port, not both. Received ${show(target)}`);
    return checkPath(`${name}.path`, t.path);
  }
  const port = checkPort(`${name}.port`, t.port);
  return parseHost(`${name}.host`, t.host, port);
}

function optionalBoolean(options: Record<string, unknown>, name: string): number {
  const value = options[name];
  if (value === undefined) return -1;
  if (typeof value !== 'boolean') throw typeError(`options.${name}`, 'of type boolean', value);
  return value ? 1 : 0;
}

function optionalInteger(options: Record<string, unknown>, name: string, min: number, max: number): number {
  const value = options[name];
  return value === undefined ? -1 : checkInteger(`options.${name}`, value, min, max);
}

const CONFIRMS: readonly Confirm[] = ['so_error', 'getpeername', 'read', 'reconnect'];

const TCP_ONLY = ['localAddress', 'localPort', 'family', 'noDelay', 'synCount', 'userTimeout', 'bindAddressNoPort'];

/** Checks target and options together and builds what the native side takes. */
export function prepare(target: unknown, options: unknown, closeWhenConnected = false): Prepared {
  const parsed = parseTarget(target);
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object')
    throw typeError('options', 'of type object', options);
  const o = options as Record<string, unknown> & ConnectOptions;

  let timeout: number | undefined;
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number') throw typeError('options.timeout', 'of type number', o.timeout);
    if (Number.isNaN(o.timeout) || o.timeout < 0)
      throw rangeError('options.timeout', 'a number >= 0 (ms), or Infinity', o.timeout);
    timeout = o.timeout === Infinity ? undefined : o.timeout;
  }

  if (o.wait !== undefined && o.wait !== 'poll' && o.wait !== 'select')
    throw new TypeError(`The "options.wait" argument must be 'poll' or 'select'. Received ${show(o.wait)}`);

  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw typeError('options.signal', 'an instance of AbortSignal', signal);

  if (o.family !== undefined && o.family !== 4 && o.family !== 6)
    throw new TypeError(`The "options.family" argument must be 4 or 6. Received ${show(o.family)}`);

  if (parsed.kind === 'unix') {
    const misplaced = TCP_ONLY.find((name) => o[name] !== undefined);
    if (misplaced)
      throw new TypeError(`The "options.${misplaced}" option applies to TCP only, not to unix:${parsed.path}`);
  }

  let localAddress: string | undefined;
  if (o.localAddress !== undefined) {
    if (typeof o.localAddress !== 'string') throw typeError('options.localAddress', 'of type string', o.localAddress);
    // The family may differ from the target's: the kernel reports that, and
    // the trace shows bind() saying so.
    if (net.isIP(o.localAddress) === 0)
      throw new RangeError(`The value of "options.localAddress" is not a valid IP address. Received ${show(o.localAddress)}`);
    localAddress = o.localAddress;
  }
  const localPort = o.localPort === undefined ? -1 : checkPort('options.localPort', o.localPort);

  if (parsed.kind === 'ip' && o.family !== undefined && o.family !== parsed.family)
    throw new RangeError(`The "options.family" ${o.family} does not match the IPv${parsed.family} address ${parsed.address}`);

  if (o.confirm !== undefined && !CONFIRMS.includes(o.confirm))
    throw new TypeError(`The "options.confirm" argument must be one of ${CONFIRMS.map((c) => `'${c}'`).join(', ')}. Received ${show(o.confirm)}`);

  const spec: NativeSpec = {
    family: parsed.kind === 'unix' ? 0 : parsed.kind === 'ip' ? parsed.family : 4,
    address: parsed.kind === 'ip' ? parsed.address : '',
    port: parsed.kind === 'unix' ? 0 : parsed.port,
    path: parsed.kind === 'unix' ? parsed.path : '',
    localAddress,
    localPort,
    wait: o.wait === 'select' ? 1 : 0,
    timeout: timeout ?? -1,
    noDelay: optionalBoolean(o, 'noDelay'),
    // TCP_SYNCNT: the kernel takes 1..MAX_TCP_SYNCNT (127).
    synCount: optionalInteger(o, 'synCount', 1, 127),
    userTimeout: optionalInteger(o, 'userTimeout', 0, 2 ** 31 - 1),
    bindAddressNoPort: optionalBoolean(o, 'bindAddressNoPort'),
    linger0: optionalBoolean(o, 'linger0'),
    confirm: CONFIRMS.indexOf(o.confirm ?? 'so_error') as NativeSpec['confirm'],
    waitDelay: Math.max(0, optionalInteger(o, 'waitDelay', 0, 60000)),
    closeWhenConnected,
  };
  if (o.autoSelectFamily !== undefined && typeof o.autoSelectFamily !== 'boolean')
    throw typeError('options.autoSelectFamily', 'of type boolean', o.autoSelectFamily);
  // Node raises anything below 10 ms to 10.
  const attemptDelay =
    o.autoSelectFamilyAttemptTimeout === undefined ? 250 : Math.max(10, checkInteger('options.autoSelectFamilyAttemptTimeout', o.autoSelectFamilyAttemptTimeout, 1, 2 ** 31 - 1));
  return { target: parsed, spec, family: o.family ?? 0, timeout, signal, autoSelectFamily: o.autoSelectFamily !== false, attemptDelay };
}
