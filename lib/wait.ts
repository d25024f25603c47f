// waitFor: attempts against one or more targets until each is up (or, with
// `reverse`, down), under one overall deadline. Each attempt is a probe or
// a connect, so a name races its addresses, an attempt has an exact connect
// deadline, and the failure that ends the wait names the last real code.
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';

import type { ConnectAnyError } from './connect-any';
import { connect, probe } from './connect';
import type { Connection } from './connection';
import { ConnectError, invalidArgType, invalidArgValue, missingArgs, plainAbortError, WaitTimeoutError, type WaitTargetReport } from './errors';
import { placeOf } from './format';
import { outcomeOfConnection, outcomeOfError, outcomeOfRaceFailure } from './outcome';
import { setLongTimeout, sleep } from './timers';
import type { ConnectOptions, Outcome, Target } from './types';
import { parseTarget, prepare, type ParsedTarget } from './validate';
import { validateAbortSignal, validateBoolean, validateFiniteNumber, validateFunction, validateInteger, validateObject, validateString } from './validators';

/**
 * What `waitFor` waits on: any `Target` (`'host:port'`, `'[v6]:port'`,
 * `'unix:/path'`, `'unix:@name'` for an abstract socket, `{ host, port }`,
 * `{ path }`), or an `http://` / `https://` URL, as a string or a URL.
 */
export type WaitTarget = Target | URL;

/** An HTTP status, or an inclusive range of them: `204`, `[200, 299]`. */
export type StatusRange = number | readonly [low: number, high: number];

/** `connect`'s options (each attempt's), and how to wait. */
export interface WaitOptions extends Omit<ConnectOptions, 'timeout' | 'signal'> {
  /** The overall deadline for all targets, ms from the call: default 60,000. At it, the wait rejects with a WaitTimeoutError. */
  timeout?: number;
  /** Each attempt's own deadline (lookup, connect and, for a URL, the whole request), ms: default 2,000, clipped to what is left of `timeout`. */
  attemptTimeout?: number;
  /** ms between the end of one attempt on a target and the start of the next: default 250. */
  interval?: number;
  /** Aborts the wait: it rejects at once with an AbortError whose `cause` is the signal's reason. */
  signal?: AbortSignal;
  /** Called after each attempt's verdict. A throw ends the wait with that error. */
  onAttempt?: (outcome: WaitOutcome, attempt: WaitAttempt) => void;
  /** Wait until every target is down (any verdict but up) instead of up. */
  reverse?: boolean;
  /**
   * TCP and unix targets: ms a connection must stay open, with no RST or
   * EOF from the peer, before the target counts as up (default 0: up at
   * the connect). A proxy that accepts before its backend listens, then
   * drops the connection, is not up; a server that closes every
   * connection at once is never up with a hold. Not used for URLs, where
   * the response is the proof.
   */
  hold?: number;
  /** URL targets: the statuses that count as up; default `[[200, 399]]`. */
  status?: readonly StatusRange[];
  /** URL targets: the request method; default 'GET'. */
  method?: string;
  /** URL targets: request headers. */
  headers?: Record<string, string>;
  /** https targets: verify the server's certificate (default true); false accepts a self-signed one. */
  rejectUnauthorized?: boolean;
}

/**
 * One attempt's verdict: probe's Outcome, and for a URL the response's
 * status (`ok` when it is acceptable, `code` 'HTTP 503' when not), for a
 * hold how long the connection stayed open.
 */
export interface WaitOutcome extends Outcome {
  /** URL targets: the response's status code. */
  status?: number;
  /** With `hold`: ms the connection stayed open (`hold` itself when it held). */
  held?: number;
}

/** Which attempt an `onAttempt` call reports. */
export interface WaitAttempt {
  /** The target as given (`unix:@name` for an abstract socket). */
  target: string;
  /** Its position in the list given (0 for a single target). */
  index: number;
  /** 1 for the first attempt on this target. */
  attempt: number;
  /** ms from the call to this attempt's start. */
  startedAt: number;
}

/** One target that became ready. */
export interface WaitReady {
  target: string;
  /** Attempts made, the deciding one included. */
  attempts: number;
  /** ms from the call to the deciding verdict. */
  readyAt: number;
  /** The deciding attempt's Outcome. */
  outcome: WaitOutcome;
}

/** What `waitFor` resolves with. */
export interface WaitResult {
  /** ms from the call until every target was ready. */
  elapsed: number;
  /** Every target, in the order given. */
  targets: WaitReady[];
}

/** The defaults, as `--help` and the docs state them. */
export const WAIT_DEFAULTS = { timeout: 60_000, attemptTimeout: 2000, interval: 250 } as const;

