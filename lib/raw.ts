/**
 * The step-by-step API: each function makes exactly one syscall and returns
 * what it said, `{ ret, errno?, code? }` plus its data. None of them throws
 * for a kernel error; they throw TypeError or RangeError only for malformed
 * arguments, before the call.
 *
 * They run on the calling thread and block it wherever the syscall blocks:
 * `poll`, `select` and `read` on a blocking fd, `connect` on a blocking
 * socket. Call `setNonblocking` first, as the algorithm does.
 *
 * The fds are yours: nothing here closes one behind your back, and nothing
 * stops you from closing a number that is not yours.
 *
 * @module
 */
import { addon, type NativeAddr, type NativeName, type NativeRawResult } from './binding';
import { errnoName } from './errnos';
import { notExact, invalidArgValue, outOfRange } from './errors';
import { MODE } from './mode';
import { parseTarget } from './validate';
import { HOST_LITTLE_ENDIAN, resolveOption, resolveSetting } from './sockopts';
import type { SocketLevelName, SocketOptionName, TcpInfo } from './types';
import { validateArray, validateBoolean, validateInteger, validateObject, validateOneOf } from './validators';
import { decodeEndpoint, decodeTcpInfo } from './wire';

// The portable mode has no addon: every call here throws
// ERR_NBCONNECT_NOT_EXACT first, before it reads its arguments.
const native = MODE === 'exact' ? addon.raw : (undefined as unknown as typeof addon.raw);

function exactOnly(call: string): void {
  if (MODE !== 'exact') throw notExact(call, 'nbconnect/raw makes each syscall itself');
}

/** What every call returns: ret as the syscall returned it, errno (positive) and its name when ret < 0. */
export interface RawResult {
  ret: number;
  errno?: number;
  code?: string;
}

function named<T extends NativeRawResult>(result: T): T & RawResult {
  if (result.errno !== undefined) (result as T & RawResult).code = errnoName(result.errno);
  return result;
}

const INT_MAX = 2 ** 31 - 1;

function checkFdList(fds: unknown): asserts fds is unknown[] {
  validateArray(fds, 'fds');
  if (fds.length === 0) throw invalidArgValue('fds', fds, 'must not be empty');
}
const checkFd = (fd: unknown, name = 'fd') => validateInteger(fd, name, 0, INT_MAX);

/** An address for bind or connect: an IP literal and port, a path, or their string forms. No name lookup. */
export type RawAddress = { host: string; port: number } | { path: string } | string;

function toNativeAddr(addr: unknown): NativeAddr {
  const parsed = parseTarget(addr, 'addr');
  if (parsed.kind === 'name') throw invalidArgValue('addr', parsed.host, 'must hold an IP literal; raw calls do no name lookup');
  if (parsed.kind === 'unix') return { family: 0, address: '', port: 0, path: parsed.path };
  return { family: parsed.family, address: parsed.address, port: parsed.port, path: '' };
}

/**
 * socket(2): `socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)`; family 4, 6 or
 * 'unix'. ret is the fd. Close-on-exec is set in the call itself, so a child
 * spawned meanwhile on another thread never inherits the socket.
 */
export function socket(family: 4 | 6 | 'unix', options: { mptcp?: boolean } = {}): RawResult {
  exactOnly('raw.socket');
  validateOneOf(family, 'family', [4, 6, 'unix']);
  validateObject(options, 'options');
  if (options.mptcp !== undefined) validateBoolean(options.mptcp, 'options.mptcp');
  // With mptcp: socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP).
  return named(native.socket(family === 'unix' ? 0 : family, options.mptcp ? native.constants.IPPROTO_MPTCP : 0));
}

/**
 * getsockopt(2) TCP_INFO: `info` is the kernel's view of the connection
 * (see TcpInfo), a field this kernel does not fill left out.
 */
export function getTcpInfo(fd: number): RawResult & { info?: TcpInfo } {
  exactOnly('raw.getTcpInfo');
  const { info, ...result } = native.getTcpInfo(checkFd(fd));
  return named(info === undefined ? result : { ...result, info: decodeTcpInfo(info) });
}

/** fcntl(2) F_GETFL: ret is the file status flags. */
export function getFlags(fd: number): RawResult {
  exactOnly('raw.getFlags');
  return named(native.fcntl(checkFd(fd), 0, 0));
}

/** fcntl(2) F_SETFL with `flags | O_NONBLOCK`; pass what getFlags returned to keep the other flags. */
export function setNonblocking(fd: number, flags = 0): RawResult {
  exactOnly('raw.setNonblocking');
  checkFd(fd);
  validateInteger(flags, 'flags', 0, INT_MAX);
  return named(native.fcntl(fd, 1, flags | native.constants.O_NONBLOCK));
}

/** An option name raw.setsockopt takes without a level. */
export type SocketOption = SocketOptionName;

