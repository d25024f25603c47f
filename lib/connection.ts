import * as net from 'node:net';

import { addon, type NativeResult } from './binding';
import { ConnectError, errnoName, nameSteps } from './errors';
import type { Endpoint, Step } from './types';

// A Connection dropped without close() or toSocket() would leak its fd. The
// number is still ours, since only this object owns it, so closing it at
// collection is safe; it is also a bug in the caller, so say so.
const leaked = new FinalizationRegistry<number>((fd) => {
  addon.close(fd);
  process.emitWarning(`nbconnect: a Connection was garbage-collected while open; closed fd ${fd}`, 'ResourceWarning');
});

/** A connected socket: its fd is owned by this object until close() or toSocket(). */
export class Connection {
  /** The file descriptor; -1 once closed or handed to a net.Socket. */
  fd: number;
  /** connect() returned 0: the handshake was done before it returned. */
  readonly immediate: boolean;
  readonly family: 'IPv4' | 'IPv6' | 'unix';
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly path: string | undefined;
  /** ms from the start of the attempt to its verdict. */
  readonly elapsed: number;
  readonly steps: Step[];
  readonly target: Endpoint;
  private readonly start: number;

  /** @internal */
  constructor(result: NativeResult, target: Endpoint) {
    this.fd = result.fd;
    this.immediate = result.phase === 'immediate';
    this.family = 'path' in target ? 'unix' : target.family === 6 ? 'IPv6' : 'IPv4';
    this.localAddress = result.localAddress;
    this.localPort = result.localPort;
    this.remoteAddress = result.remoteAddress;
    this.remotePort = result.remotePort;
    this.path = 'path' in target ? target.path : undefined;
    this.elapsed = result.elapsed;
    this.steps = nameSteps(result.steps);
    this.target = target;
    this.start = result.start;
    leaked.register(this, this.fd, this);
  }

  private release(): number {
    const fd = this.fd;
    this.fd = -1;
    leaked.unregister(this);
    return fd;
  }

  /**
   * Hands the fd to a new net.Socket, which owns it from then on (libuv sets
   * it nonblocking again and watches it with epoll).
   */
  toSocket(): net.Socket {
    if (this.fd < 0) throw new Error('nbconnect: the connection is already closed or handed over');
    const fd = this.release();
    try {
      return new net.Socket({ fd, readable: true, writable: true });
    } catch (err) {
      addon.close(fd);
      throw err;
    }
  }

  /** close(2), traced as a step. Closing twice is a no-op. */
  close(): void {
    if (this.fd < 0) return;
    const posixErrno = addon.close(this.release());
    const step: Step = { call: 'close', ret: posixErrno === 0 ? 0 : -1, at: Number(process.hrtime.bigint()) / 1e6 - this.start };
    if (posixErrno !== 0) Object.assign(step, { errno: posixErrno, code: errnoName(posixErrno) });
    this.steps.push(step);
    // Linux releases the fd even when close reports an error, so there is
    // nothing to retry; the caller still learns what the kernel said.
    if (posixErrno !== 0)
      throw new ConnectError({
        code: errnoName(posixErrno),
        posixErrno,
        syscall: 'close',
        target: this.target,
        phase: this.immediate ? 'immediate' : 'async',
        elapsed: this.elapsed,
        steps: this.steps,
      });
  }
}