type Watched =
  | { label: string; kind: 'socket'; target: Target; parsed: ParsedTarget }
  | { label: string; kind: 'url'; url: URL; host: string; port: number; https: boolean };

interface Plan {
  watched: Watched[];
  timeout: number;
  attemptTimeout: number;
  interval: number;
  signal: AbortSignal | undefined;
  onAttempt: WaitOptions['onAttempt'];
  reverse: boolean;
  hold: number;
  status: readonly StatusRange[];
  method: string;
  headers: Record<string, string>;
  rejectUnauthorized: boolean;
  connect: ConnectOptions;
}

// RFC 9110's token: what a method may be.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function watchedOf(value: unknown, name: string): Watched {
  if (value instanceof URL || (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value))) {
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw invalidArgValue(name, value, 'is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw invalidArgValue(name, value, "must be an http: or https: URL, 'host:port' or 'unix:/path'");
    const https = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
    parseTarget({ host, port }, name);
    return { label: url.href, kind: 'url', url, host, port, https };
  }
  if (typeof value === 'string') {
    // unix:@name is the abstract socket \0name, as ss(8) and socat write it.
    const target = value.startsWith('unix:@') ? `unix:\0${value.slice(6)}` : value;
    return { label: value, kind: 'socket', target, parsed: parseTarget(target, name) };
  }
  if (value !== null && typeof value === 'object' && 'timeout' in value)
    throw invalidArgValue(
      `${name}.timeout`,
      value.timeout,
      "is not taken: each attempt's deadline is options.attemptTimeout and the whole wait's options.timeout",
    );
  const parsed = parseTarget(value, name);
  const label = parsed.kind === 'unix' ? (parsed.path.startsWith('\0') ? `unix:@${parsed.path.slice(1)}` : `unix:${parsed.path}`) : placeOf(parsed);
  return { label, kind: 'socket', target: value as Target, parsed };
}

function statusOf(value: unknown): readonly StatusRange[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidArgType('options.status', 'a non-empty array of status codes or [low, high] ranges', value);
  for (const [i, entry] of (value as unknown[]).entries()) {
    if (Array.isArray(entry)) {
      if (entry.length !== 2) throw invalidArgValue(`options.status[${i}]`, entry, 'must be a status or a [low, high] pair');
      const low = validateInteger(entry[0], `options.status[${i}][0]`, 100, 599);
      validateInteger(entry[1], `options.status[${i}][1]`, low, 599);
    } else validateInteger(entry, `options.status[${i}]`, 100, 599);
  }
  return value as readonly StatusRange[];
}

function planOf(targets: unknown, options: unknown): Plan {
  if (targets === undefined || (Array.isArray(targets) && targets.length === 0)) throw missingArgs('"targets" argument', targets);
  const list: unknown[] = Array.isArray(targets) ? targets : [targets];
  const watched = list.map((t, i) => watchedOf(t, Array.isArray(targets) ? `targets[${i}]` : 'target'));
  if (options === undefined) options = {};
  validateObject(options, 'options');
  const {
    timeout = WAIT_DEFAULTS.timeout,
    attemptTimeout = WAIT_DEFAULTS.attemptTimeout,
    interval = WAIT_DEFAULTS.interval,
    signal,
    onAttempt,
    reverse = false,
    hold = 0,
    status = [[200, 399]],
    method = 'GET',
    headers = {},
    rejectUnauthorized = true,
    ...connectOptions
  } = options as WaitOptions & Record<string, unknown>;
  validateFiniteNumber(timeout, 'options.timeout', 0);
  validateFiniteNumber(attemptTimeout, 'options.attemptTimeout', 1);
  validateFiniteNumber(interval, 'options.interval', 0);
  validateFiniteNumber(hold, 'options.hold', 0);
  validateAbortSignal(signal, 'options.signal');
  if (onAttempt !== undefined) validateFunction(onAttempt, 'options.onAttempt');
  validateBoolean(reverse, 'options.reverse');
  validateString(method, 'options.method');
  if (!TOKEN.test(method)) throw invalidArgValue('options.method', method, 'must be an HTTP method token');
  validateObject(headers, 'options.headers');
  // Node's own checks, now, before any connect: http.request would make
  // them only once a socket is open.
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    http.validateHeaderName(name);
    for (const one of Array.isArray(value) ? value : [value]) http.validateHeaderValue(name, one as string);
  }
  validateBoolean(rejectUnauthorized, 'options.rejectUnauthorized');
  // Every target with the connect options, now: a TCP-only option on a unix
  // target is refused before the first attempt, as connect refuses it.
  for (const w of watched) prepare(w.kind === 'url' ? { host: w.host, port: w.port } : w.target, connectOptions);
  return {
    watched,
    timeout,
    attemptTimeout,
    interval,
    signal,
    onAttempt,
    reverse,
    hold,
    status: statusOf(status),
    method,
    headers,
    rejectUnauthorized,
    connect: connectOptions,
  };
}

