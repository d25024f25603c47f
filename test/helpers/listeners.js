'use strict';
// Real listeners for the tests and the demo, all on loopback or AF_UNIX.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const PEERS = path.join(__dirname, 'peers.py');

// Deeper than any test's burst (somaxconn is 4096 here; the kernel caps it).
// With Node's default of 511, a JS thread slowed down (under ASan, say) lets
// the accept queue fill: AF_UNIX connects then fail with EAGAIN, and TCP
// SYNs are dropped, so a connectSync against a listener of this same thread
// waits out the kernel's SYN retries, the one thread that would accept
// blocked in it.
const BACKLOG = 4096;

/** An accepting net.Server; `onSocket` may talk to each peer. */
async function listen(where, onSocket = (s) => s.resume()) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(typeof where === 'string' ? { path: where, backlog: BACKLOG } : { ...where, backlog: BACKLOG }, resolve);
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' ? address.port : undefined,
    path: typeof address === 'string' ? address : undefined,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const tcpListener = (host = '127.0.0.1', onSocket) => listen({ host, port: 0 }, onSocket);
const unixListener = (onSocket) => listen(tempSocketPath(), onSocket);

/** A port with nothing behind it: listen on 0, then close. */
async function refusedPort(host = '127.0.0.1') {
  const l = await tcpListener(host);
  await l.close();
  return l.port;
}

let pathCounter = 0;
function tempSocketPath() {
  return path.join(os.tmpdir(), `nbconnect-${process.pid}-${pathCounter++}.sock`);
}

/**
 * A peer in its own process (see peers.py): 'tcp4' | 'tcp6' | 'unix' (full
 * queue, never accepts), 'unix-stale' (a socket file, nobody behind it),
 * 'greet4' (accepts and writes at once), 'reset4' (accepts and resets).
 */
async function pythonPeer(kind) {
  const args = [PEERS, kind];
  if (kind.startsWith('unix')) args.push(tempSocketPath());
  const child = spawn('python3', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`peers.py ${kind} exited with ${code}`)));
    lines.once('line', resolve);
  });
  const info = JSON.parse(first);
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
const blackHole = (kind) => pythonPeer(kind);

/** Open fds of this process: what a leak would change. */
function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

/** The calls of a trace, with their arg where there is one: 'fcntl F_GETFL'. */
function callsOf(steps) {
  return steps.map((s) => (s.arg ? `${s.call} ${s.arg}` : s.call));
}

/**
 * A throwaway self-signed certificate for localhost and 127.0.0.1, made by
 * openssl for this run: { key, cert } as PEM strings.
 */
function testCertificate() {
  const { execFileSync } = require('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { testCertificate, tcpListener, unixListener, refusedPort, tempSocketPath, blackHole, pythonPeer, fdCount, callsOf };
