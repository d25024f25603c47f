// The numeric wire between lib/ and the binding, mirrored from native/wire.h.
// Results cross as float64 slots; the objects a caller reads are built here,
// in JS, and steps only when they are read.
import { addon, type SocketSpec } from './binding';
import { errnoName } from './errnos';
import type { Endpoint, Step } from './types';

const enum Spec {
  Id,
  Family,
  Port,
  LocalPort,
  Wait,
  Timeout,
  NoDelay,
  SynCount,
  UserTimeout,
  BindNoPort,
  Linger0,
  Confirm,
  WaitDelay,
  CloseWhenConnected,
  Slots,
}

const enum Res {
  Id,
  Fd,
  PosixErrno,
  Syscall,
  Phase,
  Why,
  Start,
  Elapsed,
  LocalFamily,
  LocalPort,
  LocalWords,
  LocalScope = LocalWords + 4,
  RemoteFamily,
  RemotePort,
  RemoteWords,
  RemoteScope = RemoteWords + 4,
  StepCount,
  HeaderSlots,
}

const enum S {
  Packed,
  Ret,
  Errno,
  Value,
  Revents,
  At,
  Slots,
}

// The native enums, in their order.
const CALLS = ['socket', 'fcntl', 'setsockopt', 'bind', 'connect', 'poll', 'select', 'getsockopt', 'getsockname', 'getpeername', 'read', 'close'] as const;
const ARGS = [
  undefined,
  'F_GETFL',
  'F_SETFL',
  'F_SETFD',
  'SO_ERROR',
  'TCP_NODELAY',
  'TCP_SYNCNT',
  'TCP_USER_TIMEOUT',
  'IP_BIND_ADDRESS_NO_PORT',
  'SO_LINGER',
  'SOCK_STREAM|SOCK_CLOEXEC',
] as const;
const PHASES = ['immediate', 'async', 'timeout', 'aborted'] as const;
const WHY = [undefined, "fd is >= FD_SETSIZE (1024), which select(2) cannot watch; use wait: 'poll'"] as const;
const REVENTS = ['POLLIN', 'POLLPRI', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL', 'POLLRDHUP']
  .filter((name) => addon.raw.constants[name] !== undefined)
  .map((name) => [addon.raw.constants[name], name] as const);
const DETAIL_REVENTS = 1;
const DETAIL_SETS = 2;
const DETAIL_VALUE = 4;

export type NativePhase = (typeof PHASES)[number];

// One scratch array: every call that takes it is synchronous.
const scratch = new Float64Array(Spec.Slots);

/**
 * Packs an attempt for connectStart / connectSync: the socket spec, the
 * endpoint's family and port, the deadline (ms, -1 for none). Returns the
 * scratch array; the address or path goes as a string beside it.
 */
export function pack(spec: SocketSpec, endpoint: Endpoint, timeout: number, id: number): Float64Array {
  scratch[Spec.Id] = id;
  scratch[Spec.Family] = 'path' in endpoint ? 0 : endpoint.family;
  scratch[Spec.Port] = 'path' in endpoint ? 0 : endpoint.port;
  scratch[Spec.LocalPort] = spec.localPort;
  scratch[Spec.Wait] = spec.wait;
  scratch[Spec.Timeout] = timeout;
  scratch[Spec.NoDelay] = spec.noDelay;
  scratch[Spec.SynCount] = spec.synCount;
  scratch[Spec.UserTimeout] = spec.userTimeout;
  scratch[Spec.BindNoPort] = spec.bindAddressNoPort;
  scratch[Spec.Linger0] = spec.linger0;
  scratch[Spec.Confirm] = spec.confirm;
  scratch[Spec.WaitDelay] = spec.waitDelay;
  scratch[Spec.CloseWhenConnected] = spec.closeWhenConnected ? 1 : 0;
  return scratch;
}

function formatAddress(buf: Float64Array, at: number, family: number): string {
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
  // An IPv4-mapped address reads as ::ffff:a.b.c.d, as inet_ntop prints it.
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff) return `::ffff:${formatAddress(buf, at + 3, 4)}`;
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * An end's address as net.Socket reports it: a link-local IPv6 address
 * (fe80::/10) with its zone, 'fe80::1%eth0'.
 */
function endpointAddress(buf: Float64Array, familyAt: number, wordsAt: number, scopeAt: number): string | undefined {
  const family = buf[familyAt];
  if (!family) return undefined;
  const text = formatAddress(buf, wordsAt, family);
  const scope = buf[scopeAt];
  const linkLocal = family === 6 && buf[wordsAt] >>> 22 === 0x3fa; // fe80::/10
  return linkLocal && scope !== 0 ? `${text}%${addon.interfaceName(scope)}` : text;
}

// Most revents values repeat ([], ['POLLOUT'], the refused triple): one
// frozen array per value instead of one per step.
const reventsCache = new Map<number, readonly string[]>();
function reventsNames(bits: number): string[] {
  let names = reventsCache.get(bits);
  if (names === undefined) {
    names = Object.freeze(REVENTS.filter(([bit]) => bits & bit).map(([, name]) => name));
    reventsCache.set(bits, names);
  }
  return names as string[];
}

/**
 * One result, decoded from the wire. It reads its slots from the batch it
 * came in until keep() copies them out: a Connection keeps its result (and
 * builds steps only when read), an error builds its steps at once and lets
 * the batch go.
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
  readonly size: number;
  private encoded: Float64Array;
  private at: number;

  constructor(buf: Float64Array, at: number) {
    this.encoded = buf;
    this.at = at;
    this.size = Res.HeaderSlots + buf[at + Res.StepCount] * S.Slots;
    this.id = buf[at + Res.Id];
    this.fd = buf[at + Res.Fd];
    this.posixErrno = buf[at + Res.PosixErrno];
    this.syscall = CALLS[buf[at + Res.Syscall]];
    this.phase = PHASES[buf[at + Res.Phase]];
    this.why = WHY[buf[at + Res.Why]];
    this.start = buf[at + Res.Start];
    this.elapsed = buf[at + Res.Elapsed];
  }

  /** Copies this result out of its batch, for an owner that outlives it. */
  keep(): this {
    if (this.at !== 0 || this.encoded.length !== this.size) {
      this.encoded = this.encoded.slice(this.at, this.at + this.size);
      this.at = 0;
    }
    return this;
  }

  get localAddress(): string | undefined {
    return endpointAddress(this.encoded, this.at + Res.LocalFamily, this.at + Res.LocalWords, this.at + Res.LocalScope);
  }
  get localPort(): number | undefined {
    return this.encoded[this.at + Res.LocalFamily] ? this.encoded[this.at + Res.LocalPort] : undefined;
  }
  get remoteAddress(): string | undefined {
    return endpointAddress(this.encoded, this.at + Res.RemoteFamily, this.at + Res.RemoteWords, this.at + Res.RemoteScope);
  }
  get remotePort(): number | undefined {
    return this.encoded[this.at + Res.RemoteFamily] ? this.encoded[this.at + Res.RemotePort] : undefined;
  }

  /** Builds the Step objects; each call makes a fresh array. */
  steps(): Step[] {
    const e = this.encoded;
    const count = e[this.at + Res.StepCount];
    const steps = new Array<Step>(count);
    for (let i = 0, at = this.at + Res.HeaderSlots; i < count; i++, at += S.Slots) {
      const packed = e[at + S.Packed];
      const detail = (packed >> 8) & 7;
      const step: Step = { call: CALLS[packed & 15], ret: e[at + S.Ret], at: e[at + S.At] };
      const arg = ARGS[(packed >> 4) & 15];
      if (arg !== undefined) step.arg = arg;
      if (step.ret < 0) {
        step.errno = e[at + S.Errno];
        step.code = errnoName(step.errno);
      }
      if (detail & DETAIL_REVENTS) step.revents = reventsNames(e[at + S.Revents]);
      if (detail & DETAIL_SETS) {
        step.readable = (packed & 2048) !== 0;
        step.writable = (packed & 4096) !== 0;
      }
      if (detail & DETAIL_VALUE) step.value = e[at + S.Value];
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
