// Every error nbconnect makes is made here, as Node makes its own in
// lib/internal/errors.js: the classes, the codes and the messages. The rest
// of lib/ calls a factory and throws what it returns, so one state reads as
// one error wherever it is met, and a message is worded once. This module
// sits beneath every other one: it imports no module of lib/ that could
// import it back.
import { constants } from 'node:os';
import { inspect } from 'node:util';

import { errnoName } from './errnos';
import { placeOf } from './format';
import type { ConnectAnyError, RaceAttempt } from './race';
import type { Endpoint, Phase, Step, Wait, Where } from './types';
import type { WaitOutcome } from './wait';
import type { Result } from './wire';

// ---- how a message shows a value ------------------------------------------------

/** A value as a message shows it: short, on one line. */
export function show(value: unknown): string {
  return inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 64 });
}

/** Node's "Received ..." tail: `type number (1)`, `an instance of Object`, `null`. */
export function received(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : show(value);
  }
  return `type ${typeof value} (${show(value)})`;
}

// Node's own form, unbracketed even for IPv6: 'connect ECONNREFUSED ::1:4000'.
export function describe(target: Endpoint): string {
  return 'path' in target ? target.path : `${target.address}:${target.port}`;
}

// ---- Node's coded errors ---------------------------------------------------------

/** An error of Node's shape: `code` as an own key, and `TypeError [CODE]: message` as its string. */
export type NodeError<E extends Error = Error> = E & { code: string };

export function coded<E extends Error>(error: E, code: string): NodeError<E> {
  const e = error as NodeError<E>;
  e.code = code;
  Object.defineProperty(e, 'toString', {
    value(this: Error) {
      return `${this.name} [${code}]: ${this.message}`;
    },
    writable: true,
    configurable: true,
  });
  return e;
}

// Node says "argument" for a parameter and "property" for a field of one.
const noun = (name: string) => (name.includes('.') ? 'property' : 'argument');

/** ERR_INVALID_ARG_TYPE (TypeError): `expected` reads "of type number", "an instance of AbortSignal", ... */
export function invalidArgType(name: string, expected: string, value: unknown): NodeError<TypeError> {
  return coded(new TypeError(`The "${name}" ${noun(name)} must be ${expected}. Received ${received(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/** ERR_OUT_OF_RANGE (RangeError). */
export function outOfRange(name: string, range: string, value: unknown): NodeError<RangeError> {
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${show(value)}`), 'ERR_OUT_OF_RANGE');
}

/**
 * ERR_INVALID_ARG_VALUE: the type is right, the value is not one we take.
 * A TypeError, as Node's; its RangeError form where the value lies outside
 * a domain (too long, a malformed name).
 */
export function invalidArgValue(name: string, value: unknown, reason: string, Base: typeof TypeError | typeof RangeError = TypeError): NodeError {
  return coded(new Base(`The ${noun(name)} '${name}' ${reason}. Received ${show(value)}`), 'ERR_INVALID_ARG_VALUE');
}

/** ERR_SOCKET_BAD_PORT (RangeError). */
export function badPort(name: string, value: unknown): NodeError<RangeError> {
  return coded(new RangeError(`${name} should be >= 0 and < 65536. Received ${received(value)}.`), 'ERR_SOCKET_BAD_PORT');
}

/** ERR_INVALID_IP_ADDRESS (TypeError). */
export function invalidIpAddress(name: string, value: unknown): NodeError<TypeError> {
  return coded(new TypeError(`Invalid IP address in "${name}": ${show(value)}`), 'ERR_INVALID_IP_ADDRESS');
}

/** ERR_MISSING_ARGS (TypeError); unlike Node's, the message shows what came instead. */
export function missingArgs(what: string, value: unknown): NodeError<TypeError> {
  return coded(new TypeError(`The ${what} must be specified. Received ${received(value)}`), 'ERR_MISSING_ARGS');
}

/**
 * ERR_SOCKET_CLOSED, Node's code for a socket used after its close: every
 * call on a Connection that was closed or handed over to a net.Socket.
 */
export function socketClosed(call: string): NodeError {
  return coded(new Error(`Socket is closed: ${call} on a connection already closed or handed over`), 'ERR_SOCKET_CLOSED');
}

/** ERR_INVALID_STATE, Node's code for a call its object cannot take now. */
export function invalidState(what: string): NodeError {
  return coded(new Error(`Invalid state: ${what}`), 'ERR_INVALID_STATE');
}

/** ERR_INTERNAL_ASSERTION: a bug in nbconnect, never the caller's doing. */
export function internalAssertion(what: string): NodeError {
  return coded(new Error(`nbconnect: ${what}. This is a bug in nbconnect; please report it.`), 'ERR_INTERNAL_ASSERTION');
}

/**
 * An error as Node's own syscalls make them: 'getsockopt EOPNOTSUPP', with
 * code, errno (negative) and syscall.
 */
export function systemError(syscall: string, posixErrno: number): NodeJS.ErrnoException {
  const code = errnoName(posixErrno);
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: -posixErrno, syscall });
}

