import { errnoName } from './errnos';
import type { Endpoint, Phase, Step, Where } from './types';
import { portableBecause } from './mode';
import { coded, type NodeError } from './validators';
import type { WaitOutcome } from './wait';
import type { Result } from './wire';

/** Where an error's steps come from: the list, or something that builds it on first read. */
export type StepSource =
  | Step[]
  | {
      /** Builds the trace; called once, on the first read of `steps`. */
      steps(): Step[];
    };

// Node's own form, unbracketed even for IPv6: 'connect ECONNREFUSED ::1:4000'.
export function describe(target: Endpoint): string {
  return 'path' in target ? target.path : `${target.address}:${target.port}`;
}

/**
 * What `connect` rejects with and `connectSync` throws. It carries Node's
 * system-error fields, so code written for net.Socket errors keeps working,
 * plus where the verdict came from (`phase`) and the syscall trace (`steps`).
 *
 * Sign convention: `errno` is negative, as in Node (`-111` for
 * ECONNREFUSED, so `util.getSystemErrorName(err.errno)` works);
 * `posixErrno` is the positive value the kernel set. Both are undefined for
 * codes no errno stands behind (ESELFCONNECT, ABORT_ERR). A lookup failure
 * keeps dns's own errno, as net.Socket's does (-3008 for ENOTFOUND), and
 * has no `posixErrno`.
 */
export class ConnectError extends Error {
  // Own keys in Node's order (errno, code, syscall, address, port), and only
  // those that apply: `declare` keeps TypeScript from making every field an
  // own key set to undefined.
  declare errno: number | undefined;
  declare code: string;
  declare syscall: string;
  /** The IP address, or for AF_UNIX the path, as Node's errors have it. */
  declare address?: string;
  declare port?: number;
  /** The AF_UNIX path (also in `address`). */
  declare path?: string;
  /** The name that was looked up, where there was one. */
  declare hostname?: string;
  declare posixErrno: number | undefined;
  declare phase: Phase;
  declare elapsed: number;
  /** Where the attempt went: the endpoint, or the name whose lookup failed. */
  declare target: Where;
  // Decoded on first read: a thousand deadlines that fire together settle
  // without building seven thousand step objects nobody may read.
  #steps: StepSource;

  constructor(
    init: {
      code: string;
      posixErrno: number | undefined;
      syscall: string;
      target: Where;
      phase: Phase;
      elapsed: number;
      steps: StepSource;
      message?: string;
    },
    options?: { cause?: unknown },
  ) {
    const t = init.target;
    const where = 'address' in t || 'path' in t ? describe(t) : t.host;
    super(init.message ?? `${init.syscall} ${init.code} ${where}`, options);
    this.errno = init.posixErrno === undefined ? undefined : -init.posixErrno;
    this.code = init.code;
    this.syscall = init.syscall;
    if ('path' in t) {
      this.address = t.path;
      this.path = t.path;
    } else {
      if ('address' in t) this.address = t.address;
      this.port = t.port;
      // Set where a name was looked up, as Node sets it on its DNS errors.
      if (!('address' in t && t.address === t.host)) this.hostname = t.host;
    }
    this.posixErrno = init.posixErrno;
    this.phase = init.phase;
    this.elapsed = init.elapsed;
    this.#steps = init.steps;
    this.target = t;
  }

