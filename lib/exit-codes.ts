// The command's exit status, one per class of failure, so a health check or
// a CI step can tell "nothing listens" from "nothing answers" from "no such
// host" without parsing output. 2 stays the usage error, as getopt-style
// tools have it.
import type { Outcome } from './types';

export const EXIT = {
  /** Connected (every target up; the scan or bench finished). */
  ok: 0,
  /** Any failure not classed below: ECONNRESET, ESELFCONNECT, EADDRNOTAVAIL, an HTTP status, ... */
  failed: 1,
  /** A bad command line. */
  usage: 2,
  /** ECONNREFUSED: the host answered, nothing listens on the port (or no one at the unix path). */
  refused: 3,
  /** ETIMEDOUT: no verdict before the deadline (a black hole, a dropped SYN, a slow lookup). */
  timedOut: 4,
  /** EHOSTUNREACH, ENETUNREACH, or a route's EACCES/EPERM at connect(): no way to the host. */
  unreachable: 5,
  /** The name did not resolve (ENOTFOUND, EAI_AGAIN, ...). */
  notResolved: 6,
} as const;

/**
 * Whether the failing step was the connect: connect(2) in the exact
 * engine; in the portable mode net's error, which sets its options only
 * after the connect (a bind refused there reads as the connect too).
 */
function failedAtConnect(outcome: Pick<Outcome, 'steps'>): boolean {
  const failedStep = [...outcome.steps].reverse().find((s) => s.errno !== undefined);
  return failedStep?.call === 'connect' || failedStep?.call === 'net';
}

/** The exit status an Outcome's failure stands for; 0 for a success. */
export function exitCodeOf(outcome: Pick<Outcome, 'ok' | 'code' | 'phase' | 'steps'>): number {
  if (outcome.ok) return EXIT.ok;
  switch (outcome.code) {
    case 'ECONNREFUSED':
      return EXIT.refused;
    case 'ETIMEDOUT':
      return EXIT.timedOut;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return EXIT.unreachable;
    case 'EACCES':
    case 'EPERM':
      // A 'prohibit' route (or a firewall's reject) fails connect() itself;
      // the same codes from setsockopt or bind are a local refusal: class 1.
      return failedAtConnect(outcome) ? EXIT.unreachable : EXIT.failed;
    case 'ENOENT':
      // connect() on a unix path nobody has made yet: nothing listens there.
      return failedAtConnect(outcome) ? EXIT.refused : EXIT.failed;
  }
  return outcome.phase === 'lookup' ? EXIT.notResolved : EXIT.failed;
}

/** The exit-status lines of --help. */
export const EXIT_HELP = `exit status: 0 connected (every target up; scan, bench: finished), 1 another failure, 2 usage error,
             3 refused (a unix path: no listener), 4 timed out, 5 unreachable (EHOSTUNREACH, ENETUNREACH, a route's EACCES/EPERM), 6 name not resolved`;
