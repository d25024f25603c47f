import { errnoName } from './errnos';
import type { Endpoint, Phase, Step, Where } from './types';
import type { Result } from './wire';

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
  /** The syscall trace. Not enumerable, so a logged error stays short; `formatTrace(err)` prints it. */
  declare steps: Step[];
  /** Where the attempt went: the endpoint, or the name whose lookup failed. */
  declare target: Where;

  constructor(
    init: {
      code: string;
      posixErrno: number | undefined;
      syscall: string;
      target: Where;
      phase: Phase;
      elapsed: number;
      steps: Step[];
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
    Object.defineProperty(this, 'steps', { value: init.steps, writable: true, configurable: true, enumerable: false });
    this.target = t;
  }
}

/** Builds the error for a native result that is not a success. */
export function errorFromResult(result: Result, target: Endpoint, steps: Step[] = result.steps()): ConnectError {
  const base = { syscall: result.syscall, target, phase: result.phase, elapsed: result.elapsed, steps };
  if (result.phase === 'aborted') return abortError(target, result.elapsed, steps);
  if (result.posixErrno === -1)
    return new ConnectError({
      ...base,
      code: 'ESELFCONNECT',
      posixErrno: undefined,
      message: `connect ESELFCONNECT ${describe(target)} (the socket connected to itself)`,
    });
  const code = errnoName(result.posixErrno);
  const message = result.why ? `${result.syscall} ${code} ${describe(target)}: ${result.why}` : undefined;
  return new ConnectError({ ...base, code, posixErrno: result.posixErrno, message });
}

export function abortError(target: Where, elapsed: number, steps: Step[], cause?: unknown): ConnectError {
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
