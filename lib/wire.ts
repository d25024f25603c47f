// The numeric wire between lib/ and the binding, mirrored from native/wire.h.
// Results cross as float64 slots; the objects a caller reads are built here,
// in JS, and steps only when they are read.
import { layoutMismatch } from './errors';
import { addon, type NativeLayout, type SocketSpec } from './binding';
import { errnoName } from './errnos';
import { MODE } from './mode';
import type { Confirm, Endpoint, Step, TcpInfo, Wait } from './types';
import { ARG_NAMES, SOCKET_LEVEL_NAMES, SOCKET_OPTION_NAMES, SYSCALL_NAMES, TCP_INFO_FIELDS } from './vocabulary';

// The portable mode has no addon and no wire: lib/'s own names and order
// stand in for the native tables (nothing is packed or decoded), and the
// tables of socket options and TCP_INFO are empty.
const layout: NativeLayout | undefined = MODE === 'exact' ? addon.layout : undefined;

/**
 * Slot numbers by name, from the native side's own table. Every name lib/
 * reads must be there, and every name there must be one lib/ knows: a
 * binary built from another wire.h fails here, at load, not with garbled
 * results later.
 */
function slotsOf<const N extends string>(
  table: string,
  native: Record<string, number> | readonly (string | null)[] | undefined,
  names: readonly N[],
): Readonly<Record<N, number>> {
  if (native === undefined) return Object.freeze(Object.fromEntries(names.map((name, i) => [name, i]))) as Record<N, number>;
  const entries: [string, number][] = Array.isArray(native)
    ? (native as readonly (string | null)[]).map((name, i) => [String(name), i])
    : Object.entries(native as Record<string, number>);
  const known = new Set<string>(names);
  const found = new Set(entries.map(([name]) => name));
  const missing = names.filter((n) => !found.has(n));
  const extra = [...found].filter((n) => !known.has(n));
  if (missing.length || extra.length) throw layoutMismatch(table, missing, extra);
  return Object.freeze(Object.fromEntries(entries)) as Record<N, number>;
}

/** A name table the native side exports, checked against what lib/ spells. */
function namesOf<const N extends string>(table: string, native: readonly (string | null)[] | undefined, names: readonly N[]): readonly (N | undefined)[] {
  if (native === undefined) return Object.freeze([...names]);
  slotsOf(
    table,
    native.filter((n) => n !== null),
    names,
  );
  return Object.freeze(native.map((n) => (n === null ? undefined : (n as N))));
}

const Spec = slotsOf('spec', layout?.spec, [
  'client',
  'family',
  'port',
  'localPort',
  'wait',
  'timeout',
  'noDelay',
  'synCount',
  'userTimeout',
  'bindNoPort',
  'linger0',
  'confirm',
  'waitDelay',
  'closeWhenConnected',
  'mptcp',
]);
const SPEC_SLOTS = layout?.spec.length ?? 0;
const Res = slotsOf('result', layout?.result, [
  'id',
  'fd',
  'posixErrno',
  'syscall',
  'phase',
  'why',
  'start',
  'elapsed',
  'localFamily',
  'localPort',
  'localWords',
  'localScope',
  'remoteFamily',
  'remotePort',
  'remoteWords',
  'remoteScope',
  'stepCount',
  'tcpInfoSlots',
  'sequel',
  'batch',
  'tag',
  'headerSlots',
]);
const T = slotsOf('target', layout?.target, ['address', 'port', 'tag']);
/** probeStart's slots per target. */
export const TARGET_SLOTS = layout?.target.length ?? 0;
const S = slotsOf('step', layout?.step, ['packed', 'ret', 'errno', 'value', 'revents', 'at', 'option']);
const STEP_SLOTS = layout?.step.length ?? 0;
const HEADER_SLOTS = Res.headerSlots;
// Only pack() and Result read it, and the portable mode calls neither.
const P = layout?.packing ?? { argUnit: 1, detailUnit: 1, readableBit: 0, writableBit: 0, revents: 0, sets: 0, value: 0, optionBytes: 0 };

const CALLS = namesOf('call', layout?.calls, SYSCALL_NAMES);
const ARGS = namesOf('arg', layout?.args, ARG_NAMES);
const OPTION_ARG = ARGS.indexOf('option');
const PHASES = namesOf('phase', layout?.phases, ['immediate', 'async', 'timeout', 'aborted'] as const);
/** The native wait kinds' numbers, by name, for pack(). */
export const WAIT_NUMBER = slotsOf('wait', layout?.waits, ['poll', 'select', 'epoll'] as const satisfies readonly Wait[]);
/** A wait's name from its native number. */
export const waitName = (number: number): Wait => (Object.keys(WAIT_NUMBER) as Wait[]).find((name) => WAIT_NUMBER[name] === number)!;
export const CONFIRM_NUMBER = slotsOf('confirm', layout?.confirms, ['so_error', 'getpeername', 'read', 'reconnect'] as const satisfies readonly Confirm[]);
const WHY_TEXT: Record<string, string> = {
  fd_setsize: "fd is >= FD_SETSIZE (1024), which select(2) cannot watch; use wait: 'poll' or 'epoll'",
  not_started: 'the deadline passed before its turn to start (it queued behind other connects, or the timeout was 0): no SYN was sent',
};
/**
 * A deadline or cancel of the epoll engine settles before its close:
 * `close_follows` marks that verdict, and a later result with the same id,
 * `steps`, carries the steps taken after it (native/engine.h).
 */
