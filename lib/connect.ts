import * as dns from 'node:dns';

import { addon } from './binding';
import { closeStep, Connection } from './connection';
import { abortError, appendSteps, ConnectError, errorFromResult, everyAttemptFailed, notExact, startFailed } from './errors';
import { addressCandidates, race, type ConnectAnyError, type RaceAttempt, type RaceSettings } from './race';
import { outcomeOfConnection, outcomeOfError, outcomeOfRaceFailure } from './outcome';
import type { ConnectOptions, Endpoint, Outcome, Target } from './types';
import { lookupAll, lookupAllSync } from './lookup';
import { endpointOf, literalEndpoint, prepare, whereOf, type ParsedTarget, type Prepared } from './validate';
import { MODE } from './mode';
import { takeBatchResult } from './probe-batch';
import { startPortable } from './portable';
import { traceAsync, traceSync, tracing } from './tracing';
import { decodeBatch, decodeTcpInfo, pack, SEQUEL, waitName, type Result } from './wire';

// ---- async attempts: the epoll engine in the event loop, or a waiter thread ------

export type Verdict = { connection?: Connection; error?: ConnectError };

/**
 * One attempt in flight: what it needs to settle, and nothing more, since it
 * lives as long as the connect does (a closure would keep the whole
 * prepared spec alive with it).
 */
