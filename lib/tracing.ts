// Tracing the way Node's ecosystem does it: one diagnostics_channel
// TracingChannel, 'nbconnect:connect', around every connect, probe and
// connectSync, so an APM tool (OpenTelemetry's instrumentations, for one)
// subscribes without patching anything, as it does to undici's and net's
// channels. With no subscriber the calls go straight through: no context
// object, no Outcome, no closure.
import * as diagnosticsChannel from 'node:diagnostics_channel';

import type { Connection } from './connection';
import { ConnectError } from './errors';
import { outcomeOfConnection, outcomeOfError } from './outcome';
import type { ConnectOptions, Outcome, Target } from './types';

/**
 * What every event of the channel carries. `start` sees call, target and
 * options; `asyncEnd` (or `end`, for connectSync) also sees the result and
 * the Outcome; `error` sees the error, and the Outcome when it was a
 * network failure (a ConnectError) rather than a bad argument.
 */
export interface ConnectTraceContext {
  call: 'connect' | 'probe' | 'connectSync';
  target: Target;
  options: ConnectOptions | undefined;
  /** The Connection (connect, connectSync) or the Outcome (probe). */
  result?: Connection | Outcome;
  error?: unknown;
  /** The verdict with its steps, for every call that reached one. */
  outcome?: Outcome;
}

/** The channel, for subscribers: `diagnostics_channel.tracingChannel('nbconnect:connect')` is the same one. */
export const connectChannel = diagnosticsChannel.tracingChannel<ConnectTraceContext>('nbconnect:connect');

// TracingChannel#hasSubscribers came in Node 20.13; before it, ask each.
const channels = [connectChannel.start, connectChannel.end, connectChannel.asyncStart, connectChannel.asyncEnd, connectChannel.error];

/** True when someone listens: only then is a call traced. */
export function tracing(): boolean {
  return channels.some((c) => c.hasSubscribers);
}

function outcomeOf(value: Connection | Outcome): Outcome {
  if ('ok' in value) return value;
  // A copy of the steps: a later close() adds to the Connection's own.
  const outcome = outcomeOfConnection(value);
  return { ...outcome, steps: [...outcome.steps] };
}

function noteFailure(context: ConnectTraceContext, err: unknown): void {
  if (err instanceof ConnectError) context.outcome = outcomeOfError(err);
}

/** An async call, traced: start and end around the call, asyncStart and asyncEnd (or error) at its verdict. */
export function traceAsync<T extends Connection | Outcome>(
  call: 'connect' | 'probe',
  run: () => Promise<T>,
  target: Target,
  options: ConnectOptions | undefined,
): Promise<T> {
  const context: ConnectTraceContext = { call, target, options };
  return connectChannel.tracePromise(
    () =>
      run().then(
        (value) => {
          context.outcome = outcomeOf(value);
          return value;
        },
        (err: unknown) => {
          noteFailure(context, err);
          throw err;
        },
      ),
    context,
  );
}

/** connectSync, traced: start, then end (after error, when it threw). */
export function traceSync(run: () => Connection, target: Target, options: ConnectOptions | undefined): Connection {
  const context: ConnectTraceContext = { call: 'connectSync', target, options };
  return connectChannel.traceSync(() => {
    try {
      const connection = run();
      context.outcome = outcomeOf(connection);
      return connection;
    } catch (err) {
      noteFailure(context, err);
      throw err;
    }
  }, context);
}
