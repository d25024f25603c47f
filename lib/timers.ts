// A timer for any finite delay. setTimeout holds at most 2 ** 31 - 1 ms
// (about 24.8 days); past that Node fires it after 1 ms, with a
// TimeoutOverflowWarning, which would turn a long deadline into an instant
// ETIMEDOUT. Longer delays re-arm until they are due.

const TIMER_MAX = 2 ** 31 - 1;

/** Calls `fire` after `ms` (any number >= 0, Infinity for never); returns the cancel. */
export function setLongTimeout(fire: () => void, ms: number): () => void {
  const due = performance.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = left > TIMER_MAX ? setTimeout(() => arm(due - performance.now()), TIMER_MAX) : setTimeout(fire, Math.max(0, left));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/** Resolves after `ms`, or at once when `signal` aborts (or has already: that fires no 'abort' event). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const cancelTimer = setLongTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      cancelTimer();
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