/** The command line's own usage errors (a bad flag, a malformed target): exit status 2. */
export class UsageError extends Error {}

/** Why an attempt is aborted when the loop that started it ends early (the signal's reason). */
export function consumerLeft(caller: string): Error {
  return new Error(`${caller}: the consumer left the loop`);
}

// ---- the modes and the addon -----------------------------------------------------

/** The environment variable that chooses the mode at load. */
export const MODE_VARIABLE = 'NBCONNECT_MODE';

/** A value of NBCONNECT_MODE that names no mode (ERR_INVALID_ARG_VALUE, a RangeError). */
export function badMode(requested: string): NodeError<RangeError> {
  return coded(
    new RangeError(
      `The environment variable ${MODE_VARIABLE} must be 'exact' or 'portable' (or unset: exact on Linux, portable elsewhere). Received ${show(requested)}`,
    ),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** Why this process runs the portable mode, for its errors' messages. */
function portableBecause(): string {
  return process.env[MODE_VARIABLE] === 'portable'
    ? `${MODE_VARIABLE}=portable is set (unset it on Linux for the exact engine)`
    : `the exact engine runs on Linux only, and this is ${process.platform}`;
}

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

/** NBCONNECT_MODE=exact off Linux: there is no addon to load. */
export function exactOffLinux(platform: string): Error {
  return new Error(
    `nbconnect: ${MODE_VARIABLE}=exact asks for the exact engine, which runs on Linux only (this is ${platform}). Unset it for the portable mode.`,
  );
}

/** node-gyp-build found no binary for this platform, or the one it found would not load. */
export function addonNotLoaded(tried: readonly string[], cause: unknown): Error {
  return new Error(
    `nbconnect: cannot load the native addon for ${process.platform}-${process.arch} (Node-API ${process.versions.napi}). ` +
      `Tried ${tried.join(' and ')}. ` +
      'Build it from source with `npm rebuild nbconnect` (or `npm run compile` in a clone); that needs python3, make and a C++17 compiler. ' +
      `Or set ${MODE_VARIABLE}=portable for the portable mode (Node's net and dns only: no syscall trace, no socket options before the SYN).`,
    { cause },
  );
}

/** A name table of the addon that does not hold what lib/ spells: a binary older or newer than lib/. */
export function layoutMismatch(table: string, missing: readonly string[], unknown: readonly string[]): Error {
  return new Error(
    `nbconnect: the native addon's ${table} layout does not match lib/ (missing: ${missing.join(', ') || 'none'}; unknown: ${unknown.join(', ') || 'none'}). Rebuild it: npm run compile.`,
  );
}

/** A socket option lib/ sets that the addon's option table lacks. */
export function optionNotInTable(name: string): Error {
  return new Error(`nbconnect: ${name} is missing from the native option table. Rebuild it: npm run compile.`);
}

// ---- connect errors --------------------------------------------------------------

/**
 * Adds steps taken after the verdict to an error's trace: the epoll
 * engine's close of a socket whose deadline or cancel settled first. Not
 * public: a symbol, so that no user code calls it by name.
 */
export const appendSteps = Symbol('nbconnect.appendSteps');

/** Where an error's steps come from: the list, or something that builds it on first read. */
export type StepSource =
  | Step[]
  | {
      /** Builds the trace; called once, on the first read of `steps`. */
      steps(): Step[];
      /** Copies what it reads out of a shared buffer (a result's batch), where it reads one. */
      keep?(): {
        /** Builds the trace from the copy. */
        steps(): Step[];
      };
    };

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

  /** Steps taken after the verdict join the trace: in place once it was read, else when it is. */
  [appendSteps](more: StepSource): void {
    const source = this.#steps;
    if (Array.isArray(source)) {
      source.push(...(Array.isArray(more) ? more : more.steps()));
      return;
    }
    // Both read their batches in place until now: copied out here, after
    // the close and off the path to the verdict, so a kept error holds no
    // batch of other results alive.
    const before = source.keep?.() ?? source;
    const after = Array.isArray(more) ? more : (more.keep?.() ?? more);
    this.#steps = { steps: () => before.steps().concat(Array.isArray(after) ? after : after.steps()) };
  }
}

/** Builds the error for a native result that is not a success. */
export function errorFromResult(result: Result, target: Endpoint, steps: StepSource = result.keep()): ConnectError {
  if (result.phase === 'aborted') return abortError(target, result.elapsed, steps);
  if (result.posixErrno === -1) return selfConnected(target, result.syscall, result.phase, result.elapsed, steps);
  const code = errnoName(result.posixErrno);
  return new ConnectError({
    code,
    posixErrno: result.posixErrno,
    syscall: result.syscall,
    target,
    phase: result.phase,
    elapsed: result.elapsed,
    steps,
    message: result.why ? `${result.syscall} ${code} ${describe(target)}: ${result.why}` : undefined,
  });
}

/** A TCP socket that connected to itself (its local address is its peer's): ESELFCONNECT, no errno behind it. */
export function selfConnected(target: Endpoint, syscall: string, phase: Phase, elapsed: number, steps: StepSource): ConnectError {
  return new ConnectError({
    code: 'ESELFCONNECT',
    posixErrno: undefined,
    syscall,
    target,
    phase,
    elapsed,
    steps,
    message: `connect ESELFCONNECT ${describe(target)} (the socket connected to itself)`,
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
 * The engine or waiter thread that would run an attempt could not be made
 * (its epoll instance, eventfd or thread): nothing was started. The message
 * names which, since the default path (epoll) makes no thread.
 */
export function startFailed(target: Endpoint, posixErrno: number, syscall: string, wait: Wait): ConnectError {
  const code = errnoName(posixErrno);
  const engine = wait === 'epoll' ? 'the epoll engine' : `the ${wait} waiter thread`;
  return new ConnectError({
    code,
    posixErrno,
    syscall,
    target,
    phase: 'immediate',
    elapsed: 0,
    steps: [],
    message: `${syscall} ${code} ${describe(target)}: ${engine} could not start`,
  });
}

/** A failed dns.lookup, keeping dns's own code, errno (e.g. -3008 for ENOTFOUND) and message, as net.Socket does. */
export function lookupFailed(err: NodeJS.ErrnoException, host: string, port: number, elapsed: number): ConnectError {
  const e = new ConnectError(
    {
      code: err.code ?? 'ENOTFOUND',
      posixErrno: undefined,
      syscall: err.syscall ?? 'getaddrinfo',
      target: { host, port },
      phase: 'lookup',
      elapsed,
      steps: [],
      message: err.message,
    },
    { cause: err },
  );
  e.errno = typeof err.errno === 'number' ? err.errno : undefined;
  return e;
}

/** A blocking getaddrinfo that found nothing; `code` as dns.lookup would name it. */
export function lookupFailedSync(code: string, host: string, port: number, elapsed: number): ConnectError {
  return new ConnectError({
    code,
    posixErrno: undefined,
    syscall: 'getaddrinfo',
    target: { host, port },
    phase: 'lookup',
    elapsed,
    steps: [],
    message: `getaddrinfo ${code} ${host}`,
  });
}

/** The deadline passed during the lookup. */
export function lookupTimedOut(where: Where, elapsed: number): ConnectError {
  return new ConnectError({ code: 'ETIMEDOUT', posixErrno: 110, syscall: 'getaddrinfo', target: where, phase: 'timeout', elapsed, steps: [] });
}

/**
 * What a race rejects with when no attempt connected: Node's
 * AggregateError, code of the first error, one error per started attempt.
 */
export function everyAttemptFailed(caller: string, attempts: RaceAttempt[]): ConnectAnyError {
  const errors = attempts.filter((a) => a.result === 'failed').map((a) => a.error!);
  const untried = attempts.filter((a) => a.result === 'not started').length;
  const list = errors.map((e) => `${placeOf(e.target)} ${e.code}`);
  const message = `${caller}: every attempt failed: ${list.join(', ')}${untried ? ` (${untried} not tried before the deadline)` : ''}`;
  const aggregate = new AggregateError(errors, message) as ConnectAnyError;
  aggregate.code = errors[0]?.code ?? 'ETIMEDOUT';
  aggregate.attempts = attempts;
  return aggregate;
}

/** The TLS handshake of createConnection did not finish within the connect's deadline. */
export function tlsTimedOut(host: string, port: number | string, timeout: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`TLS handshake ETIMEDOUT ${host}:${port}: no secureConnect within the ${timeout} ms deadline`), {
    code: 'ETIMEDOUT',
    syscall: 'tls.connect',
  });
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

/** ERR_FEATURE_UNAVAILABLE_ON_PLATFORM (TypeError), as Node throws for what its host cannot do. */
export function featureUnavailable(message: string): NodeError<TypeError> {
  return coded(new TypeError(message), 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM');
}

/** Deno without a permission loading needs: each missing flag named, and the whole command line. */
export function denoPermissionsMissing(missing: readonly string[], packageRoot: string, variables: readonly string[]): Error {
  return new Error(
    `nbconnect: Deno needs ${missing.join(' ')} to load the native addon. ` +
      `Run with: deno run --allow-read=${packageRoot} --allow-env=${variables.join(',')} --allow-ffi (and --allow-net only if you connect to names, for dns.lookup).`,
  );
}

/** The portable mode's attempt whose deadline had passed at its turn: ETIMEDOUT, no connect made (the exact engine says it through its wire's `why`). */
export function notStarted(target: Endpoint): ConnectError {
  return new ConnectError({
    code: 'ETIMEDOUT',
    posixErrno: constants.errno.ETIMEDOUT,
    syscall: 'connect',
    target,
    phase: 'timeout',
    elapsed: 0,
    steps: [],
    message: `connect ETIMEDOUT ${describe(target)}: the deadline passed before its turn to start: no connect was made`,
  });
}
