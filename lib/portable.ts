// The portable mode: one attempt at a literal address or a path, made with
// Node's own net.connect. It is the engine below connect() and probe(), so
// everything built on them (a name's lookup and its race, probe, probeMany,
// connectAny, Connector, createConnection, the command) keeps its API.
//
// What it can know is what net tells it: the 'connect' or 'error' event,
// with Node's code, errno and syscall, and the addresses libuv reports.
// The trace holds those events and our own destroy(), never a syscall it
// did not see. The deadline is a timer counted from the call that destroys
// the socket, as the exact engine's is its wait's.
import * as net from 'node:net';
import { constants } from 'node:os';

import { Connection, type AttemptRecord } from './connection';
import { abortError, ConnectError, invalidArgType, invalidArgValue, notExact, notStarted, selfConnected, socketClosed } from './errors';
import type { Pending } from './connect';
import { setLongTimeout } from './timers';
import type { ConnectOptions, Endpoint, Step } from './types';
import type { Prepared } from './validate';
import { validateBoolean, validateInteger } from './validators';

// ---- what only the exact engine does --------------------------------------------

const BEFORE_THE_SYN = 'it is a setsockopt(2) between socket() and connect(), and net.connect sets no option before the SYN';

/** Each option the portable mode refuses, and why: it needs a call net does not make. */
const KERNEL_ONLY: Readonly<Partial<Record<keyof ConnectOptions, string>>> = {
  wait: "it chooses the syscall that waits (epoll_wait, poll or select), and net's wait is libuv's own",
  confirm: 'it chooses the call that reads the verdict after the wake, which net makes itself',
  waitDelay: 'it delays the first wait after connect(), which net does not expose',
  synCount: BEFORE_THE_SYN,
  userTimeout: BEFORE_THE_SYN,
  bindAddressNoPort: BEFORE_THE_SYN,
  linger0: BEFORE_THE_SYN,
  bindToDevice: BEFORE_THE_SYN,
  tos: BEFORE_THE_SYN,
  mark: BEFORE_THE_SYN,
  sendBufferSize: BEFORE_THE_SYN,
  receiveBufferSize: BEFORE_THE_SYN,
  maxSegment: BEFORE_THE_SYN,
  congestion: BEFORE_THE_SYN,
  fastOpen: BEFORE_THE_SYN,
  setsockopt: BEFORE_THE_SYN,
  mptcp: 'it is a socket(2) protocol (IPPROTO_MPTCP), and net makes plain TCP sockets',
};

/**
 * Throws ERR_NBCONNECT_NOT_EXACT for an AF_UNIX target on Windows, and for
 * the first option given (any value but undefined) that only the exact
 * engine can honour; a `keepAlive` with an interval or a count is one (net
 * sets SO_KEEPALIVE and the idle time only).
 */
export function rejectKernelOnly(options: Record<string, unknown>, target: { kind: string }): void {
  // Node's net takes a path on Windows as a named pipe, which is not an
  // AF_UNIX socket: connecting there would answer another question.
  if (target.kind === 'unix' && process.platform === 'win32')
    throw notExact('an AF_UNIX target', 'on Windows, net.connect({ path }) opens a named pipe, not an AF_UNIX socket');
  for (const key of Object.keys(options)) {
    if (options[key] === undefined) continue;
    const why = KERNEL_ONLY[key as keyof ConnectOptions];
    if (why !== undefined) throw notExact(`options.${key}`, why);
  }
  const k = options.keepAlive;
  if (k !== null && typeof k === 'object') {
    const extra = (['interval', 'count'] as const).find((key) => (k as Record<string, unknown>)[key] !== undefined);
    if (extra !== undefined) throw notExact(`options.keepAlive.${extra}`, "net's setKeepAlive sets SO_KEEPALIVE and the idle time only");
  }
}

/** keepAlive as net takes it: on, and the idle time in ms (0: the system's). */
export interface PortableKeepAlive {
  keepAlive: boolean;
  keepAliveInitialDelay: number;
}

/** Checks `keepAlive` (true, false or { idle }, seconds) as the exact engine does, with its messages. */
export function portableKeepAlive(value: unknown): PortableKeepAlive | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return { keepAlive: value, keepAliveInitialDelay: 0 };
  if (value === null || typeof value !== 'object') throw invalidArgType('options.keepAlive', 'a boolean or an object with idle, interval and count', value);
  const k = value as Record<string, unknown>;
  const unknown = Object.keys(k).find((key) => key !== 'idle' && key !== 'interval' && key !== 'count');
  if (unknown !== undefined) throw invalidArgValue(`options.keepAlive.${unknown}`, k[unknown], 'is not a keepAlive setting (idle, interval, count)');
  const idle = k.idle === undefined ? 0 : validateInteger(k.idle, 'options.keepAlive.idle', 1, 32767);
  return { keepAlive: true, keepAliveInitialDelay: idle * 1000 };
}

/** noDelay as net takes it (net sets it once connected). */
export function portableNoDelay(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  validateBoolean(value, 'options.noDelay');
  return value;
}

// ---- one attempt ----------------------------------------------------------------

/** ms on process.hrtime's clock, as the exact engine's `start`. */
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** A net.Socket's fd where libuv exposes one; -1 elsewhere and once closed. */
function fdOf(socket: net.Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: number } | null })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

/**
 * A connection made by net: the net.Socket is its handle, owned by this
 * object until close() or toSocket(). While open it keeps the event loop
 * alive, as any connected net.Socket does.
 */
