import * as net from 'node:net';

import { addon } from './binding';
import { errnoName } from './errnos';
import { ConnectError, socketClosed, systemError } from './errors';
import { attemptOutcomes, type RaceRecord } from './outcome';
import type { Endpoint, Outcome, Step, TcpInfo } from './types';
import { decodeTcpInfo, type NativePhase } from './wire';

// A Connection dropped without close() or toSocket() would leak its fd. The
// number is still ours, since only this object owns it, so closing it at
// collection is safe; it is also a bug in the caller, so say so.
const leaked = new FinalizationRegistry<number>((fd) => {
  addon.close(fd);
  process.emitWarning(`nbconnect: a Connection was garbage-collected while open; closed fd ${fd}`, 'ResourceWarning');
});

/** A close step made on this side, after the algorithm handed the fd over. */
export function closeStep(fd: number, start: number): Step {
  const posixErrno = addon.close(fd);
  const step: Step = { call: 'close', ret: posixErrno === 0 ? 0 : -1, at: Number(process.hrtime.bigint()) / 1e6 - start };
  if (posixErrno !== 0) Object.assign(step, { errno: posixErrno, code: errnoName(posixErrno) });
  return step;
}

/**
 * What a Connection reads of its attempt: the native Result (lib/wire.ts),
 * or the portable mode's record of what net reported.
 */
export interface AttemptRecord {
  readonly fd: number;
  readonly phase: NativePhase;
  /** ms on process.hrtime's clock. */
  readonly start: number;
  readonly elapsed: number;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Copies the record out of anything shared, for an owner that outlives it. */
  keep(): AttemptRecord;
  steps(): Step[];
  tcpInfo(): TcpInfo | undefined;
}

/** A connected socket: its fd is owned by this object until close() or toSocket(). */
export class Connection {
  private handle: number;
  readonly target: Endpoint;
  private readonly result: AttemptRecord;
  private trace: Step[] | undefined;
  private closedBy: Step | undefined; // our close(), until the trace is built
  /** @internal The race this connection won, when a name's addresses were raced. */
  race: RaceRecord | undefined = undefined;

  /** @internal */
  constructor(result: AttemptRecord, target: Endpoint) {
    this.handle = result.fd;
    this.result = result.keep();
    this.target = target;
    // probe() hands over results whose socket the waiter already closed.
    if (this.handle >= 0) leaked.register(this, this.handle, this);
  }

  /**
   * The file descriptor, -1 once closed or handed over. Read-only: this
   * object closes that number (at close(), at garbage collection, or when
   * its worker ends), so to give the socket to another owner use
   * {@link Connection.toSocket}, never the bare number.
   */
  get fd(): number {
    return this.handle;
  }

  /** true from the exact engine; false from the portable mode (net), which has no syscall trace. */
  get exact(): boolean {
    return true;
  }

  /** connect() returned 0: the handshake was done before it returned. */
  get immediate(): boolean {
    return this.result.phase === 'immediate';
  }
  /** The address family of the socket. */
  get family(): 'IPv4' | 'IPv6' | 'unix' {
    return 'path' in this.target ? 'unix' : this.target.family === 6 ? 'IPv6' : 'IPv4';
  }
  /** From getsockname(2), on TCP. */
  get localAddress(): string | undefined {
    return this.result.localAddress;
  }
  /** From getsockname(2), on TCP. */
  get localPort(): number | undefined {
    return this.result.localPort;
  }
  /** From getpeername(2), on TCP. */
  get remoteAddress(): string | undefined {
    return this.result.remoteAddress;
  }
  /** From getpeername(2), on TCP. */
  get remotePort(): number | undefined {
    return this.result.remotePort;
  }
  /** The AF_UNIX path, or undefined on TCP. */
  get path(): string | undefined {
    return 'path' in this.target ? this.target.path : undefined;
  }
  /** ms from the start of the attempt to its verdict. */
  get elapsed(): number {
    return this.result.elapsed;
  }
  /** The syscall trace; built on first read. */
  get steps(): Step[] {
    if (this.trace === undefined) {
      this.trace = this.result.steps();
      if (this.closedBy) this.trace.push(this.closedBy);
    }
    return this.trace;
  }

  /**
   * When a name's addresses were raced (autoSelectFamily): each address
   * tried, in order, with its Outcome, timed from the call (see
   * `Outcome.attempts`). undefined when a single address was tried.
   */
  get attempts(): Outcome[] | undefined {
    return this.race && attemptOutcomes(this.race.attempts, this);
  }

  /**
   * getsockopt(TCP_INFO) now: the kernel's own view of this connection
   * (state, RTT, MSS, congestion window, retransmits, ...). Not a step of
   * the trace: the trace is the connect's. Throws ERR_SOCKET_CLOSED once
   * closed or handed over, and the kernel's error otherwise (on an AF_UNIX
   * socket, errno 95, which Node names ENOTSUP).
   */
  tcpInfo(): TcpInfo {
    if (this.fd < 0) throw socketClosed('tcpInfo()');
    const { errno, info } = addon.raw.getTcpInfo(this.fd);
    if (info === undefined) throw systemError('getsockopt', errno!);
    return decodeTcpInfo(info);
  }

  /** @internal A probe's TCP_INFO, read by the native side right after the verdict. */
  get verdictTcpInfo(): TcpInfo | undefined {
    return this.result.tcpInfo();
  }

  private release(): number {
    const fd = this.handle;
    this.handle = -1;
    leaked.unregister(this);
    return fd;
  }

  /**
   * Hands the fd to a new net.Socket, which owns it from then on (libuv sets
   * it nonblocking again and watches it with epoll).
   */
  toSocket(): net.Socket {
    if (this.fd < 0) throw socketClosed('toSocket()');
    const fd = this.release();
    try {
      const socket = new net.Socket({ fd, readable: true, writable: true });
      // The net.Socket closes it from now on, at its end or its worker's.
      addon.release(fd);
      return socket;
    } catch (err) {
      addon.close(fd);
      throw err;
    }
  }

  /** close(2), traced as a step. Closing twice is a no-op. */
  close(): void {
    if (this.fd < 0) return;
    const step = closeStep(this.release(), this.result.start);
    if (this.trace) this.trace.push(step);
    else this.closedBy = step;
    // Linux releases the fd even when close reports an error, so there is
    // nothing to retry; the caller still learns what the kernel said.
    if (step.errno !== undefined)
      throw new ConnectError({
        code: step.code!,
        posixErrno: step.errno,
        syscall: 'close',
        target: this.target,
        phase: this.immediate ? 'immediate' : 'async',
        elapsed: this.elapsed,
        steps: this.steps,
      });
  }
}
