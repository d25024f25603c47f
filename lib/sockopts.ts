// The options set before the SYN beyond the fixed few (noDelay, synCount,
// ...): checked here, before any syscall, then packed in the order the
// caller gave them, one setsockopt(2) each, for the native side to set
// after socket() and before bind()/connect(). Names of levels and options
// are this system's, from native/wire.h (SOCKET_LEVELS, SOCKET_OPTIONS).
import * as os from 'node:os';

import { addon } from './binding';
import { MODE } from './mode';
import type { ConnectOptions } from './types';
import { invalidArgType, invalidArgValue, optionNotInTable } from './errors';
import { validateArray, validateBoolean, validateInteger, validateObject, validateOneOf, validateString } from './validators';
import { SOCKET_LEVELS, SOCKET_OPTIONS } from './wire';

/** One setsockopt(2): level and name as this system's numbers. */
export interface Setting {
  level: number;
  name: number;
  /** An int, or the option's own bytes. */
  value: number | Buffer;
}

/** An option whose setting depends on the address family: tos. */
type PerFamily = { 4: Setting; 6: Setting };

/** The keys this module handles, in no particular order (the caller's order counts). */
export const LISTED_OPTIONS = [
  'bindToDevice',
  'tos',
  'mark',
  'keepAlive',
  'sendBufferSize',
  'receiveBufferSize',
  'maxSegment',
  'congestion',
  'fastOpen',
  'setsockopt',
] as const satisfies readonly (keyof ConnectOptions)[];

/** The ones that make sense on a TCP socket only (the rest apply to AF_UNIX too). */
export const TCP_ONLY_LISTED = ['tos', 'keepAlive', 'maxSegment', 'congestion', 'fastOpen', 'mptcp'] as const satisfies readonly (keyof ConnectOptions)[];

const listed = new Set<string>(LISTED_OPTIONS);
/** setsockopt takes its ints in the host's byte order. */
export const HOST_LITTLE_ENDIAN = os.endianness() === 'LE';
// The portable mode packs no options (it sets none before the SYN).
const OPTION_BYTES = MODE === 'exact' ? addon.layout.packing.optionBytes : 0;

/** IFNAMSIZ and TCP_CA_NAME_MAX are 16 bytes with the NUL. */
const NAME_BYTES = 15;
const INT_MAX = 2 ** 31 - 1;

function known(name: string): { level: number; name: number } {
  const option = SOCKET_OPTIONS.get(name);
  if (option === undefined) throw optionNotInTable(name);
  return option;
}

const int = (name: string, value: number): Setting => ({ ...known(name), value });

/** A short name as the kernel takes it (a device, a congestion algorithm): its bytes, no NUL. */
function shortName(value: unknown, label: string): Buffer {
  validateString(value, label);
  const bytes = Buffer.from(value);
  if (bytes.length === 0 || bytes.length > NAME_BYTES || bytes.includes(0))
    throw invalidArgValue(label, value, `must be 1 to ${NAME_BYTES} bytes with no NUL`, RangeError);
  return bytes;
}

/** A level or option name: a known constant name, or a number. */
function constantOf(value: unknown, label: string, table: ReadonlyMap<string, unknown>, what: string): string | number {
  if (typeof value === 'string') {
    if (!table.has(value)) throw invalidArgValue(label, value, `is not a ${what} nbconnect knows; pass its number instead`);
    return value;
  }
  if (typeof value === 'number') return validateInteger(value, label, 0, 65535);
  throw invalidArgType(label, `a ${what} name or number`, value);
}

/** One entry of `setsockopt: [...]`. */
function customSetting(entry: unknown, label: string): Setting {
  validateObject(entry, label);
  return resolveSetting(entry.level, entry.name, entry.value, { level: `${label}.level`, name: `${label}.name`, value: `${label}.value` });
}

/** A level as a caller writes it, as this system's number. */
function levelOf(levelArg: unknown, label: string): number {
  const level = constantOf(levelArg, label, SOCKET_LEVELS, 'socket level');
  return typeof level === 'string' ? SOCKET_LEVELS.get(level)! : level;
}

/**
 * A level and an option as a caller writes them (names or numbers), as
 * this system's numbers. `level` undefined: the named option's own.
 * Throws before any syscall.
 */
export function resolveOption(levelArg: unknown, nameArg: unknown, labels: { level: string; name: string }): { level: number; name: number } {
  const optionName = constantOf(nameArg, labels.name, SOCKET_OPTIONS, 'socket option');
  if (typeof optionName === 'number') {
    if (levelArg === undefined) throw invalidArgType(labels.level, 'a socket level name or number (the option is a number)', levelArg);
    return { level: levelOf(levelArg, labels.level), name: optionName };
  }
  const option = known(optionName);
  // SO_MARK under IPPROTO_TCP would set whatever TCP option has SO_MARK's number.
  if (levelArg !== undefined && levelOf(levelArg, labels.level) !== option.level)
    throw invalidArgValue(labels.level, levelArg, `does not match ${optionName}, an option of another level`, RangeError);
  return option;
}

/** resolveOption, and the value: an int, or the option's own bytes. */
export function resolveSetting(levelArg: unknown, nameArg: unknown, value: unknown, labels: { level: string; name: string; value: string }): Setting {
  const { level, name } = resolveOption(levelArg, nameArg, labels);
  if (typeof value === 'number') return { level, name, value: validateInteger(value, labels.value, -(2 ** 31), 2 ** 32 - 1) | 0 };
  if (value instanceof Uint8Array) {
    if (value.length > 65536) throw invalidArgValue(labels.value, value, 'must be at most 65536 bytes', RangeError);
    return { level, name, value: Buffer.from(value) };
  }
  throw invalidArgType(labels.value, 'an integer or a Buffer', value);
}

