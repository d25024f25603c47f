import { EventEmitter } from 'node:events';

import { connect } from './connect';
import { outcomeOfConnection, outcomeOfError } from './outcome';
import type { Connection } from './connection';
import { abortError, type ConnectError, consumerLeft, internalAssertion, invalidArgType, invalidState, outOfRange } from './errors';
import { errnoName } from './errnos';
import type { ConnectOptions, Outcome, Target } from './types';
import { prepare, whereOf } from './validate';
import { sleep } from './timers';
import { validateFiniteNumber, validateFunction, validateInteger, validateObject } from './validators';

/** What a connect result means for the next move. */
export type Disposition = 'connecting' | 'retry' | 'fatal';

const CONNECTING = new Set(['OK', 'EINPROGRESS', 'EINTR', 'EISCONN']);
const RETRY = new Set(['EAGAIN', 'EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'ENETUNREACH', 'ETIMEDOUT', 'ESELFCONNECT']);

/**
 * Sorts a connect result the way muduo's Connector does, so a client knows
 * whether to wait, try again with a fresh socket, or give up:
 *
 * | disposition  | codes                                                                 |
 * |--------------|-----------------------------------------------------------------------|
 * | 'connecting' | 0 ('OK'), EINPROGRESS, EINTR, EISCONN                                  |
 * | 'retry'      | EAGAIN, EADDRINUSE, EADDRNOTAVAIL, ECONNREFUSED, ENETUNREACH, ETIMEDOUT, ESELFCONNECT |
 * | 'fatal'      | EACCES, EPERM, EAFNOSUPPORT, EALREADY, EBADF, EFAULT, ENOTSOCK, and every other code |
 *
 * `code` is a name ('ECONNREFUSED') or an errno, positive as the kernel
 * sets it or negative as Node reports it; 0 means connected.
 */
export function classify(code: string | number): Disposition {
  let name: string;
  if (typeof code === 'number') {
    if (!Number.isInteger(code)) throw outOfRange('code', 'an integer errno', code);
    name = code === 0 ? 'OK' : errnoName(Math.abs(code));
  } else if (typeof code === 'string') name = code;
  else throw invalidArgType('code', 'one of type string or number', code);
  if (CONNECTING.has(name)) return 'connecting';
  if (RETRY.has(name)) return 'retry';
  return 'fatal';
}

/** `connect`'s options, applied to every attempt (`timeout` per attempt), plus the backoff. */
export interface ConnectorOptions extends ConnectOptions {
  /** The first retry's delay in ms; default 500. */
  initialDelay?: number;
  /** The cap on the delay in ms; default 30,000. */
  maxDelay?: number;
  /** Each delay is the previous one times this; default 2. */
  factor?: number;
  /**
   * 0 (default) to 1: each delay is drawn uniformly from
   * [delay × (1 − jitter), delay], so clients that failed together do not
   * retry together.
   */
  jitter?: number;
  /** Stop after this many attempts; default Infinity. */
  maxAttempts?: number;
  /** Overrides `classify`, e.g. to retry EHOSTUNREACH. */
  classify?: (code: string) => Disposition;
}

/** One attempt, as the `'attempt'` event and the `attempts()` iterator report it. */
export interface AttemptReport {
  /** 1 for the first attempt. */
  attempt: number;
  /** ms from the start of `connect()` to this attempt's start. */
  startedAt: number;
  /** What the kernel said, with the steps. */
  outcome: Outcome;
  disposition: Disposition;
  /** ms until the next attempt; undefined when there is none. */
  nextDelay: number | undefined;
  /** The socket, on the attempt that connected. */
  connection?: Connection;
}

/**
 * Connects with retry and backoff, in the manner of muduo's Connector:
 * every attempt takes a fresh socket (a socket whose connect failed cannot be
 * connected again portably), and each failure is sorted by `classify`.
 * 'retry' waits `initialDelay`, then doubles up to `maxDelay`; 'fatal',
 * the signal, or `maxAttempts` ends it.
 *
 * Each attempt is a `connect` (socket, fcntl, setsockopt, bind, connect,
 * poll/select, getsockopt SO_ERROR), and `timeout` applies per attempt.
 * Every attempt is reported with its steps, through the `'attempt'` event
 * or the `attempts()` async iterator.
 */
export class Connector extends EventEmitter<{ attempt: [AttemptReport] }> {
  readonly target: Target;
  private readonly options: ConnectOptions;
  private readonly initialDelay: number;
  private readonly maxDelay: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly maxAttempts: number;
  private readonly sort: (code: string) => Disposition;
  private readonly signal: AbortSignal | undefined;
  private running = false;

  constructor(target: Target, options: ConnectorOptions = {}) {
    super();
    validateObject(options, 'options');
    const { initialDelay = 500, maxDelay = 30000, factor = 2, jitter = 0, maxAttempts = Infinity, classify: sort = classify, ...connectOptions } = options;
    prepare(target, connectOptions); // target and socket options: checked now, not on the first attempt
    this.initialDelay = validateFiniteNumber(initialDelay, 'options.initialDelay', 0);
    this.maxDelay = validateFiniteNumber(maxDelay, 'options.maxDelay', 0);
    this.factor = validateFiniteNumber(factor, 'options.factor', 1);
    this.jitter = validateFiniteNumber(jitter, 'options.jitter', 0, 1);
    if (maxAttempts !== Infinity) validateInteger(maxAttempts, 'options.maxAttempts', 1, Number.MAX_SAFE_INTEGER);
    this.maxAttempts = maxAttempts;
    validateFunction(sort, 'options.classify');
    this.sort = sort;
    this.target = target;
    this.signal = connectOptions.signal;
    this.options = connectOptions;
  }

  /** The delay before attempt `n + 1`, after attempt `n` (1-based) failed, before jitter. */
  delayAfter(n: number): number {
    return Math.min(this.maxDelay, this.initialDelay * this.factor ** (n - 1));
  }

  /**
   * Attempts until one connects, yielding a report for each; the last report
   * of a successful run carries the `connection`. A fatal code or
   * `maxAttempts` ends the run by throwing the last ConnectError; the signal
   * throws an AbortError whose `cause` is the last finished attempt's
   * ConnectError (ECONNREFUSED, ETIMEDOUT, ...), or the signal's reason if
   * no attempt had finished. Leaving the loop early stops the retries, and a
   * pending attempt is aborted with its socket closed.
   */
  async *attempts(): AsyncGenerator<AttemptReport, void, undefined> {
    if (this.running) throw invalidState('this Connector is already running');
    this.running = true;
    const startedAt = performance.now();
    const stop = new AbortController();
    const onAbort = () => stop.abort(this.signal!.reason);
    // A signal aborted before the run fires no 'abort' event: without this,
    // the run would retry past it.
    if (this.signal?.aborted) onAbort();
    else this.signal?.addEventListener('abort', onAbort, { once: true });
    let current: Promise<unknown> | undefined;
    // The last finished attempt's error: the AbortError's cause when the
    // caller's signal ends the run, so a deadline does not hide why the
    // attempts failed (the signal's reason when none had finished).
    let lastError: ConnectError | undefined;
    try {
      for (let n = 1; ; n++) {
        if (stop.signal.aborted) throw abortError(whereOf(prepare(this.target, {}).target), performance.now() - startedAt, [], lastError ?? stop.signal.reason);
        const attemptAt = performance.now() - startedAt;
        const attempt = connect(this.target, { ...this.options, signal: stop.signal });
        current = attempt.catch(() => {});
        let connection: Connection | undefined;
        let error: ConnectError | undefined;
        try {
          connection = await attempt;
        } catch (err) {
          error = err as ConnectError;
        }
        current = undefined;
        if (error?.code === 'ABORT_ERR') throw lastError ? abortError(error.target, error.elapsed, error.steps, lastError) : error;
        if (error) lastError = error;
        const outcome = connection ? outcomeOfConnection(connection) : outcomeOfError(error!);
        const disposition = connection ? 'connecting' : this.sort(error!.code);
        const more = disposition === 'retry' && n < this.maxAttempts;
        const nextDelay = more ? this.delayAfter(n) * (1 - this.jitter * Math.random()) : undefined;
        const report: AttemptReport = { attempt: n, startedAt: attemptAt, outcome, disposition, nextDelay };
        if (connection) report.connection = connection;
        this.emit('attempt', report);
        yield report;
        if (connection) return;
        if (!more) throw error!;
        await sleep(nextDelay!, stop.signal);
      }
    } finally {
      stop.abort(consumerLeft('Connector'));
      await current;
      this.signal?.removeEventListener('abort', onAbort);
      this.running = false;
    }
  }

  /** Runs `attempts()` to the end: resolves with the Connection, or rejects as it throws. */
  async connect(): Promise<Connection> {
    for await (const report of this.attempts()) if (report.connection) return report.connection;
    throw internalAssertion('Connector ended without a verdict'); // unreachable: attempts() throws instead
  }
}
