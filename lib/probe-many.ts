import { setMaxListeners } from 'node:events';

import { batchClient, closesDone, probe } from './connect';
import type { ConnectOptions, Outcome, Target } from './types';
import { consumerLeft, invalidArgType } from './errors';
import { MODE } from './mode';
import { BatchRecord, ProbeBatch } from './probe-batch';
import { tracing } from './tracing';
import { prepare, targetParser, type ParsedTarget, type Prepared } from './validate';
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

  // Made first: if the targets cannot be iterated, nothing else was set up.
  const source: Iterator<Target> | AsyncIterator<Target> = Symbol.asyncIterator in targets ? targets[Symbol.asyncIterator]() : targets[Symbol.iterator]();
  const synchronous = !(Symbol.asyncIterator in targets);

  // One signal for every attempt: the caller's, or our own early exit.
  const stop = new AbortController();
  // Every attempt in flight listens on it: that is the design, not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted already: no target is pulled (the listener would never fire).
  if (signal?.aborted) stop.abort(signal.reason);

  const ready: (Outcome | BatchRecord)[] = [];
  let failure: { error: unknown } | undefined;
  let inFlight = 0; // probe() calls (names, or everything while traced)
  let exhausted = false;
  let sourceThrew = false; // its next() threw: as for...of, no return()
  let ended = false; // the loop statement is over, or ending
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // The batch path, where the exact engine runs and nobody traces calls
  // one by one (a traced probe is a call of its own).
  const batch =
    MODE === 'exact' && !tracing()
      ? new ProbeBatch(batchClient(), (record) => {
          ready.push(record);
          notify();
        })
      : undefined;
  stop.signal.addEventListener(
    'abort',
    () => {
      batch?.abort(stop.signal.reason);
      notify(); // a loop waiting on its source ends now
    },
    { once: true },
  );
  const parse = targetParser();
  // The options, checked once per kind of target (an IPv4 or IPv6 literal,
  // a path, a name) with the first of that kind, exactly as probe() checks
  // them: a misfit stops the pulling at once, not when probe() rejects.
  const checked = new Map<string, Prepared>();
  const pending = () => inFlight + (batch?.inFlight ?? 0);
  const canPull = () => !exhausted && !ended && failure === undefined && !stop.signal.aborted && pending() < concurrency;

  // Pulls targets and starts them while there is room. It runs beside the
  // loop rather than in it: an async source may take its time with the next
  // target, and the Outcomes of what it gave so far are yielded meanwhile.
  const fill = async () => {
    try {
      while (canPull()) {
        // What an async source gave so far starts before it is asked for more.
        if (!synchronous) batch?.flush();
        let next: IteratorResult<Target>;
        try {
          next = synchronous ? (source as Iterator<Target>).next() : await source.next();
        } catch (error) {
          sourceThrew = true;
          throw error;
        }
        if (next.done) {
          exhausted = true;
          break;
        }
        // The loop ended while the source took its time: nothing more starts.
        if (ended || stop.signal.aborted) break;
        let parsed: ParsedTarget;
        try {
          // Each field of the caller's target is read once, here.
          parsed = parse(next.value);
          const kind = parsed.kind === 'ip' ? `ip${parsed.family}` : parsed.kind;
          let prepared = checked.get(kind);
          if (prepared === undefined) checked.set(kind, (prepared = prepare(plainTarget(parsed), connectOptions, true)));
          if (batch && parsed.kind !== 'name') {
            batch.add(parsed, prepared);
            continue;
          }
        } catch (error) {
          failure ??= { error }; // a malformed target, or options that do not fit it: TypeError or RangeError
          break;
        }
        inFlight++;
        probe(plainTarget(parsed), { ...connectOptions, signal: stop.signal })
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
  let pulling = false;
  const pump = () => {
    if (pulling || !canPull()) return;
    pulling = true;
    fill()
      .catch((error: unknown) => (failure ??= { error })) // the source threw, or the native side refused a batch
      .finally(() => {
        pulling = false;
        notify();
      });
  };

  let throwing = false;
  try {
    for (;;) {
      // A malformed target (TypeError or RangeError) ends the loop at once,
      // not after the next verdict of what is in flight.
      if (failure) throw failure.error;
      if (ready.length > 0) {
        const next = ready.shift()!;
        yield next instanceof BatchRecord ? next.outcome() : next;
        continue;
      }
      pump();
      // A pull still waiting on the source is not waited for once the
      // caller aborted: the source may never answer.
      if ((!pulling || stop.signal.aborted) && pending() === 0 && ready.length === 0 && failure === undefined) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } catch (error) {
    throwing = true;
    throw error;
  } finally {
    // Early exit or the end: cancel what is left, and let every attempt
    // settle, so no socket outlives the loop.
    ended = true;
    if (pending() > 0) stop.abort(consumerLeft('probeMany'));
    while (pending() > 0) await new Promise<void>((resolve) => (wake = resolve));
    // A probe settles once its socket is closed; an abort that came first
    // may leave closes a turn behind: the loop statement ends after them.
    await closesDone();
    signal?.removeEventListener('abort', onAbort);
    if (!exhausted && !sourceThrew) await closeSource(source, { mayHang: pulling, throwing });
  }
}

/**
 * Closes a source the loop left early, as for...of closes its iterator. A
 * source still working on a target it was asked for finishes that first;
 * the loop statement does not wait for one that may never answer (its
 * sockets are all closed by now). What its cleanup throws is the loop's
 * error, unless the loop is throwing already: that error wins, as for...of
 * has it.
 */
async function closeSource(source: Iterator<Target> | AsyncIterator<Target>, { mayHang, throwing }: { mayHang: boolean; throwing: boolean }): Promise<void> {
  let done: Promise<unknown>;
  try {
    done = Promise.resolve(source.return?.());
  } catch (error) {
    if (throwing) return;
    throw error;
  }
  if (mayHang || throwing) done.catch(() => {});
  else await done;
}

/** A parsed target as a plain object, for probe(): the caller's own object is not read again. */
function plainTarget(parsed: ParsedTarget): Target {
  return parsed.kind === 'unix' ? { path: parsed.path } : { host: parsed.host, port: parsed.port };
}