export class Pending {
  onAbort: (() => void) | undefined = undefined;
  /** Known once the attempt goes to the waiter (after a lookup, for a name). */
  endpoint: Endpoint | undefined = undefined;
  constructor(
    readonly signal: AbortSignal | undefined,
    /** Maps a verdict to the value; undefined: a Connection, and errors reject. */
    private readonly onVerdict: ((v: Verdict) => unknown) | undefined,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /**
   * A probe promises its socket closed and the close the last step of its
   * trace: when the epoll engine settles its deadline or abort before the
   * close, it settles with the steps that follow, in the same turn.
   */
  get waitsForClose(): boolean {
    return this.onVerdict !== undefined;
  }

  settle(v: Verdict): void {
    if (this.onVerdict === undefined) {
      if (v.error) this.reject(v.error);
      else this.resolve(v.connection);
      return;
    }
    try {
      this.resolve(this.onVerdict(v));
    } catch (err) {
      this.reject(err);
    }
  }
}

const pending = new Map<number, Pending>();
// Errors of the epoll engine's deadlines and cancels, given before their
// sockets' close, until the steps of that close come (the same turn for up
// to 64); with the probe that settles only then.
const closing = new Map<number, { error: ConnectError; probe: Pending | undefined }>();

/** Resolves once every socket settled before its close is closed (a turn of the loop per 64). */
export async function closesDone(): Promise<void> {
  for (let turns = 0; closing.size > 0 && turns < 2000; turns++) await new Promise((resolve) => setImmediate(resolve));
}

// The engine and the waiters hand over finished attempts in batches: one
// call, one buffer.
// Another copy of this module (a test runner's module reset evaluates lib/
// again over the one addon Node caches) is another client of the addon, with
// its own onBatch, and gets only its own attempts' results; the native side
// mints the ids, so two copies can never name the same attempt.
function onBatch(batch: Float64Array): void {
  // An error made here could only show this callback's frames, and
  // capturing them costs more than the connect: a thousand deadlines that
  // fire together would settle ~15 ms late. So these errors carry no frames,
  // like the ones net.Socket makes in its own connect callback carry none
  // of the caller's.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const result of decodeBatch(batch)) {
      if (result.batch !== 0) {
        takeBatchResult(result); // probeMany's batch path (probe-batch.ts)
        continue;
      }
      if (result.sequel === SEQUEL.steps) {
        // The close of a socket whose deadline or cancel settled first.
        const late = closing.get(result.id);
        closing.delete(result.id);
        late?.error[appendSteps](result);
        late?.probe?.settle({ error: late.error });
        continue;
      }
      const entry = pending.get(result.id);
      if (entry === undefined) {
        // Cannot happen: every id is registered before its result can come.
        // Should it, the socket is closed rather than lost.
        if (result.fd >= 0) addon.close(result.fd);
        continue;
      }
      pending.delete(result.id);
      if (entry.onAbort) entry.signal!.removeEventListener('abort', entry.onAbort);
      const settled = verdict(result, entry);
      if (result.sequel === SEQUEL.close_follows && settled.error) {
        closing.set(result.id, { error: settled.error, probe: entry.waitsForClose ? entry : undefined });
        if (entry.waitsForClose) continue;
      }
      entry.settle(settled);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
}
// The addon holds onBatch weakly while nothing is in flight, so that a copy
// nobody uses can be collected: this module holds it strongly.
const batches = { onBatch, client: addon.init(onBatch) };

/** This copy of lib/'s client number, for probeStart. */
export const batchClient = (): number => batches.client;

/**
 * Hands an attempt to the waiter, with `timeout` ms left (-1: none); `entry`
 * settles when its result comes back.
 */
function startOnWaiter(prepared: Prepared, endpoint: Endpoint, timeout: number, entry: Pending): void {
  const { socket, signal } = prepared;
  entry.endpoint = endpoint;
  // The result comes through a later batch, never during this call, so the
  // entry and its listener can be registered once the waiter took it.
  const id = addon.connectStart(pack(socket, endpoint, timeout, batches.client), addressOf(endpoint), socket.localAddress, extraOf(socket, endpoint));
  if (typeof id !== 'number') {
    return entry.settle({ error: startFailed(endpoint, id.errno, id.syscall, waitName(socket.wait)) });
  }
  if (signal) {
    // A message to the waiter, which owns the fd: it closes the socket and
    // reports 'aborted', unless the verdict was already on its way.
    entry.onAbort = () => addon.cancel(socket.wait, id);
    signal.addEventListener('abort', entry.onAbort, { once: true });
  }
  pending.set(id, entry);
}

/**
 * The engine below every call: one attempt at a literal address or a path,
 * settling its entry once. The exact one is the waiter (the addon); the
 * portable one is net.connect (lib/portable.ts). Lookups, races, probes
 * and everything built on connect() and probe() sit above this seam.
 */
const startAttempt: (prepared: Prepared, endpoint: Endpoint, timeout: number, entry: Pending) => void = MODE === 'exact' ? startOnWaiter : startPortable;

const addressOf = (endpoint: Endpoint) => ('path' in endpoint ? endpoint.path : endpoint.address);
const extraOf = (socket: Prepared['socket'], endpoint: Endpoint) => socket.extra?.['path' in endpoint ? 0 : endpoint.family];

/**
 * The verdict as the caller asked for it: an abort requested before the
 * result arrived wins, and then a socket that did connect is closed here.
 */
function verdict(result: Result, entry: Pending): Verdict {
  const endpoint = entry.endpoint!;
  const signal = entry.signal;
  if (signal?.aborted && result.phase !== 'aborted') {
    const steps = result.steps();
    if (result.fd >= 0) steps.push(closeStep(result.fd, result.start));
    return { error: abortError(endpoint, result.elapsed, steps, signal.reason) };
  }
  // A verdict whose close follows reads its batch in place until then (a
  // thousand deadlines due at once settle without a copy each: the copies
  // cost 2.5 ms at the median); its error copies out when the close comes.
  const closeFollows = result.sequel === SEQUEL.close_follows;
  if (result.phase === 'aborted') return { error: abortError(endpoint, result.elapsed, closeFollows ? result : result.steps(), signal?.reason) };
  if (result.posixErrno !== 0) return { error: errorFromResult(result, endpoint, closeFollows ? result : result.keep()) };
  return { connection: new Connection(result, endpoint) };
}

/** The first address of a name, as net.Socket takes it. */
async function resolveName(prepared: Prepared, target: Extract<ParsedTarget, { kind: 'name' }>, startedAt: number): Promise<Endpoint> {
  const [first] = await lookupAll(target.host, target.port, prepared.family, prepared.timeout, prepared.signal, startedAt);
  return endpointOf(target, first.address, first.family as 4 | 6);
}

/**
 * ms left of the deadline of a call made at `startedAt` (a lookup may have
 * used some), or `budget` if that is sooner (an attempt of a sequential
 * race); -1 for no deadline, as the wire has it.
 */
function timeLeft(prepared: Prepared, startedAt: number, budget = Infinity): number {
  const left = prepared.timeout === undefined ? Infinity : Math.max(0, prepared.timeout - (performance.now() - startedAt));
  const timeout = Math.min(left, budget);
  return timeout === Infinity ? -1 : timeout;
}

/**
 * Runs one attempt to its verdict: the lookup if the host is a name, then
 * the waiter. Literal targets go straight to the waiter: one promise each.
 */
function attempt<T>(prepared: Prepared, onVerdict?: (v: Verdict) => T): Promise<T> {
  return new Promise<T>((resolveT, reject) => {
    const resolve = resolveT as (value: unknown) => void;
    const { target, signal } = prepared;
    const entry = new Pending(signal, onVerdict, resolve, reject);
    if (signal?.aborted) return entry.settle({ error: abortError(whereOf(target), 0, [], signal.reason) });
    // A literal goes straight to the waiter with the whole deadline: no
    // clock read on the path every connect to an address takes.
    const endpoint = literalEndpoint(target);
    if (endpoint) return startAttempt(prepared, endpoint, prepared.timeout ?? -1, entry);
    const startedAt = performance.now();
    resolveName(prepared, target as Extract<ParsedTarget, { kind: 'name' }>, startedAt)
      .then((found) => startAttempt(prepared, found, timeLeft(prepared, startedAt), entry))
      .catch((error: unknown) => entry.settle({ error: error as ConnectError }));
  });
}

// ---- the public calls -----------------------------------------------------------

/**
 * Connects without blocking the event loop. socket (with SOCK_CLOEXEC),
 * fcntl(F_GETFL/F_SETFL O_NONBLOCK), the requested setsockopt calls, bind and
 * connect run in this environment's epoll engine, on the event loop's own
 * thread (libuv watches the engine's epoll instance), which waits with
 * epoll(7); with `wait: 'poll'` or `'select'` they run on a waiter thread
 * that waits with poll(2) or select(2). Either reads getsockopt(SO_ERROR)
 * after every wake; on TCP success getsockname and getpeername rule out a
 * self-connect.
 *
 * Rejects with a ConnectError (or TypeError/RangeError for bad arguments).
 */
export function connect(target: Target, options?: ConnectOptions): Promise<Connection> {
  if (tracing()) return traceAsync('connect', () => connectNow(target, options), target, options);
  return connectNow(target, options);
}

function connectNow(target: Target, options?: ConnectOptions): Promise<Connection> {
  let prepared: Prepared;
  try {
    prepared = prepare(target, options);
  } catch (err) {
    // prepare() throws only the TypeError or RangeError it made.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(err);
  }
  if (racesAddresses(prepared)) return connectName(prepared, prepared.target, options ?? {});
  return attempt<Connection>(prepared);
}

/** A name with autoSelectFamily on, and not already aborted: its addresses may race. */
function racesAddresses(prepared: Prepared): prepared is Prepared & { target: Extract<ParsedTarget, { kind: 'name' }> } {
  return prepared.target.kind === 'name' && prepared.autoSelectFamily && !prepared.signal?.aborted;
}

/** One looked-up address, as one attempt on the waiter. */
function attemptAt<T>(prepared: Prepared, address: { address: string; family: number }, startedAt: number, onVerdict?: (v: Verdict) => T): Promise<T> {
  const endpoint = endpointOf(prepared.target, address.address, address.family as 4 | 6);
  return new Promise<T>((resolve, reject) => {
    startAttempt(prepared, endpoint, timeLeft(prepared, startedAt), new Pending(prepared.signal, onVerdict, resolve as (value: unknown) => void, reject));
  });
}

/** How a call's options race a name's addresses (autoSelectFamily). */
function raceSettings(caller: string, prepared: Prepared, options: ConnectOptions, calledAt: number): RaceSettings {
  return { caller, delay: prepared.attemptDelay, timeout: prepared.timeout, signal: prepared.signal, connectOptions: options, calledAt, connect };
}

/**
 * A name, as Node 20's net.connect takes it with autoSelectFamily on: every
 * address is looked up; one address is one attempt, several race (RFC 8305,
 * `autoSelectFamilyAttemptTimeout` apart, first family first), and when all
 * fail the rejection is the AggregateError Node gives, code of the first.
 */
async function connectName(prepared: Prepared, target: Extract<ParsedTarget, { kind: 'name' }>, options: ConnectOptions): Promise<Connection> {
  const startedAt = performance.now();
  const addresses = await lookupAll(target.host, target.port, prepared.family, prepared.timeout, prepared.signal, startedAt);
  if (addresses.length === 1) return attemptAt<Connection>(prepared, addresses[0], startedAt);
  const { connection } = await race(addressCandidates(target, addresses), raceSettings('connect', prepared, options, startedAt));
  return connection;
}

/**
 * The same algorithm on the calling thread: it blocks until the verdict or
 * the deadline, and a host name is resolved with a blocking getaddrinfo.
 * `signal` is checked once, before the first syscall.
 *
 * A name with several addresses cannot race on one blocked thread, so they
 * are tried in turn, families alternating, as Node's autoSelectFamily does:
 * each but the last for at most `autoSelectFamilyAttemptTimeout` ms (then
 * it is ETIMEDOUT), the last for what is left of `timeout`. When all fail it
 * throws the AggregateError `connect` rejects with.
 *
 * Throws a ConnectError (or TypeError/RangeError for bad arguments).
 */
export function connectSync(target: Target, options?: ConnectOptions): Connection {
  if (tracing()) return traceSync(() => connectSyncNow(target, options), target, options);
  return connectSyncNow(target, options);
}

function connectSyncNow(target: Target, options?: ConnectOptions): Connection {
  if (MODE !== 'exact') throw notExact('connectSync', 'it blocks the calling thread in the kernel, and net connects only through the event loop');
  const prepared = prepare(target, options, false, 'sync');
  if (prepared.signal?.aborted) throw abortError(whereOf(prepared.target), 0, [], prepared.signal.reason);
  const literal = literalEndpoint(prepared.target);
  // A literal's attempt gets the whole deadline, as connect()'s does: the
  // trace's clock starts when the native side takes the attempt, so its
  // last wait is at or past `timeout` (the caller's wait is longer by the
  // call's own work); with what was left after that work, an emulated
  // select (qemu-aarch64) was seen to end the trace short of `timeout`.
  if (literal) return connectSyncTo(prepared, literal, prepared.timeout ?? -1);
  const startedAt = performance.now();
  const name = prepared.target as Extract<ParsedTarget, { kind: 'name' }>;
  const addresses = lookupAllSync(name.host, name.port, prepared.family);
  if (addresses.length === 1 || !prepared.autoSelectFamily)
    return connectSyncTo(prepared, endpointOf(name, addresses[0].address, addresses[0].family), timeLeft(prepared, startedAt));

  const candidates = addressCandidates(name, addresses);
  const attempts: RaceAttempt[] = candidates.map((c) => ({ target: c.where, startedAt: undefined, result: 'not started' }));
  for (const [i, { where }] of candidates.entries()) {
    // Each attempt names its address alone, as connect()'s racing ones do.
    const { address, port, family } = where as Extract<Endpoint, { address: string }>;
    const since = performance.now() - startedAt;
    if (prepared.timeout !== undefined && prepared.timeout - since <= 0) break;
    const budget = i === candidates.length - 1 ? Infinity : prepared.attemptDelay;
    attempts[i].startedAt = since;
    try {
      const connection = connectSyncTo(prepared, { host: address, address, port, family }, timeLeft(prepared, startedAt, budget));
      attempts[i].result = 'won';
      connection.race = { attempts, startedAt: since };
      return connection;
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      attempts[i].result = 'failed';
      attempts[i].error = err;
    }
  }
  throw everyAttemptFailed('connectSync', attempts);
}

/** One attempt on this thread with `timeout` ms (-1: none). */
function connectSyncTo(prepared: Prepared, endpoint: Endpoint, timeout: number): Connection {
  const { socket } = prepared;
  const [result] = decodeBatch(addon.connectSync(pack(socket, endpoint, timeout, 0), addressOf(endpoint), socket.localAddress, extraOf(socket, endpoint)));
  if (result.posixErrno !== 0) throw errorFromResult(result, endpoint);
  return new Connection(result, endpoint);
}

/**
 * Connects, closes, and reports what happened. It never rejects for a
 * network outcome (refused, timeout, self-connect, lookup failure, abort);
 * it rejects only for bad arguments. The socket is closed by the native side
 * (the epoll engine, or the waiter thread of `wait: 'poll'` or `'select'`)
 * right after the verdict, and the close is the last step.
 *
 * A name with several addresses races them as `connect` does; the Outcome
 * is the winner's (or, when all fail, the first error's code), and
 * `attempts` holds every address's own.
 */
export function probe(target: Target, options?: ConnectOptions): Promise<Outcome> {
  if (tracing()) return traceAsync('probe', () => probeNow(target, options), target, options);
  return probeNow(target, options);
}

function probeNow(target: Target, options?: ConnectOptions): Promise<Outcome> {
  let prepared: Prepared;
  try {
    prepared = prepare(target, options, true);
  } catch (err) {
    // prepare() throws only the TypeError or RangeError it made.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(err);
  }
  if (racesAddresses(prepared)) return probeName(prepared, prepared.target, options ?? {});
  return attempt(prepared, outcomeOfVerdict);
}

const outcomeOfVerdict = ({ connection, error }: Verdict): Outcome => (error ? outcomeOfError(error) : outcomeOfConnection(connection!));

async function probeName(prepared: Prepared, target: Extract<ParsedTarget, { kind: 'name' }>, options: ConnectOptions): Promise<Outcome> {
  const startedAt = performance.now();
  let addresses: dns.LookupAddress[];
  try {
    addresses = await lookupAll(target.host, target.port, prepared.family, prepared.timeout, prepared.signal, startedAt);
  } catch (err) {
    return outcomeOfError(err as ConnectError);
  }
  if (addresses.length === 1) return attemptAt(prepared, addresses[0], startedAt, outcomeOfVerdict);
  try {
    const raced = race(addressCandidates(target, addresses), raceSettings('probe', prepared, options, startedAt));
    // The losers are connects, settled before their close: the Outcome is
    // made once they are closed, with the close in each one's steps.
    const { connection } = await raced.finally(closesDone);
    // The winner was a connect, which takes no TCP_INFO: it is read here,
    // before the close, as a probe's own is.
    const { info } = MODE === 'exact' ? addon.raw.getTcpInfo(connection.fd) : { info: undefined };
    try {
      connection.close();
    } catch (err) {
      // close(2) failed; the Outcome says so, as probe's own does.
      return { ...outcomeOfError(err as ConnectError), attempts: connection.attempts };
    }
    const outcome = outcomeOfConnection(connection);
    if (info !== undefined) outcome.tcpInfo = decodeTcpInfo(info);
    return outcome;
  } catch (err) {
    if (!(err instanceof AggregateError)) return outcomeOfError(err as ConnectError);
    return outcomeOfRaceFailure(err as ConnectAnyError, { host: target.host, port: target.port }, performance.now() - startedAt);
  }
}
