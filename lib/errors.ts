import { errnoName } from './errnos';
import type { Endpoint, Phase, Step, Where } from './types';
import type { Result } from './wire';

export { errnoName };

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
 * codes no errno stands behind: ESELFCONNECT, ABORT_ERR and ENOTFOUND.
 */
export class ConnectError extends Error {
  code: string;
  errno: number | undefined;
  posixErrno: number | undefined;
  syscall: string;
  address: string | undefined;
  port: number | undefined;
  path: string | undefined;
  hostname: string | undefined;
  phase: Phase;
  elapsed: number;
  steps: Step[];
  /** Where the attempt went: the endpoint, or the name whose lookup failed. */
  target: Where;

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
    this.code = init.code;
    this.posixErrno = init.posixErrno;
    this.errno = init.posixErrno === undefined ? undefined : -init.posixErrno;
    this.syscall = init.syscall;
    this.address = 'address' in t ? t.address : undefined;
    this.port = 'port' in t ? t.port : undefined;
    this.path = 'path' in t ? t.path : undefined;
    // Set where a name was looked up, as Node sets it on its DNS errors.
    this.hostname = 'host' in t && !('address' in t && t.address === t.host) ? t.host : undefined;
    this.phase = init.phase;
    this.elapsed = init.elapsed;
    this.steps = init.steps;
    this.target = t;
  }
}

/** Builds the error for a native result that is not a success. */
export function errorFromResult(result: Result, target: Endpoint, steps: Step[] = result.steps()): ConnectError {
  const base = { syscall: result.syscall, target, phase: result.phase, elapsed: result.elapsed, steps };
  if (result.phase === 'aborted') return abortError(target, result.elapsed, steps);
  if (result.errno === -1)
    return new ConnectError({
      ...base,
      code: 'ESELFCONNECT',
      posixErrno: undefined,
      message: `connect ESELFCONNECT ${describe(target)} (the socket connected to itself)`,
    });
  const code = errnoName(result.errno);
  const message = result.why
    ? `${result.syscall} ${code} ${describe(target)}: ${result.why}`
    : undefined;
  return new ConnectError({ ...base, code, posixErrno: result.errno, message });
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