/**
 * setsockopt(2). `name` is an option's constant name ('TCP_NODELAY',
 * 'SO_MARK', 'IP_TOS', 'TCP_CONGESTION', ... as for ConnectOptions.setsockopt),
 * whose level is implied; or give the level first, as a name or number,
 * for an option by number. The value is an int (a boolean is 0 or 1), or
 * the option's own bytes. SO_LINGER with a number or boolean sets
 * `{ l_onoff: value ? 1 : 0, l_linger: 0 }` (close sends RST).
 *
 * ```ts
 * raw.setsockopt(fd, 'TCP_NODELAY', true);
 * raw.setsockopt(fd, 'TCP_CONGESTION', Buffer.from('reno'));
 * raw.setsockopt(fd, 'SOL_SOCKET', 'SO_PRIORITY', 6);
 * raw.setsockopt(fd, 'IPPROTO_TCP', 37, 1); // an option by number
 * ```
 */
export function setsockopt(fd: number, name: SocketOptionName, value: number | boolean | Uint8Array): RawResult;
/** setsockopt(2) of an option at `level`, by name or number. */
export function setsockopt(fd: number, level: SocketLevelName | number, name: SocketOptionName | number, value: number | boolean | Uint8Array): RawResult;
export function setsockopt(fd: number, ...args: unknown[]): RawResult {
  exactOnly('raw.setsockopt');
  checkFd(fd);
  const [level, name, value] = args.length >= 3 ? args : [undefined, ...args];
  let v = typeof value === 'boolean' ? Number(value) : value;
  if (name === 'SO_LINGER' && typeof v === 'number') {
    const linger = Buffer.alloc(8);
    // struct linger { int l_onoff; int l_linger; }, in the host's byte order.
    if (HOST_LITTLE_ENDIAN) linger.writeInt32LE(v ? 1 : 0, 0);
    else linger.writeInt32BE(v ? 1 : 0, 0);
    v = linger;
  }
  const setting = resolveSetting(level, name, v, { level: 'level', name: 'name', value: 'value' });
  return named(native.setsockopt(fd, setting.level, setting.name, setting.value));
}

/**
 * getsockopt(2), named as for setsockopt: `value` is the int the kernel
 * wrote (when it wrote 4 bytes), `data` every byte of it, up to `size`
 * (default 4; TCP_CONGESTION needs 16, SO_BINDTODEVICE 16). An option by
 * number takes its level and the size: `getsockopt(fd, 'IPPROTO_TCP', 37, 4)`.
 *
 * ```ts
 * raw.getsockopt(fd, 'IP_TOS').value; // 16
 * raw.getsockopt(fd, 'TCP_CONGESTION', 16).data; // <Buffer 72 65 6e 6f 00 ...>
 * ```
 */
export function getsockopt(fd: number, name: SocketOptionName, size?: number): RawResult & { value?: number; data?: Buffer };
export function getsockopt(
  fd: number,
  level: SocketLevelName | number,
  name: SocketOptionName | number,
  size?: number,
): RawResult & { value?: number; data?: Buffer };
export function getsockopt(fd: number, ...args: unknown[]): RawResult & { value?: number; data?: Buffer } {
  exactOnly('raw.getsockopt');
  checkFd(fd);
  const levelFirst = args.length >= 3 || (args.length === 2 && typeof args[1] !== 'number');
  const [level, name, size = 4] = levelFirst ? args : [undefined, ...args];
  validateInteger(size, 'size', 1, 65536);
  const option = resolveOption(level, name, { level: 'level', name: 'name' });
  const result = named(native.getsockopt(fd, option.level, option.name, size as number));
  const data = result.data;
  if (data === undefined || data.length !== 4) return result;
  return { ...result, value: HOST_LITTLE_ENDIAN ? data.readInt32LE(0) : data.readInt32BE(0) };
}

/** bind(2). */
export function bind(fd: number, addr: RawAddress): RawResult {
  exactOnly('raw.bind');
  checkFd(fd);
  return named(native.bind(fd, toNativeAddr(addr)));
}

/** connect(2). On a nonblocking TCP socket expect -1 EINPROGRESS; again later, EALREADY or EISCONN. */
export function connect(fd: number, addr: RawAddress): RawResult {
  exactOnly('raw.connect');
  checkFd(fd);
  return named(native.connect(fd, toNativeAddr(addr)));
}

/** The events `poll` may watch for. */
export type PollEvent = 'POLLIN' | 'POLLPRI' | 'POLLOUT' | 'POLLRDHUP';
// POLLERR and POLLHUP are always reported and never asked for.
const POLL_EVENTS: readonly string[] = ['POLLIN', 'POLLPRI', 'POLLOUT', 'POLLRDHUP'];