export const SEQUEL = slotsOf('sequel', layout?.sequels, ['none', 'close_follows', 'steps'] as const);
const WHY = namesOf('why', layout?.whys, ['fd_setsize', 'not_started']).map((name) => (name === undefined ? undefined : WHY_TEXT[name]));
const POLL_EVENTS = layout?.pollEvents ?? [];
const EPOLL_EVENTS = layout?.epollEvents ?? [];
const EPOLL_WAIT = CALLS.indexOf('epoll_wait');

const NATIVE_LEVELS = layout?.socketLevels ?? [];
const NATIVE_OPTIONS = layout?.socketOptions ?? [];
// The portable mode has no native tables to check against.
if (layout !== undefined) {
  slotsOf(
    'socket level',
    NATIVE_LEVELS.map(([name]) => name),
    SOCKET_LEVEL_NAMES,
  );
  slotsOf(
    'socket option',
    NATIVE_OPTIONS.map(([name]) => name),
    SOCKET_OPTION_NAMES,
  );
  slotsOf('TCP_INFO', layout.tcpInfo, TCP_INFO_FIELDS);
}

/** Socket levels by name ('SOL_SOCKET', 'IPPROTO_TCP', ...), with this system's numbers. */
export const SOCKET_LEVELS: ReadonlyMap<string, number> = new Map(NATIVE_LEVELS.map(([name, , number]) => [name, number]));
/** Socket options by name ('SO_MARK', 'TCP_MAXSEG', ...): their level and number here. */
export const SOCKET_OPTIONS: ReadonlyMap<string, { level: number; name: number }> = new Map(
  NATIVE_OPTIONS.map(([name, level, number]) => [name, { level, name: number }]),
);
// A traced option's names, from its level and number: the first spelling
// of each (IPPROTO_TCP, not SOL_TCP).
const levelNames = new Map<number, string>();
for (const [name, , number] of NATIVE_LEVELS) if (!levelNames.has(number)) levelNames.set(number, name);
const optionNames = new Map<number, string>(NATIVE_OPTIONS.map(([name, level, number]) => [level * 65536 + number, name]));

/** The kernel's TCP_INFO, as `Connection.tcpInfo()` and a probe's Outcome give it. */
// Checked at load against the addon's table, like every name above; the
// portable mode decodes none. TcpInfo (lib/types.ts, with a doc per field)
// has exactly these keys, checked both ways at compile time.
const TCP_INFO_NAMES: readonly (keyof TcpInfo)[] = layout === undefined ? [] : TCP_INFO_FIELDS;
const tcpInfoKeysMatch: [Exclude<keyof TcpInfo, (typeof TCP_INFO_FIELDS)[number]>, Exclude<(typeof TCP_INFO_FIELDS)[number], keyof TcpInfo>] extends [
  never,
  never,
]
  ? true
  : false = true;
void tcpInfoKeysMatch;
const TCP_STATES = layout?.tcpStates ?? [];

// Every probe's Outcome has one: built from a template with every field
// in place, it is a fast object of one shape, ~1 us; an empty object given
// fifty fields one by one, from a site that sees every name, took ~9 us in
// a scan and made most of its garbage.
const TCP_INFO_TEMPLATE: Record<string, number | string> = {};
for (const name of TCP_INFO_NAMES) TCP_INFO_TEMPLATE[name] = 0;

/** TCP_INFO's slots as an object; a field the kernel did not fill is left out. */
export function decodeTcpInfo(slots: ArrayLike<number>, at = 0): TcpInfo {
  const info = { ...TCP_INFO_TEMPLATE };
  for (let i = 0; i < TCP_INFO_NAMES.length; i++) {
    const v = slots[at + i];
    // An older kernel's shorter struct: its newer fields are left out.
    if (Number.isNaN(v)) delete info[TCP_INFO_NAMES[i]];
    else info[TCP_INFO_NAMES[i]] = v;
  }
  info.state = TCP_STATES[info.state as number] ?? String(info.state);
  return info as unknown as TcpInfo;
}

export type NativePhase = NonNullable<(typeof PHASES)[number]>;

