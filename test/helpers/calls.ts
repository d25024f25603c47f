import assert from 'node:assert/strict';

import { connect, connectSync, ConnectError, probe, type ConnectAnyError, type ConnectOptions, type Target } from '../../dist/lib';

export type Call = (target: Target, options?: ConnectOptions) => Promise<unknown>;

/** The three entry points as promises: connectSync's throw becomes a rejection. */
export const CALLS: Record<'connect' | 'connectSync' | 'probe', Call> = {
  connect: (t, o) => connect(t, o),
  connectSync: async (t, o) => connectSync(t, o),
  probe: (t, o) => probe(t, o),
};

/** The ConnectError `run` throws; anything else (no throw, another error) fails the test. */
export function thrown(run: () => unknown): ConnectError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  return assert.fail('expected a ConnectError; nothing was thrown');
}

/** The ConnectError `promise` rejects with; anything else fails the test. */
export async function rejected(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => assert.fail('expected a ConnectError; the promise resolved'),
    (err: unknown) => {
      if (err instanceof ConnectError) return err;
      throw err;
    },
  );
}

/** The AggregateError a race rejects with when every attempt failed. */
export async function rejectedAll(promise: Promise<unknown>): Promise<ConnectAnyError> {
  return promise.then(
    () => assert.fail('expected an AggregateError; the promise resolved'),
    (err: unknown) => {
      if (err instanceof AggregateError) return err as ConnectAnyError;
      throw err;
    },
  );
}