  /** The syscall trace. Not an own enumerable key, so a logged error stays short; `formatTrace(err)` prints it. */
  get steps(): Step[] {
    const source = this.#steps;
    if (Array.isArray(source)) return source;
    return (this.#steps = source.steps());
  }
  /** Replaces the trace, which stays writable as it was when it was a plain property. */
  set steps(steps: Step[]) {
    this.#steps = steps;
  }
}

/** Builds the error for a native result that is not a success. */
export function errorFromResult(result: Result, target: Endpoint, steps: StepSource = result.keep()): ConnectError {
  if (result.phase === 'aborted') return abortError(target, result.elapsed, steps);
  const self = result.posixErrno === -1;
  const code = self ? 'ESELFCONNECT' : errnoName(result.posixErrno);
  return new ConnectError({
    code,
    posixErrno: self ? undefined : result.posixErrno,
    syscall: result.syscall,
    target,
    phase: result.phase,
    elapsed: result.elapsed,
    steps,
    message: self
      ? `connect ESELFCONNECT ${describe(target)} (the socket connected to itself)`
      : result.why
        ? `${result.syscall} ${code} ${describe(target)}: ${result.why}`
        : undefined,
  });
}

export function abortError(target: Where, elapsed: number, steps: StepSource, cause?: unknown): ConnectError {
  const err = new ConnectError(
    {
      code: 'ABORT_ERR',
      posixErrno: undefined,
      syscall: 'connect',
      target,
      phase: 'aborted',
      elapsed,
      steps,
      message: 'The operation was aborted',
    },
    cause === undefined ? undefined : { cause },
  );
  err.name = 'AbortError';
  return err;
}

// On the prototype, so that a stack captured in the constructor already
// reads 'ConnectError: ...'.
Object.defineProperty(ConnectError.prototype, 'name', { value: 'ConnectError', writable: true, configurable: true });

/**
 * What only the exact engine can do, asked of the portable mode: thrown
 * before any I/O, naming the call and where it works, never a silent
 * partial. `what` is the call or option ('connectSync', "options.wait").
 */
export function notExact(what: string, why: string): NodeError {
  return coded(
    new Error(
      `${what} needs the exact engine: ${why}. It runs on Linux (x64, arm64) with the native addon; this process runs the portable mode, ` +
        `built on Node's net and dns, because ${portableBecause()}.`,
    ),
    'ERR_NBCONNECT_NOT_EXACT',
  );
}

/** One target of a `waitFor` that gave up: how far it got. */
export interface WaitTargetReport {
  /** The target as given (`unix:@name` for an abstract socket). */
  target: string;
  /** Attempts that reached a verdict (one cut short by the deadline counts only if none had). */
  attempts: number;
  /** Whether it was up (for `reverse`: down) when the wait ended. */
  ready: boolean;
  /** ms from the call to the verdict that made it ready; undefined if it never was. */
  readyAt: number | undefined;
  /** The last attempt's code ('ECONNREFUSED', 'ETIMEDOUT', 'HTTP 503', ...); undefined before any verdict. */
  code: string | undefined;
  /** The last attempt's Outcome, with its steps; undefined before any verdict. */
  outcome: WaitOutcome | undefined;
}

/**
 * What `waitFor` rejects with at its overall deadline: `code` 'ETIMEDOUT',
 * the deadline in `timeout`, and per target the last attempt's code and
 * Outcome and the attempt count. The message names each target that was
 * not ready: `127.0.0.1:5432 not up after 10000 ms: last attempt
 * ECONNREFUSED (41 attempts)`.
 */
export class WaitTimeoutError extends Error {
  declare code: 'ETIMEDOUT';
  /** The overall deadline, ms. */
  declare timeout: number;
  /** Whether the wait was for the targets to go down. */
  declare reverse: boolean;
  /** Every target, in the order given. */
  declare targets: WaitTargetReport[];

  constructor(timeout: number, reverse: boolean, targets: WaitTargetReport[]) {
    const state = reverse ? 'still up' : 'not up';
    const lines = targets
      .filter((t) => !t.ready)
      .map((t) => {
        const last = t.code === undefined ? 'no attempt finished' : `last attempt ${t.code}`;
        return `${t.target} ${state} after ${timeout} ms: ${last} (${t.attempts} attempt${t.attempts === 1 ? '' : 's'})`;
      });
    super(lines.join('; '));
    this.code = 'ETIMEDOUT';
    this.timeout = timeout;
    this.reverse = reverse;
    this.targets = targets;
  }
}
Object.defineProperty(WaitTimeoutError.prototype, 'name', { value: 'WaitTimeoutError', writable: true, configurable: true });

/** Node's AbortError (code 'ABORT_ERR', the signal's reason as `cause`), for calls that have no one target to name. */
export function plainAbortError(reason: unknown): Error & { code: 'ABORT_ERR' } {
  const err = new Error('The operation was aborted', reason === undefined ? undefined : { cause: reason }) as Error & { code: 'ABORT_ERR' };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}