// One scratch array: every call that takes it is synchronous.
const scratch = new Float64Array(SPEC_SLOTS);

/**
 * Packs an attempt for connectStart / connectSync: the socket spec, the
 * endpoint's family and port, the deadline (ms, -1 for none). Returns the
 * scratch array; the address or path goes as a string beside it.
 */
export function pack(spec: SocketSpec, endpoint: Endpoint, timeout: number, client: number): Float64Array {
  scratch[Spec.client] = client;
  scratch[Spec.family] = 'path' in endpoint ? 0 : endpoint.family;
  scratch[Spec.port] = 'path' in endpoint ? 0 : endpoint.port;
  scratch[Spec.localPort] = spec.localPort;
  scratch[Spec.wait] = spec.wait;
  scratch[Spec.timeout] = timeout;
  scratch[Spec.noDelay] = spec.noDelay;
  scratch[Spec.synCount] = spec.synCount;
  scratch[Spec.userTimeout] = spec.userTimeout;
  scratch[Spec.bindNoPort] = spec.bindAddressNoPort;
  scratch[Spec.linger0] = spec.linger0;
  scratch[Spec.confirm] = spec.confirm;
  scratch[Spec.waitDelay] = spec.waitDelay;
  scratch[Spec.closeWhenConnected] = spec.closeWhenConnected ? 1 : 0;
  scratch[Spec.mptcp] = spec.mptcp;
  return scratch;
}

/** Writes one target of a probeStart call at `index` of `targets`. */
export function packTarget(targets: Float64Array, index: number, address: number, port: number, tag: number): void {
  const at = index * TARGET_SLOTS;
  targets[at + T.address] = address;
  targets[at + T.port] = port;
  targets[at + T.tag] = tag;
}

function formatAddress(buf: ArrayLike<number>, at: number, family: number): string {
  if (family === 4) {
    const w = buf[at];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) groups.push(buf[at + i] >>> 16, buf[at + i] & 0xffff);
  // RFC 5952: the longest run of two or more zero groups becomes '::'.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  // As inet_ntop (glibc, libuv: what net.Socket reports) prints them, an
  // IPv4-mapped address reads ::ffff:a.b.c.d and an IPv4-compatible one
  // (six zero groups first) ::a.b.c.d.
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff) return `::ffff:${formatAddress(buf, at + 3, 4)}`;
  if (bestStart === 0 && bestLength === 6) return `::${formatAddress(buf, at + 3, 4)}`;
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * An end's address as net.Socket reports it: a link-local IPv6 address
 * (fe80::/10) with its zone, 'fe80::1%eth0'.
 */
function endpointAddress(buf: ArrayLike<number>, familyAt: number, wordsAt: number, scopeAt: number): string | undefined {
  const family = buf[familyAt];
  if (!family) return undefined;
  const text = formatAddress(buf, wordsAt, family);
  const scope = buf[scopeAt];
  const linkLocal = family === 6 && buf[wordsAt] >>> 22 === 0x3fa; // fe80::/10
  return linkLocal && scope !== 0 ? `${text}%${addon.interfaceName(scope)}` : text;
}

/**
 * An address the binding sent outside a result (getsockname, getpeername,
 * getaddrinfo) in a result's endpoint layout: family, port, four words, scope.
 */
export function decodeEndpoint(slots: Float64Array): { family: 4 | 6; address: string; port: number } {
  return { family: slots[0] as 4 | 6, address: endpointAddress(slots, 0, 2, 6) ?? '', port: slots[1] };
}

// Most event values repeat ([], ['POLLOUT'], the refused triple): one
// frozen array per value instead of one per step.
const eventsCache = [new Map<number, readonly string[]>(), new Map<number, readonly string[]>()];
function eventNames(bits: number, epoll: boolean): string[] {
  const cache = eventsCache[epoll ? 1 : 0];
  let names = cache.get(bits);
  if (names === undefined) {
    names = Object.freeze((epoll ? EPOLL_EVENTS : POLL_EVENTS).filter(([bit]) => bits & bit).map(([, name]) => name));
    cache.set(bits, names);
  }
  return names as string[];
}

/**
 * One result, decoded from the wire. It reads its slots from the batch it
 * came in until keep() copies them out: a Connection and an error keep
 * theirs (and build steps only when read), so that neither holds a batch
 * of other results alive; an error whose close follows (a deadline or an
 * abort of the epoll engine) keeps its own when the close comes.
 */
