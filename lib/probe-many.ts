import { setMaxListeners } from 'node:events';

import { batchClient, closesDone, probe } from './connect';
import type { ConnectOptions, Outcome, Target } from './types';
import { consumerLeft, invalidArgType } from './errors';
import { MODE } from './mode';
import { BatchRecord, ProbeBatch } from './probe-batch';
import { tracing } from './tracing';
import { prepare, targetParser, type ParsedTarget } from './validate';
import { validateAbortSignal, validateInteger, validateObject } from './validators';

/** `probe`'s options, plus how many attempts run at once. */
export interface ProbeManyOptions extends ConnectOptions {
  /** Attempts in flight at once; default 256. */
  concurrency?: number;
}

/**
 * Probes every target, `concurrency` at a time, and yields each Outcome as
 * it completes. Targets are pulled lazily from any iterable or async
 * iterable, so a range of 65,535 ports costs no more memory than ten.
 *
 * Leaving the loop early (break, return, throw) aborts what is in flight
 * and waits until every socket is closed before the loop statement ends.
 * Each attempt is a `probe`: socket, fcntl, setsockopt, bind, connect, the
 * wait (epoll in the event loop's engine by default; poll or select on a
 * waiter thread when asked), getsockopt(SO_ERROR) and close.
 *
 * Literal addresses and unix paths take a batch path (lib/probe-batch.ts):
 * the options are checked once per kind of target, the targets pulled in a
 * turn go to the native side in one call, and each Outcome is built when
 * the loop reads it. A name is a `probe` of its own (its lookup, its race).
 */
export async function* probeMany(targets: Iterable<Target> | AsyncIterable<Target>, options: ProbeManyOptions = {}): AsyncGenerator<Outcome, void, undefined> {
  if (targets === null || typeof targets !== 'object' || !(Symbol.iterator in targets || Symbol.asyncIterator in targets))
    throw invalidArgType('targets', 'an iterable or async iterable', targets);
  validateObject(options, 'options');
  const { concurrency = 256, signal, ...connectOptions } = options;
  validateInteger(concurrency, 'options.concurrency', 1, 65536);
  validateAbortSignal(signal, 'options.signal');

  // One signal for every attempt: the caller's, or our own early exit.
  const stop = new AbortController();
  // Every attempt in flight listens on it: that is the design, not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const source: Iterator<Target> | AsyncIterator<Target> = Symbol.asyncIterator in targets ? targets[Symbol.asyncIterator]() : targets[Symbol.iterator]();
  const synchronous = !(Symbol.asyncIterator in targets);
  const ready: (Outcome | BatchRecord)[] = [];
  let failure: { error: unknown } | undefined;
  let inFlight = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // The batch path, where the exact engine runs and nobody traces calls
  // one by one (a traced probe is a call of its own).
  const batch = MODE === 'exact' && !tracing() ? newBatch(connectOptions, ready, notify) : undefined;
  stop.signal.addEventListener('abort', () => batch?.abort(stop.signal.reason), { once: true });
  const parse = targetParser();

  const fill = async () => {
    try {
      while (!exhausted && failure === undefined && !stop.signal.aborted && inFlight + (batch?.inFlight ?? 0) < concurrency) {
        const next = synchronous ? (source as Iterator<Target>).next() : await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        if (batch) {
          let parsed: ParsedTarget;
          try {
            parsed = parse(next.value);
            if (parsed.kind !== 'name') {
              batch.add(parsed);
              continue;
            }
          } catch (error) {
            failure ??= { error }; // a malformed target: TypeError or RangeError
            break;
          }
        }
        inFlight++;
        probe(next.value, { ...connectOptions, signal: stop.signal })
          .then(
            (outcome) => ready.push(outcome),
            (error) => (failure ??= { error }),
          )
          .finally(() => {
            inFlight--;
            notify();
          });
      }
    } finally {
      batch?.flush();
    }
  };
  const pending = () => inFlight + (batch?.inFlight ?? 0);

  try {
    await fill();
    while (pending() > 0 || ready.length > 0) {
      if (ready.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure.error; // a malformed target: TypeError or RangeError
      while (ready.length > 0) {
        const next = ready.shift()!;
        yield next instanceof BatchRecord ? next.outcome() : next;
      }
      await fill();
    }
    if (failure) throw failure.error;
  } finally {
    // Early exit or the end: cancel what is left, and let every attempt
    // settle, so no socket outlives the loop.
    if (pending() > 0) stop.abort(consumerLeft('probeMany'));
    while (pending() > 0) await new Promise<void>((resolve) => (wake = resolve));
    // A probe settles once its socket is closed; an abort that came first
    // may leave closes a turn behind: the loop statement ends after them.
    await closesDone();
    signal?.removeEventListener('abort', onAbort);
    if (!exhausted) await (source.return?.() as Promise<unknown> | undefined);
  }
}

/**
 * A batch for probeMany's literal targets. The options are checked once
 * per kind of target (an IPv4 or IPv6 address, a path), with that kind's
 * first target, exactly as probe() checks them: what applies to TCP only
 * is refused for a path, a family that is not the address's is refused.
 */
function newBatch(options: ConnectOptions, ready: (Outcome | BatchRecord)[], notify: () => void): ProbeBatch {
  return new ProbeBatch(
    batchClient(),
    (target) => prepare(target.kind === 'unix' ? { path: target.path } : { host: target.address, port: target.port }, options, true),
    (record) => {
      ready.push(record);
      notify();
    },
  );
}
