// Outcomes: what probe() resolves with, built from a Connection or a
// ConnectError, and for a race from each of its attempts.
import type { ConnectAnyError, RaceAttempt } from './race';
import type { Connection } from './connection';
import type { ConnectError } from './errors';
import { MODE } from './mode';
import type { Outcome } from './types';

/** Every Outcome of this process says which engine made it. */
const EXACT = MODE === 'exact';

/** A race's record, kept by the Connection that won it. */
export interface RaceRecord {
  attempts: readonly RaceAttempt[];
  /** ms from the call to the winner's socket(). */
  startedAt: number;
}

export function outcomeOfError(err: ConnectError): Outcome {
  return { ok: false, exact: EXACT, code: err.code, errno: err.errno, phase: err.phase, elapsed: err.elapsed, steps: err.steps, target: err.target };
}

function ownOutcome(c: Connection): Outcome {
  const outcome: Outcome = {
    ok: true,
    exact: c.exact,
    code: 'OK',
    errno: 0,
    phase: c.immediate ? 'immediate' : 'async',
    elapsed: c.elapsed,
    steps: c.steps,
    target: c.target,
  };
  const tcpInfo = c.verdictTcpInfo;
  if (tcpInfo !== undefined) outcome.tcpInfo = tcpInfo;
  return outcome;
}

/** A connection's Outcome; a race's winner puts it on the call's timeline, with every attempt. */
export function outcomeOfConnection(c: Connection): Outcome {
  const race = c.race;
  if (race === undefined) return ownOutcome(c);
  return { ...onTimeline(ownOutcome(c), race.startedAt), attempts: attemptOutcomes(race.attempts, c) };
}

/** An attempt's Outcome moved from its own start to the call's. */
function onTimeline(o: Outcome, startedAt: number): Outcome {
  return { ...o, elapsed: o.elapsed + startedAt, steps: o.steps.map((s) => ({ ...s, at: s.at + startedAt })) };
}

/** Each started attempt's Outcome, on the call's timeline; `winner` for the one that won. */
export function attemptOutcomes(attempts: readonly RaceAttempt[], winner?: Connection): Outcome[] {
  const out: Outcome[] = [];
  for (const a of attempts) {
    if (a.startedAt === undefined) continue;
    out.push(onTimeline(a.result === 'won' ? ownOutcome(winner!) : outcomeOfError(a.error!), a.startedAt));
  }
  return out;
}

/**
 * A race in which no attempt connected, as an Outcome: the first error's
 * code (Node's AggregateError code), every attempt in `attempts`.
 */
export function outcomeOfRaceFailure(err: ConnectAnyError, target: { host: string; port: number }, elapsed: number): Outcome {
  const first = err.errors[0] as ConnectError | undefined;
  return {
    ok: false,
    exact: EXACT,
    code: err.code,
    // No attempt started: the deadline passed during the lookup.
    errno: first ? first.errno : -110,
    phase: first ? first.phase : 'timeout',
    elapsed,
    steps: [],
    target,
    attempts: attemptOutcomes(err.attempts),
  };
}