export class PortableConnection extends Connection {
  #socket: net.Socket | undefined;
  readonly #steps: Step[];
  readonly #start: number;
  readonly #keepError = (): void => undefined;

  /** @internal */
  constructor(record: AttemptRecord & { stepList: Step[] }, target: Endpoint, socket: net.Socket) {
    super(record, target);
    this.#socket = socket;
    this.#steps = record.stepList;
    this.#start = record.start;
    // An error after the connect (a reset while nobody reads) must not be
    // an unhandled 'error' event: whoever takes the socket handles its own.
    socket.on('error', this.#keepError);
  }

  override get exact(): boolean {
    return false;
  }

  override get fd(): number {
    return this.#socket === undefined ? -1 : fdOf(this.#socket);
  }

  /** Not in the portable mode: TCP_INFO is a getsockopt(2), which net does not make. */
  override tcpInfo(): never {
    throw notExact('Connection.tcpInfo()', 'TCP_INFO is read with getsockopt(2), which net does not expose');
  }

  /** The net.Socket itself, which owns the connection from then on. */
  override toSocket(): net.Socket {
    const socket = this.#socket;
    if (socket === undefined) throw socketClosed('toSocket()');
    this.#socket = undefined;
    socket.removeListener('error', this.#keepError);
    return socket;
  }

  /** destroy() of the net.Socket, traced as a step. Closing twice is a no-op. */
  override close(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    socket.destroy();
    this.#steps.push({ call: 'net', arg: 'destroy', ret: 0, at: now() - this.#start });
  }
}

const ETIMEDOUT = constants.errno.ETIMEDOUT;

/**
 * Starts one attempt at `endpoint` with `timeout` ms left of the call's
 * deadline (-1: none) and settles `entry` once: with a Connection, or a
 * ConnectError carrying Node's code, errno and syscall.
 */
export function startPortable(prepared: Prepared, endpoint: Endpoint, timeout: number, entry: Pending): void {
  const { signal, socket: spec, portable } = prepared;
  const start = now();
  const steps: Step[] = [];
  const at = () => now() - start;
  entry.endpoint = endpoint;
  // A deadline already passed (timeout: 0, or a lookup that used it up)
  // makes no connect, as in the exact engine: a 0 ms timer would lose the
  // race to a loopback connect.
  if (timeout === 0) {
    return entry.settle({ error: notStarted(endpoint) });
  }

  const socket =
    'path' in endpoint
      ? net.connect({ path: endpoint.path })
      : net.connect({
          host: endpoint.address,
          port: endpoint.port,
          family: endpoint.family,
          // A literal: net makes no lookup and races nothing.
          autoSelectFamily: false,
          ...(spec.localAddress !== undefined && { localAddress: spec.localAddress }),
          ...(spec.localPort >= 0 && { localPort: spec.localPort }),
          ...(portable.noDelay !== undefined && { noDelay: portable.noDelay }),
          ...portable.keepAlive,
        } as net.TcpNetConnectOpts);

  let settled = false;
  const settle = (verdict: { connection?: Connection; error?: ConnectError }) => {
    if (settled) return;
    settled = true;
    cancelTimer();
    signal?.removeEventListener('abort', onAbort);
    socket.removeListener('connect', onConnect);
    socket.removeListener('error', onError);
    entry.settle(verdict);
  };
  const destroy = () => {
    socket.destroy();
    steps.push({ call: 'net', arg: 'destroy', ret: 0, at: at() });
  };
  const failure = (code: string, posixErrno: number | undefined, syscall: string, phase: 'async' | 'timeout', message?: string) =>
    new ConnectError({ code, posixErrno, syscall, target: endpoint, phase, elapsed: at(), steps, message });

  function onConnect() {
    steps.push({ call: 'net', arg: 'connect', ret: 0, at: at() });
    const elapsed = at();
    const local = { address: socket.localAddress, port: socket.localPort };
    const remote = { address: socket.remoteAddress, port: socket.remotePort };
    if (!('path' in endpoint) && local.port !== undefined && local.address === remote.address && local.port === remote.port) {
      destroy();
      return settle({ error: selfConnected(endpoint, 'connect', 'async', at(), steps) });
    }
    const record = {
      fd: -1,
      phase: 'async' as const,
      start,
      elapsed,
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      stepList: steps,
      steps: () => steps,
      tcpInfo: () => undefined,
      keep() {
        return this;
      },
    };
    const connection = new PortableConnection(record, endpoint, socket);
    if (spec.closeWhenConnected) connection.close();
    settle({ connection });
  }

  function onError(err: NodeJS.ErrnoException) {
    const posixErrno = typeof err.errno === 'number' ? -err.errno : undefined;
    const code = err.code ?? 'UNKNOWN';
    steps.push({ call: 'net', arg: 'error', ret: -1, ...(posixErrno !== undefined && { errno: posixErrno }), code, at: at() });
    socket.destroy();
    settle({ error: failure(code, posixErrno, err.syscall ?? 'connect', 'async') });
  }

  function onAbort() {
    destroy();
    settle({ error: abortError(endpoint, at(), steps, signal!.reason) });
  }

  socket.once('connect', onConnect);
  socket.once('error', onError);
  const cancelTimer =
    timeout < 0
      ? () => undefined
      : setLongTimeout(() => {
          destroy();
          settle({ error: failure('ETIMEDOUT', ETIMEDOUT, 'connect', 'timeout') });
        }, timeout);
  signal?.addEventListener('abort', onAbort, { once: true });
}
