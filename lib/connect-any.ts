import { connect } from './connect';
import { lookupAll } from './lookup';
import { invalidArgType, invalidArgValue } from './errors';
import { addressCandidates, race, type ConnectAnyResult } from './race';
import type { ConnectOptions, Target } from './types';
import { literalEndpoint, parseTarget, prepare, whereOf, type ParsedTarget } from './validate';
import { validateFiniteNumber, validateObject } from './validators';

// The race's own types, exported from here as they always were.
export type { ConnectAnyError, ConnectAnyResult, RaceAttempt } from './race';

/** `connect`'s options; `timeout` is one deadline for the whole race. */
export interface ConnectAnyOptions extends ConnectOptions {
  /**
   * RFC 8305's Connection Attempt Delay, in ms: how long an attempt runs
   * alone before the next one starts beside it. Default 250. A failure
   * starts the next attempt at once.
   */
  delay?: number;
}

function checkTargets(targets: unknown): { list: ParsedTarget[]; name?: Extract<ParsedTarget, { kind: 'name' }> } {
  if (targets !== null && typeof targets === 'object' && !Array.isArray(targets) && !(Symbol.iterator in targets)) {
    const one = parseTarget(targets, 'targets');
    return one.kind === 'name' ? { list: [], name: one } : { list: [one] };
  }
  if (typeof targets === 'string') {
    const one = parseTarget(targets, 'targets');
    return one.kind === 'name' ? { list: [], name: one } : { list: [one] };
  }
  if (targets === null || typeof targets !== 'object') throw invalidArgType('targets', 'an iterable of targets, or one target', targets);
  const list = Array.from(targets as Iterable<unknown>, (t, i) => parseTarget(t, `targets[${i}]`));
  if (list.length === 0) throw invalidArgValue('targets', [], 'must hold at least one target', RangeError);
  return { list };
}

/**
 * Happy Eyeballs v2 (RFC 8305): races connects to several addresses and
 * keeps the first that connects.
 *
 * Given one `{ host, port }` whose host is a name, it resolves every address
 * with dns.lookup (getaddrinfo) and alternates the families. Given a list,
 * it tries the targets in that order (a name in the list is connected to its
 * first address). One attempt starts at once; the next starts after `delay`
 * ms, or as soon as an attempt fails, and the running ones race on. Each
 * attempt is a `connect` (socket, fcntl, setsockopt, bind, connect,
 * poll/select, getsockopt SO_ERROR) with its own socket.
 *
 * The first to connect wins. The others are aborted: their verdicts are in
 * before the promise resolves, their sockets closed within the same turn. `timeout` is a deadline for the whole
 * race, lookup included.
 *
 * Rejects with an AggregateError (see `ConnectAnyError`) whose `errors` hold
 * each started attempt's ConnectError, with its steps; with a ConnectError
 * for a failed lookup; with an AbortError for the signal; with
 * TypeError/RangeError for bad arguments, before any syscall.
 */
export async function connectAny(targets: Iterable<Target> | Target, options: ConnectAnyOptions = {}): Promise<ConnectAnyResult> {
  const calledAt = performance.now();
  const { list: parsed, name } = checkTargets(targets);
  validateObject(options, 'options');
  const { delay = 250, ...connectOptions } = options;
  validateFiniteNumber(delay, 'options.delay', 0);
  // The options are checked once against the first target, so a bad one
  // throws before the lookup or any socket.
  const { timeout, signal, family } = prepare(name ?? parsed[0], connectOptions);

  if (name) {
    const addresses = await lookupAll(name.host, name.port, family, timeout, signal, calledAt);
    return race(addressCandidates(name, addresses), { caller: 'connectAny', delay, timeout, signal, connectOptions, calledAt, connect });
  }
  const candidates = parsed.map((p) => ({
    target: p.kind === 'unix' ? { path: p.path } : { host: p.host, port: p.port },
    where: literalEndpoint(p) ?? whereOf(p),
  }));
  return race(candidates, { caller: 'connectAny', delay, timeout, signal, connectOptions, calledAt, connect });
}