/**
 * Waits until every target is up: a TCP or unix target accepts a connect
 * (and, with `hold`, keeps it open that long), a URL answers with an
 * acceptable status. With `reverse`, until every target is down.
 *
 * Each target is attempted on its own: an attempt, then `interval` ms, then
 * the next, each attempt with a fresh socket and a deadline of
 * `attemptTimeout` clipped to what is left of `timeout`. A name races its
 * addresses as `connect` does, so `localhost` answering ::1 first with the
 * server on 127.0.0.1 only is up at the first attempt.
 *
 * Resolves with each target's attempts, when it became ready and the
 * deciding Outcome. At `timeout` it rejects with a WaitTimeoutError (code
 * 'ETIMEDOUT') that holds each target's last Outcome and code; on abort,
 * at once with an AbortError. Bad arguments reject with Node's ERR_* errors
 * before any connect.
 */
export function waitFor(targets: WaitTarget | readonly WaitTarget[], options?: WaitOptions): Promise<WaitResult> {
  let plan: Plan;
  try {
    plan = planOf(targets, options);
  } catch (err) {
    // planOf() throws only the TypeError or RangeError it made.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(err);
  }
  return run(plan);
}

async function run(plan: Plan): Promise<WaitResult> {
  const { signal } = plan;
  if (signal?.aborted) throw plainAbortError(signal.reason);
  const startedAt = performance.now();
  // One controller ends every attempt and pause: the overall deadline, the
  // caller's abort, or a throw from onAttempt.
  const stop = new AbortController();
  const cancelTimer = setLongTimeout(() => stop.abort(), plan.timeout);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      stop.abort();
      reject(plainAbortError(signal!.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const states: WaitTargetReport[] = plan.watched.map((w) => ({
    target: w.label,
    attempts: 0,
    ready: false,
    readyAt: undefined,
    code: undefined,
    outcome: undefined,
  }));
  const watchers = plan.watched.map((w, i) => watch(w, i, states[i], plan, startedAt, stop.signal));
  try {
    await Promise.race([Promise.all(watchers), aborted]);
  } catch (err) {
    stop.abort();
    // A throw from onAttempt: the other targets' attempts end first, so
    // no socket outlives the call. An abort rejects at once.
    if (!signal?.aborted) await Promise.allSettled(watchers);
    throw err;
  } finally {
    cancelTimer();
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  if (!states.every((s) => s.ready)) throw new WaitTimeoutError(plan.timeout, plan.reverse, states);
  return {
    elapsed: performance.now() - startedAt,
    targets: states.map((s) => ({ target: s.target, attempts: s.attempts, readyAt: s.readyAt!, outcome: s.outcome! })),
  };
}

/** Attempts one target until it is ready or `stop` aborts. */
async function watch(w: Watched, index: number, state: WaitTargetReport, plan: Plan, startedAt: number, stop: AbortSignal): Promise<void> {
  for (let n = 1; !stop.aborted; n++) {
    const since = performance.now() - startedAt;
    const left = plan.timeout - since;
    if (left <= 0) return;
    // Clipped: this attempt's deadline is the overall one.
    const clipped = left <= plan.attemptTimeout;
    let outcome = await attempt(w, plan, Math.min(plan.attemptTimeout, left), stop);
    if (plan.signal?.aborted) return;
    // The overall deadline cut this attempt short: that is no verdict, up or
    // down (with reverse too: a live server whose request or hold the
    // deadline cut is not down). An earlier verdict (ECONNREFUSED, HTTP 404)
    // says more than a cut one, so it stays the last; with none, this one
    // timed out.
    const cut = outcome.code === 'ABORT_ERR' || (clipped && outcome.code === 'ETIMEDOUT');
    if (cut) {
      if (state.outcome !== undefined) return;
      outcome = { ...outcome, code: 'ETIMEDOUT', errno: -110, phase: 'timeout' };
    }
    state.attempts = n;
    state.code = outcome.code;
    state.outcome = outcome;
    if (!cut && outcome.ok !== plan.reverse) {
      state.ready = true;
      state.readyAt = performance.now() - startedAt;
    }
    plan.onAttempt?.(outcome, { target: w.label, index, attempt: n, startedAt: since });
    if (state.ready) return;
    await sleep(plan.interval, stop);
  }
}

function attempt(w: Watched, plan: Plan, budget: number, stop: AbortSignal): Promise<WaitOutcome> {
  const options: ConnectOptions = { ...plan.connect, timeout: budget, signal: stop };
  if (w.kind === 'url') return request(w, plan, options);
  if (plan.hold === 0) return probe(w.target, options);
  return connectAndHold(w, plan.hold, options);
}

/** A failed connect as an Outcome: a ConnectError's own, or a race's (every address failed). */
function failureOutcome(err: unknown, target: { host: string; port: number } | undefined, startedAt: number): Outcome {
  if (err instanceof ConnectError) return outcomeOfError(err);
  if (err instanceof AggregateError && target) return outcomeOfRaceFailure(err as ConnectAnyError, target, performance.now() - startedAt);
  throw err;
}

const hostPortOf = (parsed: ParsedTarget) => (parsed.kind === 'unix' ? undefined : { host: parsed.host, port: parsed.port });

async function connectAndHold(w: Extract<Watched, { kind: 'socket' }>, hold: number, options: ConnectOptions): Promise<WaitOutcome> {
  const startedAt = performance.now();
  let connection: Connection;
  try {
    connection = await connect(w.target, options);
  } catch (err) {
    return failureOutcome(err, hostPortOf(w.parsed), startedAt);
  }
  const connected = outcomeOfConnection(connection);
  const socket = connection.toSocket();
  const signal = options.signal!;
  const opened = performance.now();
  return new Promise<WaitOutcome>((resolve) => {
    const finish = (fields: Partial<WaitOutcome>) => {
      cancelTimer();
      signal.removeEventListener('abort', onStop);
      socket.destroy();
      resolve({ ...connected, held: performance.now() - opened, ...fields });
    };
    // An RST is ECONNRESET; a FIN ('end') has no errno: 'EOF'.
    socket.on('data', () => {});
    socket.once('end', () => finish({ ok: false, code: 'EOF', errno: undefined }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, code: err.code ?? 'EIO', errno: err.errno }));
    // The overall deadline (or the caller) stopped the hold: a cut, not a verdict.
    const onStop = () => finish({ ok: false, code: 'ABORT_ERR', errno: undefined, phase: 'aborted' });
    signal.addEventListener('abort', onStop, { once: true });
    const cancelTimer = setLongTimeout(() => finish({ held: hold }), hold);
  });
}

function acceptable(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => (typeof r === 'number' ? status === r : status >= r[0] && status <= r[1]));
}

/**
 * One request: the connect through nbconnect (its exact deadline, its
 * steps), TLS over it for https, then the request; the whole of it within
 * the attempt's deadline. The status decides: the body is not read.
 */
async function request(w: Extract<Watched, { kind: 'url' }>, plan: Plan, options: ConnectOptions): Promise<WaitOutcome> {
  const startedAt = performance.now();
  const target = { host: w.host, port: w.port };
  let connection: Connection;
  try {
    connection = await connect(target, options);
  } catch (err) {
    return failureOutcome(err, target, startedAt);
  }
  const connected = outcomeOfConnection(connection);
  const socket = connection.toSocket();
  const stream: net.Socket = w.https
    ? tls.connect({ socket, servername: net.isIP(w.host) ? undefined : w.host, rejectUnauthorized: plan.rejectUnauthorized, ALPNProtocols: ['http/1.1'] })
    : socket;
  const signal = options.signal!;
  return new Promise<WaitOutcome>((resolve) => {
    let settled = false;
    const finish = (fields: Partial<WaitOutcome>) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      signal.removeEventListener('abort', onStop);
      req.destroy();
      stream.destroy();
      socket.destroy();
      resolve({ ...connected, ...fields, elapsed: performance.now() - startedAt });
    };
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: w.host,
        port: w.port,
        path: `${w.url.pathname}${w.url.search}`,
        method: plan.method,
        headers: { host: w.url.host, ...plan.headers },
        createConnection: () => stream,
      });
    } catch (err) {
      // Whatever http.request refuses at once must not keep the socket.
      stream.destroy();
      socket.destroy();
      throw err;
    }
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (acceptable(status, plan.status)) finish({ ok: true, code: 'OK', errno: 0, status });
      else finish({ ok: false, code: `HTTP ${status}`, errno: undefined, status });
    });
    req.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, code: err.code ?? 'EPROTO', errno: err.errno }));
    const onStop = () => finish({ ok: false, code: 'ABORT_ERR', errno: undefined, phase: 'aborted' });
    signal.addEventListener('abort', onStop, { once: true });
    const left = Math.max(0, (options.timeout ?? 0) - (performance.now() - startedAt));
    const cancelTimer = setLongTimeout(() => finish({ ok: false, code: 'ETIMEDOUT', errno: -110, phase: 'timeout' }), left);
    req.end();
  });
}