/** keepAlive: true, false, or { idle, interval, count } (seconds, seconds, probes). */
function keepAliveSettings(value: unknown): Setting[] {
  if (typeof value === 'boolean') return [int('SO_KEEPALIVE', value ? 1 : 0)];
  if (value === null || typeof value !== 'object') throw invalidArgType('options.keepAlive', 'a boolean or an object with idle, interval and count', value);
  const k = value as Record<string, unknown>;
  const unknown = Object.keys(k).find((key) => key !== 'idle' && key !== 'interval' && key !== 'count');
  if (unknown !== undefined) throw invalidArgValue(`options.keepAlive.${unknown}`, k[unknown], 'is not a keepAlive setting (idle, interval, count)');
  const settings = [int('SO_KEEPALIVE', 1)];
  // The kernel's own bounds: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT.
  if (k.idle !== undefined) settings.push(int('TCP_KEEPIDLE', validateInteger(k.idle, 'options.keepAlive.idle', 1, 32767)));
  if (k.interval !== undefined) settings.push(int('TCP_KEEPINTVL', validateInteger(k.interval, 'options.keepAlive.interval', 1, 32767)));
  if (k.count !== undefined) settings.push(int('TCP_KEEPCNT', validateInteger(k.count, 'options.keepAlive.count', 1, 127)));
  return settings;
}

function settingsOf(key: (typeof LISTED_OPTIONS)[number], value: unknown): (Setting | PerFamily)[] {
  const label = `options.${key}`;
  switch (key) {
    case 'bindToDevice':
      return [{ ...known('SO_BINDTODEVICE'), value: shortName(value, label) }];
    case 'tos': {
      // IP_TOS on IPv4, IPV6_TCLASS on IPv6: the family is known only per address.
      const tos = validateInteger(value, label, 0, 255);
      return [{ 4: int('IP_TOS', tos), 6: int('IPV6_TCLASS', tos) }];
    }
    case 'mark':
      return [int('SO_MARK', validateInteger(value, label, 0, 2 ** 32 - 1) | 0)];
    case 'keepAlive':
      return keepAliveSettings(value);
    case 'sendBufferSize':
      return [int('SO_SNDBUF', validateInteger(value, label, 1, INT_MAX))];
    case 'receiveBufferSize':
      return [int('SO_RCVBUF', validateInteger(value, label, 1, INT_MAX))];
    case 'maxSegment':
      // The kernel says which sizes it takes (EINVAL outside 88..32767 today).
      return [int('TCP_MAXSEG', validateInteger(value, label, 0, INT_MAX))];
    case 'congestion':
      // An algorithm the kernel does not have is its ENOENT at that step.
      return [{ ...known('TCP_CONGESTION'), value: shortName(value, label) }];
    case 'fastOpen':
      validateBoolean(value, label);
      return [int('TCP_FASTOPEN_CONNECT', value ? 1 : 0)];
    case 'setsockopt':
      validateArray(value, label);
      return value.map((entry, i) => customSetting(entry, `${label}[${i}]`));
  }
}

/** Packs settings as native/posix_connect.h's Attempt::extra_options reads them. */
function pack(settings: Setting[]): Buffer | undefined {
  if (settings.length === 0) return undefined;
  const size = settings.reduce((n, s) => n + 12 + (typeof s.value === 'number' ? 4 : s.value.length), 0);
  const out = Buffer.alloc(size);
  const little = HOST_LITTLE_ENDIAN;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  for (const s of settings) {
    const bytes = typeof s.value === 'number' ? undefined : s.value;
    view.setInt32(at, s.level, little);
    view.setInt32(at + 4, s.name, little);
    // The top bit of the length marks bytes (native kOptionBytes): a
    // four-letter congestion name is not an int to show in the trace.
    view.setUint32(at + 8, bytes ? bytes.length + OPTION_BYTES : 4, little);
    at += 12;
    if (bytes) {
      bytes.copy(out, at);
      at += bytes.length;
    } else {
      view.setInt32(at, s.value as number, little);
      at += 4;
    }
  }
  return out;
}

export interface ListedOptions {
  /** native Mptcp: 0 off, 1 required, 2 preferred. */
  mptcp: 0 | 1 | 2;
  extra: { 4: Buffer | undefined; 6: Buffer | undefined; 0: Buffer | undefined } | undefined;
}

const NONE: ListedOptions = { mptcp: 0, extra: undefined };

/**
 * Checks the listed options and packs them in the order of the options
 * object's own keys, which is the order the caller wrote them in.
 */
export function prepareListed(options: Record<string, unknown>): ListedOptions {
  let mptcp: 0 | 1 | 2 = 0;
  if (options.mptcp !== undefined) {
    const m = validateOneOf(options.mptcp, 'options.mptcp', [true, false, 'prefer'] as const);
    mptcp = m === 'prefer' ? 2 : m ? 1 : 0;
  }
  let settings: (Setting | PerFamily)[] | undefined;
  for (const key of Object.keys(options)) {
    if (!listed.has(key) || options[key] === undefined) continue;
    (settings ??= []).push(...settingsOf(key as (typeof LISTED_OPTIONS)[number], options[key]));
  }
  if (settings === undefined) return mptcp === 0 ? NONE : { mptcp, extra: undefined };
  const forFamily = (family: 4 | 6) => pack(settings.map((s) => ('level' in s ? s : s[family])));
  const v4 = forFamily(4);
  const perFamily = settings.some((s) => !('level' in s));
  // AF_UNIX never sees tos (it is TCP only), so v4's list serves it.
  return { mptcp, extra: { 4: v4, 6: perFamily ? forFamily(6) : v4, 0: v4 } };
}