function checkTimeout(timeout: unknown): number {
  if (timeout === undefined || timeout === -1) return -1;
  return validateInteger(timeout, 'timeout', 0, INT_MAX);
}

/**
 * poll(2) on `fds` (each watching `events`, default POLLOUT) for `timeout`
 * ms (-1 or absent: block). `revents[i]` names what came back for fds[i].
 * A signal's EINTR is not an answer about the fds: the call polls again for
 * what is left of the same timeout, so a signal neither ends the wait nor
 * restarts its clock.
 */
export function poll(fds: Array<{ fd: number; events?: PollEvent[] }>, timeout?: number): RawResult & { revents: string[][] } {
  exactOnly('raw.poll');
  checkFdList(fds);
  const list: number[] = [];
  const events: number[] = [];
  fds.forEach((entry, i) => {
    validateObject(entry, `fds[${i}]`);
    list.push(checkFd(entry.fd, `fds[${i}].fd`));
    let mask = 0;
    const names: unknown = entry.events ?? ['POLLOUT'];
    validateArray(names, `fds[${i}].events`);
    for (const name of names as string[]) {
      if (!POLL_EVENTS.includes(name) || native.constants[name] === undefined)
        throw invalidArgValue(`fds[${i}].events`, name, `must hold only ${POLL_EVENTS.join(', ')}`);
      mask |= native.constants[name];
    }
    events.push(mask);
  });
  return named(native.poll(list, events, checkTimeout(timeout)));
}

/** O_NONBLOCK and the poll(2) event bits, as this platform defines them; empty in the portable mode. */
export const constants: Readonly<Record<string, number>> = Object.freeze(MODE === 'exact' ? { ...native.constants } : {});

/** The largest fd select(2) can watch, plus one; NaN in the portable mode, which has no select(2). */
export const FD_SETSIZE = MODE === 'exact' ? addon.FD_SETSIZE : NaN;

/**
 * select(2) on `fds` (read and/or write sets; default write) for `timeout`
 * ms (-1 or absent: block). An fd >= FD_SETSIZE is a RangeError: FD_SET
 * would write past the fd_set. EINTR is retried as in `poll`, with the sets
 * asked for again.
 */
export function select(
  fds: Array<{ fd: number; read?: boolean; write?: boolean }>,
  timeout?: number,
): RawResult & { readable: boolean[]; writable: boolean[] } {
  exactOnly('raw.select');
  checkFdList(fds);
  const list: number[] = [];
  const reads: boolean[] = [];
  const writes: boolean[] = [];
  fds.forEach((entry, i) => {
    validateObject(entry, `fds[${i}]`);
    const fd = checkFd(entry.fd, `fds[${i}].fd`);
    if (fd >= FD_SETSIZE) throw outOfRange(`fds[${i}].fd`, `below FD_SETSIZE (${FD_SETSIZE}) for select(2); use poll`, fd);
    list.push(fd);
    reads.push(entry.read === true);
    writes.push(entry.write ?? !entry.read);
  });
  return named(native.select(list, reads, writes, checkTimeout(timeout)));
}

/** getsockopt(2) SO_ERROR: `value` is the pending error (0 for none), and reading it clears it. */
export function getSoError(fd: number): RawResult & { value?: number; valueCode?: string } {
  exactOnly('raw.getSoError');
  const result = named(native.getSoError(checkFd(fd))) as RawResult & { value?: number; valueCode?: string };
  if (result.value) result.valueCode = errnoName(result.value);
  return result;
}

/** What getsockname/getpeername return: the address in `family`/`address`/`port`, or `path`. */
export type Name = RawResult & { family?: 4 | 6 | 'unix'; address?: string; port?: number; path?: string };

function nameOf(result: NativeName): Name {
  const { endpoint, family, path, ...rest } = named(result);
  if (endpoint) return { ...rest, ...decodeEndpoint(endpoint) };
  return family === 0 ? { ...rest, family: 'unix', path } : rest;
}

/** getsockname(2). */
export function getsockname(fd: number): Name {
  exactOnly('raw.getsockname');
  return nameOf(native.getsockname(checkFd(fd)));
}

/** getpeername(2): ENOTCONN when not connected. */
export function getpeername(fd: number): Name {
  exactOnly('raw.getpeername');
  return nameOf(native.getpeername(checkFd(fd)));
}

/** read(2) of up to `n` bytes (0 is allowed, and is one of UNP's confirm methods). */
export function read(fd: number, n: number): RawResult & { data: Buffer } {
  exactOnly('raw.read');
  checkFd(fd);
  return named(native.read(fd, validateInteger(n, 'n', 0, 1 << 20)));
}

/** close(2). Never retried: Linux frees the fd even when close reports EINTR. */
export function close(fd: number): RawResult {
  exactOnly('raw.close');
  return named(native.close(checkFd(fd)));
}
