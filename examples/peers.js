'use strict';
// Small peers for the examples and the benchmark, on this machine only:
// loopback listeners, a unix listener, a refused port, and a black hole.
// Copy what you need; nothing here is part of the nbconnect API.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

let sockets = 0;
/** A fresh AF_UNIX path under the temp directory. */
function tempSocketPath() {
  return path.join(os.tmpdir(), `nbconnect-example-${process.pid}-${sockets++}.sock`);
}

/** An accepting server on `where` (net.Server's listen options); resolves with it and its port or path. */
async function listen(where, onSocket = (s) => s.resume()) {
  const server = net.createServer(onSocket);
  await new Promise((resolve, reject) => server.once('error', reject).listen({ ...where, backlog: 4096 }, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' ? address.port : undefined,
    path: typeof address === 'string' ? address : undefined,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const tcpListener = (host = '127.0.0.1', onSocket) => listen({ host, port: 0 }, onSocket);
const unixListener = (onSocket) => listen({ path: tempSocketPath() }, onSocket);

/** A loopback port with nothing behind it: listen on 0, then close. */
async function refusedPort(host = '127.0.0.1') {
  const l = await tcpListener(host);
  await l.close();
  return l.port;
}

// listen(fd, 0) with the accept queue already full: the kernel drops every
// further SYN, so a connect stays pending until a deadline. It lives in
// another process (python3) because a net.Server accepts on its own.
const BLACK_HOLE = `
import json, socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
fill = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except (BlockingIOError, InterruptedError): pass
    fill.append(c)
print(json.dumps({'port': s.getsockname()[1]}), flush=True)
sys.stdin.read()
`;

/** A TCP listener on 127.0.0.1 that never answers a SYN; close() ends it. */
async function blackHole() {
  const child = spawn('python3', ['-c', BLACK_HOLE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    child.once('error', reject).once('exit', (code) => reject(new Error(`black hole exited with ${code}`)));
    child.stdout.once('data', (d) => resolve(String(d)));
  });
  return {
    port: JSON.parse(line).port,
    close: () => new Promise((resolve) => child.once('exit', resolve).stdin.end()),
  };
}

/** A throwaway self-signed certificate for localhost and 127.0.0.1, by openssl: { key, cert }. */
function testCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { tcpListener, unixListener, refusedPort, blackHole, tempSocketPath, testCertificate };
