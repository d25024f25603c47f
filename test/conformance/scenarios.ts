// The conformance scenarios. Each sets up real peers once, then names the
// target and options every cell (wait x mode x confirm) connects with.
//
// Network-namespace scenarios (group 'routes' and 'lo-down') run in a child
// made by `unshare -n`, whose only interface is its own loopback. Their
// 198.51.100.x addresses (TEST-NET-2) are test hosts that exist only as
// routes inside that namespace: no packet to them can leave it.
import { execFileSync } from 'node:child_process';
import type { ConnectOptions } from '../../dist/lib';
import { tcpListener, unixListener, refusedPort, pythonPeer, tempSocketPath, type PeerKind } from '../helpers/listeners';

/** What a scenario's setup made: its port or path, for target() and options(). */
export interface Context {
  port?: number;
  path?: string;
}

/** A connect target as both sides take it (the oracle needs the literal). */
export type CellTarget = { host: string; port: number } | { path: string };

export interface Scenario {
  name: string;
  /** Run inside a network namespace of this kind; absent: on this host. */
  group?: 'routes' | 'lo-down';
  setup: () => Promise<{ ctx: Context; teardown: () => Promise<void> }>;
  target: (c: Context) => CellTarget;
  options?: ConnectOptions | ((c: Context) => ConnectOptions);
  /** The cells overlap (each is slow); connectSync then runs in a worker. */
  concurrent?: boolean;
  /** Each cell gets a fresh refused port on this host (bound to it, connecting to it). */
  perRunPort?: string;
}

const TEST_HOST = {
  unreachable: '198.51.100.1',
  prohibit: '198.51.100.2',
  blackhole: '198.51.100.3',
  throw: '198.51.100.4',
  notLocal: '198.51.100.9',
};

/** Configures a fresh namespace for group 'routes'; 'lo-down' leaves it as unshare made it. */
export function configureNamespace(group: string): void {
  if (group !== 'routes') return;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'inherit' });
  ip('link', 'set', 'lo', 'up');
  ip('route', 'add', 'unreachable', `${TEST_HOST.unreachable}/32`);
  ip('route', 'add', 'prohibit', `${TEST_HOST.prohibit}/32`);
  ip('route', 'add', 'blackhole', `${TEST_HOST.blackhole}/32`);
  ip('route', 'add', 'throw', `${TEST_HOST.throw}/32`);
}

const listenerOn = (host: string) => async () => {
  const l = await tcpListener(host);
  return { ctx: l, teardown: () => l.close() };
};
const peer = (kind: PeerKind) => async () => {
  const p = await pythonPeer(kind);
  return { ctx: p, teardown: () => p.close() };
};
const refused = (host: string) => async () => ({ ctx: { port: await refusedPort(host) }, teardown: async () => {} });
const nothing = async () => ({ ctx: {}, teardown: async () => {} });

export const scenarios: Scenario[] = [
  { name: 'tcp4 success', setup: listenerOn('127.0.0.1'), target: (c) => ({ host: '127.0.0.1', port: c.port! }) },
  { name: 'tcp6 success', setup: listenerOn('::1'), target: (c) => ({ host: '::1', port: c.port! }) },
  { name: 'tcp4 refused', setup: refused('127.0.0.1'), target: (c) => ({ host: '127.0.0.1', port: c.port! }) },
  { name: 'tcp6 refused', setup: refused('::1'), target: (c) => ({ host: '::1', port: c.port! }) },
  {
    name: 'tcp4 timeout, full backlog',
    setup: peer('tcp4'),
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: { timeout: 150 },
    concurrent: true,
  },
  {
    name: 'tcp4 kernel ETIMEDOUT, synCount 1',
    setup: peer('tcp4'),
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: { synCount: 1 },
    concurrent: true,
  },
  {
    name: 'unix immediate success',
    setup: async () => {
      const l = await unixListener();
      return { ctx: l, teardown: () => l.close() };
    },
    target: (c) => ({ path: c.path! }),
  },
  { name: 'unix EAGAIN, full backlog', setup: peer('unix'), target: (c) => ({ path: c.path! }) },
  { name: 'unix ECONNREFUSED, stale path', setup: peer('unix-stale'), target: (c) => ({ path: c.path! }) },
  { name: 'unix ENOENT', setup: async () => ({ ctx: { path: tempSocketPath() }, teardown: async () => {} }), target: (c) => ({ path: c.path! }) },
  {
    name: 'EADDRINUSE, localPort taken',
    setup: async () => {
      const l = await tcpListener('127.0.0.1');
      return { ctx: l, teardown: () => l.close() };
    },
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: (c) => ({ localAddress: '127.0.0.1', localPort: c.port! }),
  },
  {
    name: 'family mismatch, IPv6 localAddress',
    setup: refused('127.0.0.1'),
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: { localAddress: '::1' },
  },
  // Each run needs its own port: bound to P, connecting to P (perRunPort).
  {
    name: 'self-connect tcp4',
    setup: nothing,
    perRunPort: '127.0.0.1',
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: (c) => ({ localAddress: '127.0.0.1', localPort: c.port! }),
  },
  {
    name: 'self-connect tcp6',
    setup: nothing,
    perRunPort: '::1',
    target: (c) => ({ host: '::1', port: c.port! }),
    options: (c) => ({ localAddress: '::1', localPort: c.port! }),
  },
  // UNP's portability trap: the peer's data (or RST) is there before the
  // wait begins; waitDelay holds the wait off until it is.
  {
    name: 'peer writes before the wait',
    setup: peer('greet4'),
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: { waitDelay: 100 },
  },
  {
    name: 'peer resets before the wait',
    setup: peer('reset4'),
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: { waitDelay: 100 },
  },

  // In a namespace of their own: see the top of this file.
  { group: 'lo-down', name: 'ENETUNREACH, loopback down', setup: nothing, target: () => ({ host: '127.0.0.1', port: 9 }) },
  { group: 'routes', name: 'EHOSTUNREACH, unreachable route', setup: nothing, target: () => ({ host: TEST_HOST.unreachable, port: 80 }) },
  { group: 'routes', name: 'EACCES, prohibit route', setup: nothing, target: () => ({ host: TEST_HOST.prohibit, port: 80 }) },
  { group: 'routes', name: 'EINVAL, blackhole route', setup: nothing, target: () => ({ host: TEST_HOST.blackhole, port: 80 }) },
  { group: 'routes', name: 'ENETUNREACH, throw route', setup: nothing, target: () => ({ host: TEST_HOST.throw, port: 80 }) },
  {
    group: 'routes',
    name: 'EADDRNOTAVAIL, localAddress not on this host',
    setup: refused('127.0.0.1'),
    target: (c) => ({ host: '127.0.0.1', port: c.port! }),
    options: { localAddress: TEST_HOST.notLocal },
  },
];