export class Result {
  readonly id: number;
  readonly fd: number;
  /** Positive errno (as ConnectError.posixErrno), 0 for success, -1 for a self-connect. */
  readonly posixErrno: number;
  readonly syscall: string;
  readonly phase: NativePhase;
  readonly why: string | undefined;
  /** ms on process.hrtime's clock. */
  readonly start: number;
  readonly elapsed: number;
  /** SEQUEL's numbers: none, a verdict whose close follows, or the steps after one. */
  readonly sequel: number;
  /** probeStart's batch number, 0 for a single attempt; and the batch's tag for its target. */
  readonly batch: number;
  readonly tag: number;
  readonly size: number;
  // The batch until keep(); then a plain array of this result's slots.
  private encoded: ArrayLike<number>;
  private at: number;

  constructor(buf: Float64Array, at: number) {
    this.encoded = buf;
    this.at = at;
    this.size = HEADER_SLOTS + buf[at + Res.stepCount] * STEP_SLOTS + buf[at + Res.tcpInfoSlots];
    this.id = buf[at + Res.id];
    this.fd = buf[at + Res.fd];
    this.posixErrno = buf[at + Res.posixErrno];
    this.syscall = CALLS[buf[at + Res.syscall]]!;
    this.phase = PHASES[buf[at + Res.phase]]!;
    this.why = WHY[buf[at + Res.why]];
    this.start = buf[at + Res.start];
    this.elapsed = buf[at + Res.elapsed];
    this.sequel = buf[at + Res.sequel];
    this.batch = buf[at + Res.batch];
    this.tag = buf[at + Res.tag];
  }

  /** Copies this result out of its batch, for an owner that outlives it. */
  keep(): this {
    if (this.at !== 0 || this.encoded.length !== this.size) {
      // A plain array, copied slot by slot: a typed array's slice() costs
      // about 2.5 us here, ten times this, and every error keeps its result.
      const slots = new Array<number>(this.size);
      for (let i = 0; i < this.size; i++) slots[i] = this.encoded[this.at + i];
      this.encoded = slots;
      this.at = 0;
    }
    return this;
  }

  get localAddress(): string | undefined {
    return endpointAddress(this.encoded, this.at + Res.localFamily, this.at + Res.localWords, this.at + Res.localScope);
  }
  get localPort(): number | undefined {
    return this.encoded[this.at + Res.localFamily] ? this.encoded[this.at + Res.localPort] : undefined;
  }
  get remoteAddress(): string | undefined {
    return endpointAddress(this.encoded, this.at + Res.remoteFamily, this.at + Res.remoteWords, this.at + Res.remoteScope);
  }
  get remotePort(): number | undefined {
    return this.encoded[this.at + Res.remoteFamily] ? this.encoded[this.at + Res.remotePort] : undefined;
  }

  /** A probe's TCP_INFO, read right after the verdict; undefined when none was taken. */
  tcpInfo(): TcpInfo | undefined {
    if (this.encoded[this.at + Res.tcpInfoSlots] === 0) return undefined;
    return decodeTcpInfo(this.encoded, this.at + HEADER_SLOTS + this.encoded[this.at + Res.stepCount] * STEP_SLOTS);
  }

  /** Builds the Step objects; each call makes a fresh array. */
  steps(): Step[] {
    const e = this.encoded;
    const count = e[this.at + Res.stepCount];
    const steps = new Array<Step>(count);
    for (let i = 0, at = this.at + HEADER_SLOTS; i < count; i++, at += STEP_SLOTS) {
      const packed = e[at + S.packed];
      const detail = Math.floor(packed / P.detailUnit) & 7;
      const call = packed % P.argUnit;
      const step: Step = { call: CALLS[call]!, ret: e[at + S.ret], at: e[at + S.at] };
      const argNumber = Math.floor(packed / P.argUnit) % (P.detailUnit / P.argUnit);
      if (argNumber === OPTION_ARG) {
        // One of the caller's options: named from its level and number.
        const option = e[at + S.option];
        const level = Math.floor(option / 65536);
        const name = option % 65536;
        step.level = levelNames.get(level) ?? String(level);
        step.arg = optionNames.get(option) ?? String(name);
      } else {
        const arg = ARGS[argNumber];
        if (arg !== undefined) step.arg = arg;
      }
      if (step.ret < 0) {
        step.errno = e[at + S.errno];
        step.code = errnoName(step.errno);
      }
      if (detail & P.revents) {
        if (call === EPOLL_WAIT) step.events = eventNames(e[at + S.revents], true);
        else step.revents = eventNames(e[at + S.revents], false);
      }
      if (detail & P.sets) {
        step.readable = (packed & P.readableBit) !== 0;
        step.writable = (packed & P.writableBit) !== 0;
      }
      if (detail & P.value) step.value = e[at + S.value];
      steps[i] = step;
    }
    return steps;
  }
}

/** Decodes a batch: results back to back. */
export function decodeBatch(buf: Float64Array): Result[] {
  const results: Result[] = [];
  for (let at = 0; at < buf.length;) {
    const result = new Result(buf, at);
    results.push(result);
    at += result.size;
  }
  return results;
}
