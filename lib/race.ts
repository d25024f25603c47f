// The race engine beneath connect() and connectAny(): RFC 8305's Happy
// Eyeballs over a list of candidates, each attempt a connect() of its own
// that the caller hands down (so this module imports neither), the losers
// aborted, and settled, before the verdict.
import type { Connection } from './connection';
import { abortError, everyAttemptFailed, type ConnectError } from './errors';
import { setLongTimeout } from './timers';
import type { ConnectOptions, Target, Where } from './types';

/** What happened to one address of a `connectAny` race. */
export interface RaceAttempt {
  target: Where;
  /** ms from the call to this attempt's socket(); undefined if it never started. */
  startedAt: number | undefined;
  /**
   * 'won'; 'failed' (its error is in `error`); 'cancelled' (closed because
   * another won, or the caller aborted); 'not started' (the race ended first).
   */
  result: 'won' | 'failed' | 'cancelled' | 'not started';
  /** 'failed': why. 'cancelled': the AbortError, whose steps end with the close. */
  error?: ConnectError;
}

/** What `connectAny` resolves with. */
export interface ConnectAnyResult {
  /** The winner's socket, now the caller's to use and close. */
  connection: Connection;
  /** The index in `attempts` of the winner. */
  winner: number;
  /** Every address, in the order it was (or would have been) tried. */
  attempts: RaceAttempt[];
}

/** What `connectAny` rejects with when no attempt connects. */
export interface ConnectAnyError extends AggregateError {
  /** The first attempt's code, as Node sets it on its own AggregateError. */
  code: string;
  errors: ConnectError[];
  attempts: RaceAttempt[];
}

/** One address to try: what to connect to, and where it came from (the name, for a looked-up address). */
export type Candidate = { target: Target; where: Where };

/** RFC 8305 section 4: alternate the families, starting with the first one the resolver gave. */
export function interleave<T extends { family: number }>(addresses: readonly T[]): T[] {
  if (addresses.length === 0) return [];
  const first = addresses.filter((a) => a.family === addresses[0].family);
  const other = addresses.filter((a) => a.family !== addresses[0].family);
  const out: T[] = [];
  for (let i = 0; i < Math.max(first.length, other.length); i++) {
    if (i < first.length) out.push(first[i]);
    if (i < other.length) out.push(other[i]);
  }
  return out;
}

/**
 * @internal A looked-up name's addresses as race candidates, families
 * interleaved, the first family first: connectAny for a name, and connect()
 * when a name has more than one address (autoSelectFamily, as Node's).
 */
export function addressCandidates(name: { host: string; port: number }, addresses: readonly { address: string; family: number }[]): Candidate[] {
  return interleave(addresses).map(({ address, family: f }) => ({
    target: { host: address, port: name.port },
    where: { host: name.host, address, port: name.port, family: f as 4 | 6 },
  }));
}

/** How a race runs; see connectAny. */
export interface RaceSettings {
  /** Who raced, for the message when every attempt failed: 'connectAny', 'connect', 'probe'. */
  caller: string;
  /** ms an attempt runs alone before the next starts beside it. */
  delay: number;
  /** One deadline for the whole race, in ms from `calledAt`. */
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  /** Each attempt's own options (its timeout and signal are the race's). */
  connectOptions: ConnectOptions;
  /** performance.now() at the call. */
  calledAt: number;
  /** One attempt: `connect` itself, handed down so that this module sits beneath it. */
  connect: (target: Target, options: ConnectOptions) => Promise<Connection>;
}

/** @internal Races the candidates; see connectAny. */
export function race(candidates: Candidate[], { caller, delay, timeout, signal, connectOptions, calledAt, connect }: RaceSettings): Promise<ConnectAnyResult> {
  const attempts: RaceAttempt[] = candidates.map((c) => ({ target: c.where, startedAt: undefined, result: 'not started' }));
  const controllers: AbortController[] = [];
  const running = new Set<Promise<void>>();
  let next = 0;
  let winner = -1;
  let connection: Connection | undefined;
  let cancelTimer: (() => void) | undefined;

  return new Promise<ConnectAnyResult>((resolve, reject) => {
    const since = () => performance.now() - calledAt;

    // Every outcome ends here once nothing is running: the winner, or the
    // aggregate of failures. Losers are closed by then, so the caller never
    // shares the process with a socket it cannot see.
    const finish = () => {
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
      if (connection) {
        connection.race = { attempts, startedAt: attempts[winner].startedAt! };
        return resolve({ connection, winner, attempts });
      }
      if (signal?.aborted) return reject(abortError(candidates[0].where, since(), [], signal.reason));
      reject(everyAttemptFailed(caller, attempts));
    };

    const stopAll = () => {
      cancelTimer?.();
      for (const c of controllers) c.abort();
    };

    const onAbort = () => stopAll();
    signal?.addEventListener('abort', onAbort, { once: true });

    const startNext = () => {
      cancelTimer?.();
      if (winner >= 0 || signal?.aborted || next >= candidates.length) return;
      const remaining = timeout === undefined ? undefined : timeout - since();
      if (remaining !== undefined && remaining <= 0) return;
      const index = next++;
      const controller = new AbortController();
      controllers.push(controller);
      attempts[index].startedAt = since();
      const done = connect(candidates[index].target, { ...connectOptions, timeout: remaining, signal: controller.signal }).then(
        (won) => {
          if (winner >= 0) {
            // Two verdicts in one batch: the later one lost the race.
            won.close();
            attempts[index].result = 'cancelled';
            attempts[index].error = abortError(won.target, won.elapsed, won.steps);
            return;
          }
          winner = index;
          connection = won;
          attempts[index].result = 'won';
          stopAll();
        },
        (error: ConnectError) => {
          attempts[index].result = error.code === 'ABORT_ERR' ? 'cancelled' : 'failed';
          attempts[index].error = error;
          startNext();
        },
      );
      running.add(done);
      void done.then(() => {
        running.delete(done);
        if (running.size === 0) finish();
      });
      if (next < candidates.length) cancelTimer = setLongTimeout(startNext, delay);
    };

    if (signal?.aborted) return finish();
    startNext();
    if (running.size === 0) finish(); // the deadline had passed during the lookup
  });
}
