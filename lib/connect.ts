import * as dns from 'node:dns';

import { addon, type NativeResult } from './binding';
import { Connection } from './connection';
import { abortError, ConnectError, errorFromResult, nameSteps } from './errors';
import type { ConnectOptions, Endpoint, Outcome, Step, Target, Where } from './types';
import { prepare, type ParsedTarget, type Prepared } from './validate';

// ---- async results from the waiter threads -----------------------------------

interface Pending {
  target: Endpoint;
  resolve(result: NativeResult): void;
}

const pending = new Map<number, Pending>();
let nextId = 1;

// The waiter hands over finished attempts in batches, one call per batch.
addon.init((results) => {
  for (const result of results) {
    const entry = pending.get(result.id);
    if (entry === undefined) continue;
    pending.delete(result.id);
    entry.resolve(result);
  }
});

/** Starts an attempt on the waiter thread; resolves with its native result. */
function startOnWaiter(prepared: Prepared, endpoint: Endpoint): Promise<NativeResult> {
  const { spec, signal } = prepared;
  const id = nextId++;
  return new Promise<NativeResult>((resolve) => {
    let onAbort: (() => void) | undefined;
    if (signal) {
      // A message to the waiter, which owns the fd: it closes the socket and
      // reports 'aborted', unless the verdict was already on its way.
      onAbort = () => addon.cancel(spec.wait, id);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    pending.set(id, {
      target: endpoint,
      resolve(result) {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        resolve(result);
      },
    });
    addon.connectStart(spec, id);
  });
}

// ---- name lookup ---------------------------------------------------------------

function lookupError(err: NodeJS.ErrnoException, host: string, port: number, elapsed: number): ConnectError {
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
  // Keep dns's own errno (e.g. -3008 for ENOTFOUND), as net.Socket does.
  e.errno = typeof err.errno === 'number' ? err.errno : undefined;
  return e;
}

function whereOf(target: ParsedTarget): Where {
  return target.kind === 'unix' ? { path: target.path } : { host: target.host, port: target.port };
}

function endpointOf(target: ParsedTarget, address: string, family: 4 | 6): Endpoint {
  if (target.kind === 'unix') return { path: target.path };
  return { host: target.host, address, port: target.port, family };
}

function settleDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error, signal?: AbortSignal, onAbort?: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    const abort = () => {
      clearTimeout(timer);
      reject(onAbort!());
    };
    signal?.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

/**
 * Resolves a name with dns.lookup, under what is left of the deadline. The
 * lookup itself cannot be cancelled (it runs on libuv's threadpool); past the
 * deadline its answer is ignored.
 */
async function resolveTarget(prepared: Prepared, startedAt: number): Promise<Endpoint> {
  const target = prepared.target;
  if (target.kind === 'unix') return { path: target.path };
  if (target.kind === 'ip') return endpointOf(target, target.address, target.family);
  const lookup = dns.promises.lookup(target.host, { family: prepared.family });
  const elapsed = () => performance.now() - startedAt;
  const where = { host: target.host, port: target.port };
  try {
    const { address, family } = await settleDeadline(
      lookup,
      prepared.timeout ?? 2 ** 31 - 1,
      () => new ConnectError({ code: 'ETIMEDOUT', posixErrno: 110, syscall: 'getaddrinfo', target: where, phase: 'timeout', elapsed: elapsed(), steps: [] }),
      prepared.signal,
      () => abortError(where, elapsed(), [], prepared.signal?.reason),
    );
    return endpointOf(target, address, family as 4 | 6);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw lookupError(err as NodeJS.ErrnoException, target.host, target.port, elapsed());
  }
}

function resolveTargetSync(prepared: Prepared): Endpoint {
  const target = prepared.target;
  if (target.kind === 'unix') return { path: target.path };
  if (target.kind === 'ip') return endpointOf(target, target.address, target.family);
  const startedAt = performance.now();
  const answer = addon.lookupSync(target.host, prepared.family);
  if (!Array.isArray(answer) || answer.length === 0) {
    // What dns.lookup reports for the same failure: EAI_NONAME and
    // EAI_NODATA both read as ENOTFOUND.
    const code = Array.isArray(answer) || answer.eai === -2 || answer.eai === -5 ? 'ENOTFOUND' : answer.message;
    const err = new ConnectError({
      code,
      posixErrno: undefined,
      syscall: 'getaddrinfo',
      target: { host: target.host, port: target.port },
      phase: 'lookup',
      elapsed: performance.now() - startedAt,
      steps: [],
      message: `getaddrinfo ${code} ${target.host}`,
    });
    throw err;
  }
  return endpointOf(target, answer[0].address, answer[0].family);
}

function withAddress(prepared: Prepared, endpoint: Endpoint, remainingTimeout: number | undefined): Prepared {
  if ('path' in endpoint || prepared.target.kind !== 'name') return prepared;
  return {
    ...prepared,
    spec: { ...prepared.spec, family: endpoint.family, address: endpoint.address, timeout: remainingTimeout ?? -1 },
  };
}

// ---- the public calls ----------------------------------------------------------

/**
 * Connects without blocking the event loop. socket, fcntl(F_GETFL/F_SETFL
 * O_NONBLOCK/F_SETFD FD_CLOEXEC), the requested setsockopt calls, bind and
 * connect all run on this environment's waiter thread, which then waits with
 * poll(2) or select(2) and reads getsockopt(SO_ERROR) after every wake; on
 * TCP success getsockname and getpeername rule out a self-connect.
 *
 * Rejects with a ConnectError (or TypeError/RangeError for bad arguments).
 */
export async function connect(target: Target, options?: ConnectOptions): Promise<Connection> {
  const prepared = prepare(target, options);
  const { endpoint, result } = await run(prepared);
  if (result.errno !== 0) throw errorFromResult(result, endpoint);
  return new Connection(result, endpoint);
}

async function run(prepared: Prepared): Promise<{ endpoint: Endpoint; result: NativeResult }> {
  const startedAt = performance.now();
  const signal = prepared.signal;
  if (signal?.aborted) throw abortError(whereOf(prepared.target), 0, [], signal.reason);

  const endpoint = await resolveTarget(prepared, startedAt);
  const spent = performance.now() - startedAt;
  const remaining = prepared.timeout === undefined ? undefined : Math.max(0, prepared.timeout - spent);
  const result = await startOnWaiter(withAddress(prepared, endpoint, remaining), endpoint);
  if (signal?.aborted && result.phase !== 'aborted') {
    // The abort came after the verdict had left the waiter. The caller asked
    // for an abort, so that is what it gets, with the socket closed here.
    const steps = nameSteps(result.steps);
    if (result.fd >= 0) {
      const posixErrno = addon.close(result.fd);
      steps.push({ call: 'close', ret: posixErrno === 0 ? 0 : -1, ...(posixErrno ? { errno: posixErrno } : {}), at: Number(process.hrtime.bigint()) / 1e6 - result.start });
    }
    throw abortError(endpoint, result.elapsed, steps, signal.reason);
  }
  if (result.phase === 'aborted') throw abortError(endpoint, result.elapsed, nameSteps(result.steps), signal?.reason);
  return { endpoint, result };
}

/**
 * The same algorithm on the calling thread: it blocks until the verdict or
 * the deadline, and a host name is resolved with a blocking getaddrinfo.
 * `signal` is checked once, before the first syscall.
 *
 * Throws a ConnectError (or TypeError/RangeError for bad arguments).
 */
export function connectSync(target: Target, options?: ConnectOptions): Connection {
  const prepared = prepare(target, options);
  const signal = prepared.signal;
  const startedAt = performance.now();
  if (signal?.aborted) throw abortError(whereOf(prepared.target), 0, [], signal.reason);
  const endpoint = resolveTargetSync(prepared);
  const remaining = prepared.timeout === undefined ? undefined : Math.max(0, prepared.timeout - (performance.now() - startedAt));
  const result = addon.connectSync(withAddress(prepared, endpoint, remaining).spec);
  if (result.errno !== 0) throw errorFromResult(result, endpoint);
  return new Connection(result, endpoint);
}

function outcomeOf(err: ConnectError): Outcome {
  return { ok: false, code: err.code, errno: err.errno, phase: err.phase, elapsed: err.elapsed, steps: err.steps, target: err.target };
}

/**
 * Connects, closes, and reports what happened. It never rejects for a
 * network outcome (refused, timeout, self-connect, lookup failure, abort);
 * it rejects only for bad arguments. The socket is closed by the waiter
 * thread right after the verdict, and the close is the last step.
 */
export async function probe(target: Target, options?: ConnectOptions): Promise<Outcome> {
  const prepared = prepare(target, options, true);
  try {
    const { endpoint, result } = await run(prepared);
    if (result.errno !== 0) return outcomeOf(errorFromResult(result, endpoint));
    const steps: Step[] = nameSteps(result.steps);
    return { ok: true, code: 'OK', errno: 0, phase: result.phase, elapsed: result.elapsed, steps, target: endpoint };
  } catch (err) {
    if (err instanceof ConnectError) return outcomeOf(err);
    throw err;
  }
}
