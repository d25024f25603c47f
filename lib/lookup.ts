// Name lookup: every address of a name, as dns.lookup (getaddrinfo) gives
// them, under the connect's deadline and signal; and the blocking form for
// connectSync. A failure is a ConnectError of phase 'lookup' that keeps
// dns's own code and errno, as net.Socket's does.
import * as dns from 'node:dns';

import { addon } from './binding';
import { abortError, lookupFailed, lookupFailedSync, lookupTimedOut } from './errors';
import { setLongTimeout } from './timers';
import { decodeEndpoint } from './wire';

/**
 * Every address of a name, from dns.lookup (getaddrinfo) in its order, under
 * a deadline (ms from `startedAt`) and a signal. The lookup itself cannot be
 * cancelled (it runs on libuv's threadpool); past the deadline its answer is
 * ignored.
 */
export function lookupAll(
  host: string,
  port: number,
  family: 0 | 4 | 6,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  startedAt: number,
): Promise<dns.LookupAddress[]> {
  const where = { host, port };
  const elapsed = () => performance.now() - startedAt;
  return new Promise<dns.LookupAddress[]>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const done = () => {
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(abortError(where, elapsed(), [], signal!.reason));
    };
    if (timeout !== undefined)
      cancelTimer = setLongTimeout(
        () => {
          done();
          reject(lookupTimedOut(where, elapsed()));
        },
        Math.max(0, timeout - elapsed()),
      );
    signal?.addEventListener('abort', onAbort, { once: true });
    dns.promises.lookup(host, { family, all: true }).then(
      (addresses) => {
        done();
        resolve(addresses);
      },
      (err: NodeJS.ErrnoException) => {
        done();
        reject(lookupFailed(err, host, port, elapsed()));
      },
    );
  });
}

/** Every address of a name, by a blocking getaddrinfo on this thread. */
export function lookupAllSync(host: string, port: number, family: 0 | 4 | 6): { address: string; family: 4 | 6 }[] {
  const startedAt = performance.now();
  const answer = addon.lookupSync(host, family);
  if (Array.isArray(answer) && answer.length > 0) return answer.map((slots) => decodeEndpoint(slots));
  // What dns.lookup reports for the same failure: EAI_NONAME and EAI_NODATA
  // both read as ENOTFOUND.
  const code = Array.isArray(answer) || answer.eai === -2 || answer.eai === -5 ? 'ENOTFOUND' : answer.message;
  throw lookupFailedSync(code, host, port, performance.now() - startedAt);
}
