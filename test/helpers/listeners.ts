// Real listeners for the tests and the demo, all on loopback or AF_UNIX.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { connect, type Step } from '../../dist/lib';
import { WAITS } from './modes';

// peers.py stays in the source tree; this file also runs from dist-test/helpers.
const PEERS = path.join(__dirname, '..', '..', 'test', 'helpers', 'peers.py');

// Deeper than any test's burst (somaxconn is 4096 here; the kernel caps it).
// With Node's default of 511, a JS thread slowed down (under ASan, say) lets
// the accept queue fill: AF_UNIX connects then fail with EAGAIN, and TCP
// SYNs are dropped, so a connectSync against a listener of this same thread
// waits out the kernel's SYN retries, the one thread that would accept
// blocked in it.
const BACKLOG = 4096;

export interface Listener {
  server: net.Server;
  /** Destroys every accepted socket, then closes the server. */
  close(): Promise<void>;
}
export interface TcpListener extends Listener {
  port: number;
}
export interface UnixListener extends Listener {
  path: string;
}

type OnSocket = (socket: net.Socket) => void;

/** An accepting net.Server; `onSocket` may talk to each peer. */
async function listen(
  where: string | { host: string; port: number },
  onSocket: OnSocket = (s) => s.resume(),
): Promise<Listener & { port?: number; path?: string }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(typeof where === 'string' ? { path: where, backlog: BACKLOG } : { ...where, backlog: BACKLOG }, resolve);
  });
  const address = server.address();
  return {
    server,
    port: address !== null && typeof address === 'object' ? address.port : undefined,
    path: typeof address === 'string' ? address : undefined,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export const tcpListener = (host = '127.0.0.1', onSocket?: OnSocket) => listen({ host, port: 0 }, onSocket) as Promise<TcpListener>;
export const unixListener = (onSocket?: OnSocket) => listen(tempSocketPath(), onSocket) as Promise<UnixListener>;

/** A port with nothing behind it: listen on 0, then close. */
export async function refusedPort(host = '127.0.0.1') {
  const l = await tcpListener(host);
  await l.close();
  return l.port;
}

let pathCounter = 0;
export function tempSocketPath() {
  return path.join(os.tmpdir(), `nbconnect-${process.pid}-${pathCounter++}.sock`);
}

/**
 * A peer in its own process (see peers.py): 'tcp4' | 'tcp6' | 'unix' (full
 * queue, never accepts), 'unix-stale' (a socket file, nobody behind it),
 * 'greet4' (accepts and writes at once), 'reset4' (accepts and resets).
 */
export type PeerKind = 'tcp4' | 'tcp6' | 'unix' | 'unix-stale' | 'greet4' | 'reset4';

/** A peer process: where it listens, and how to end it. */
export interface Peer {
  host: string;
  port: number;
  path: string;
  close(): Promise<void>;
}

/**
 * The python3 interpreter itself, found once: where python3 on PATH is a
 * version manager's shim (pyenv's runs a few shell scripts per start), each
 * peer would otherwise take a quarter of a second or more to start.
 */
export const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

export async function pythonPeer(kind: PeerKind): Promise<Peer> {
  const args = [PEERS, kind];
  if (kind.startsWith('unix')) args.push(tempSocketPath());
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`peers.py ${kind} exited with ${code}`)));
    lines.once('line', resolve);
  });
  const info = JSON.parse(first) as Omit<Peer, 'close'>;
  return {
    ...info,
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/** A listener that never accepts and whose queue is full: 'tcp4' | 'tcp6' | 'unix' | 'unix-stale'. */
export const blackHole = (kind: 'tcp4' | 'tcp6' | 'unix' | 'unix-stale') => pythonPeer(kind);

/** Open fds of this process: what a leak would change. */
export function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

/** The calls of a trace, with their arg where there is one: 'fcntl F_GETFL'. */
export function callsOf(steps: readonly Step[]): string[] {
  return steps.map((s) => (s.arg ? `${s.call} ${s.arg}` : s.call));
}

/**
 * A throwaway self-signed certificate for localhost and 127.0.0.1, made by
 * openssl for this run: the examples' own helper, so there is one copy.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JS beside the examples, no declarations
export const testCertificate = (require('../../examples/peers') as { testCertificate: () => { key: string; cert: string } }).testCertificate;

/**
 * The fd count once it reaches `target`, or after `tries` × 20 ms: peers
 * and workers close their ends asynchronously.
 */
export async function settleFds(target: number, tries = 150): Promise<number> {
  for (let i = 0; i < tries && fdCount() !== target; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return fdCount();
}

/**
 * A black hole, with this thread's engine and waiters made first (their
 * fds come on first use and stay), so that fd counts taken after it see
 * only the connects a test makes.
 */
export async function warmedBlackHole(): Promise<Peer> {
  const hole = await blackHole('tcp4');
  await Promise.all(WAITS.map(async (wait) => connect(`127.0.0.1:${await refusedPort()}`, { wait }).catch(() => {})));
  return hole;
}
