// Every behaviour is specified for both wait syscalls and both modes.
import { connect, connectSync, ConnectError, type Connection, type ConnectOptions, type Step, type Target, type Wait } from '../../dist/lib';

export const WAITS: readonly Wait[] = ['epoll', 'poll', 'select'];

export const MODES = ['async', 'sync'] as const;
export type Mode = (typeof MODES)[number];

/** A connect's verdict, never thrown: the connection, or the ConnectError. */
export type Attempted = { connection: Connection; error?: undefined } | { connection?: undefined; error: ConnectError };

export interface ModeCase {
  mode: Mode;
  wait: Wait;
  label: string;
  attempt: (target: Target, options?: ConnectOptions) => Promise<Attempted>;
}

/** Each (mode, wait) pair with a connect function that never throws. */
export function* everyMode(): Generator<ModeCase> {
  for (const mode of MODES) {
    for (const wait of WAITS) {
      const attempt = async (target: Target, options: ConnectOptions = {}): Promise<Attempted> => {
        try {
          const connection = mode === 'async' ? await connect(target, { ...options, wait }) : connectSync(target, { ...options, wait });
          return { connection };
        } catch (error) {
          // Anything else (a TypeError, an AggregateError) is a failed test.
          if (!(error instanceof ConnectError)) throw error;
          return { error };
        }
      };
      yield { mode, wait, label: `${mode}, wait: '${wait}'`, attempt };
    }
  }
}

/** The connection of an attempt that had to connect; a failure fails the test with its own error. */
export function connected(attempted: Attempted): Connection {
  if (attempted.error) throw attempted.error;
  return attempted.connection;
}

/** The error of an attempt that had to fail; a connection (closed here) fails the test. */
export function failed(attempted: Attempted): ConnectError {
  if (attempted.connection) {
    attempted.connection.close();
    throw new Error(`expected the connect to fail; it connected to ${attempted.connection.remoteAddress ?? attempted.connection.path}`);
  }
  return attempted.error;
}

/** The loopback address of each family, as the tests connect to it. */
export const LOOPBACKS = [
  [4, '127.0.0.1'],
  [6, '::1'],
] as const;

/** A TCP attempt's calls up to the wait, as callsOf() spells them, with no options set. */
export const START_CALLS: readonly string[] = ['socket SOCK_STREAM|SOCK_CLOEXEC', 'fcntl F_GETFL', 'fcntl F_SETFL', 'connect'];

/** The calls one wait makes in a trace, as callsOf() spells them: epoll registers the fd first. */
export function waitCalls(wait: Wait): string[] {
  return wait === 'epoll' ? ['epoll_ctl EPOLL_CTL_ADD', 'epoll_wait'] : [wait];
}

/**
 * Whether a deadline or an abort settles before its socket is closed: the
 * epoll engine's do (async, wait 'epoll'), and the close joins the trace
 * right after, before the loop's next turn ends; the waiters and
 * connectSync close first.
 */
export function settlesFirst(mode: Mode, wait: Wait): boolean {
  return mode === 'async' && wait === 'epoll';
}

/** `turns` turns of the event loop: the epoll engine closes what settled first, 64 sockets a turn. */
export async function nextTurns(turns = 1): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Before the close a deadline or an abort decides on, epoll takes the fd out of its set. */
export function unwatchCalls(wait: Wait): string[] {
  return wait === 'epoll' ? ['epoll_ctl EPOLL_CTL_DEL'] : [];
}

/** What the wake step says about this fd, the same way for each wait: the poll/epoll names, or select's sets. */
export function readiness(step: Step, wait: Wait): string[] | [boolean | undefined, boolean | undefined] {
  if (wait === 'epoll') return step.events!;
  if (wait === 'poll') return step.revents!;
  return [step.readable, step.writable];
}
