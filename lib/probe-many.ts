import { setMaxListeners } from 'node:events';

import { closesDone, probe } from './connect';
import type { ConnectOptions, Outcome, Target } from './types';
import { consumerLeft, invalidArgType } from './errors';
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
  const ready: Outcome[] = [];
  let failure: { error: unknown } | undefined;
  let inFlight = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const fill = async () => {
    while (!exhausted && failure === undefined && !stop.signal.aborted && inFlight < concurrency) {
      const next = await source.next();
      if (next.done) {
        exhausted = true;
        break;
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
  };

  try {
    await fill();
    while (inFlight > 0 || ready.length > 0) {
      if (ready.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure.error; // a malformed target: TypeError or RangeError
      while (ready.length > 0) yield ready.shift()!;
      await fill();
    }
    if (failure) throw failure.error;
  } finally {
    // Early exit or the end: cancel what is left, and let every attempt
    // settle, so no socket outlives the loop.
    if (inFlight > 0) stop.abort(consumerLeft('probeMany'));
    while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    // A probe settles once its socket is closed; an abort that came first
    // may leave closes a turn behind: the loop statement ends after them.
    await closesDone();
    signal?.removeEventListener('abort', onAbort);
    if (!exhausted) await (source.return?.() as Promise<unknown> | undefined);
  }
}
