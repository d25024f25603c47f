import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as undici from 'undici';
import { createConnection, ConnectError } from '../dist/lib';
import { blackHole, testCertificate, fdCount, tcpListener, tempSocketPath } from './helpers/listeners';
import { nextTurns } from './helpers/modes';

function get(url: string, options: http.RequestOptions): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
  });
}

async function serve(server: http.Server | https.Server, where: string | { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(where, resolve));
  const address = server.address();
  return address !== null && typeof address === 'object' ? address.port : NaN;
}

const hello = (req: http.IncomingMessage, res: http.ServerResponse) => res.end(`hello ${req.url}`);

describe('createConnection for HTTP clients', () => {
  let certificate: { key: string; cert: string };
  before(() => (certificate = testCertificate()));

  it('http.Agent (callback form): requests go over nbconnect sockets', async () => {
    const server = http.createServer(hello);
    const port = await serve(server);
    const agent = new http.Agent({ keepAlive: true });
    const calls: unknown[] = [];
    const nb = createConnection({ timeout: 2000 });
    agent.createConnection = function (options, callback) {
      calls.push(options.port);
      // .call would pick the last overload (undici's); Reflect.apply keeps `this`, as Node's Agent passes it.
      return Reflect.apply(nb, this, [options, callback]);
    };
    try {
      assert.deepEqual(await get(`http://127.0.0.1:${port}/a`, { agent }), { status: 200, body: 'hello /a' });
      assert.deepEqual(await get(`http://127.0.0.1:${port}/b`, { agent }), { status: 200, body: 'hello /b' });
      assert.deepEqual(calls, [port], 'one connect, kept alive for the second request');
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('http.Agent against a full-backlog listener fails at the deadline with ETIMEDOUT and its steps', async () => {
    const hole = await blackHole('tcp4');
    const agent = new http.Agent();
    agent.createConnection = createConnection({ timeout: 300 });
    try {
      const t0 = performance.now();
      const err = await get(`http://127.0.0.1:${hole.port}/`, { agent }).then(
        () => assert.fail('connected'),
        (e) => e,
      );
      const took = performance.now() - t0;
      assert.ok(err instanceof ConnectError, String(err));
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.phase, 'timeout');
      assert.equal(err.port, hole.port);
      assert.ok(took >= 299 && took < 3000, `failed after ${took} ms`);
      // Settled first (the default epoll engine): the close joins the steps within the turn.
      await nextTurns();
      assert.equal(err.steps.at(-1)!.call, 'close');
    } finally {
      agent.destroy();
      await hole.close();
    }
  });

  it('http.request({ createConnection }) and a unix socketPath', async () => {
    const server = http.createServer(hello);
    const path = tempSocketPath();
    await serve(server, path);
    try {
      const res = await get(`http://localhost/u`, { socketPath: path, createConnection: createConnection({ timeout: 1000 }) });
      assert.deepEqual(res, { status: 200, body: 'hello /u' });
    } finally {
      server.close();
    }
  });

  it('https.Agent: TLS over the nbconnect socket, verified against a test certificate', async () => {
    const server = https.createServer(certificate, hello);
    const port = await serve(server);
    const agent = new https.Agent({ ca: certificate.cert });
    agent.createConnection = createConnection({ timeout: 2000 });
    try {
      assert.deepEqual(await get(`https://127.0.0.1:${port}/tls`, { agent }), { status: 200, body: 'hello /tls' });
      assert.deepEqual(await get(`https://localhost:${port}/name`, { agent }), { status: 200, body: 'hello /name' });
      // The same certificate is refused without the CA: TLS verification is on.
      const strict = new https.Agent();
      strict.createConnection = createConnection({ timeout: 2000 });
      await assert.rejects(get(`https://127.0.0.1:${port}/`, { agent: strict }), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      strict.destroy();
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('undici: connect option, plain and TLS, and ETIMEDOUT at the deadline', async () => {
    const plain = http.createServer(hello);
    const plainPort = await serve(plain);
    const secure = https.createServer(certificate, hello);
    const securePort = await serve(secure);
    const hole = await blackHole('tcp4');
    const dispatcher = new undici.Agent({ connect: createConnection({ timeout: 300, tls: { ca: certificate.cert } }) });
    const plainDispatcher = new undici.Agent({ connect: createConnection({ timeout: 300 }) });
    try {
      let res = await undici.request(`http://127.0.0.1:${plainPort}/u`, { dispatcher: plainDispatcher });
      assert.equal(await res.body.text(), 'hello /u');
      res = await undici.request(`https://127.0.0.1:${securePort}/s`, { dispatcher });
      assert.equal(await res.body.text(), 'hello /s');
      const t0 = performance.now();
      const err = await undici.request(`http://127.0.0.1:${hole.port}/`, { dispatcher: plainDispatcher }).then(
        () => assert.fail('connected'),
        (e) => e,
      );
      const took = performance.now() - t0;
      assert.ok(err instanceof ConnectError, String(err));
      assert.equal(err.code, 'ETIMEDOUT');
      assert.ok(took >= 299 && took < 3000, `failed after ${took} ms`);
    } finally {
      await dispatcher.close();
      await plainDispatcher.close();
      plain.close();
      secure.close();
      await hole.close();
    }
  });

  it('the deadline covers the TLS handshake: a peer that never answers the ClientHello', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the last test's sockets finish closing
    const before = fdCount();
    // A plain TCP listener that accepts and stays silent.
    const silent = await tcpListener('127.0.0.1', () => {});
    const agent = new https.Agent({ ca: certificate.cert });
    agent.createConnection = createConnection({ timeout: 300 });
    try {
      const err = await get(`https://127.0.0.1:${silent.port}/`, { agent }).then(
        () => assert.fail('connected'),
        (e) => e,
      );
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.syscall, 'tls.connect');
    } finally {
      agent.destroy();
      await silent.close();
    }
    assert.equal(fdCount(), before);
  });

  it('bad input: TypeError at creation, and through the callback per call', async () => {
    assert.throws(() => createConnection({ timeout: -1 }), RangeError);
    // @ts-expect-error: tls is a boolean or TLS options
    assert.throws(() => createConnection({ tls: 'yes' }), TypeError);
    const nb = createConnection();
    assert.throws(() => nb({ host: '127.0.0.1', port: 1 }), TypeError);
    const err = await new Promise((resolve) => nb({ host: '127.0.0.1', port: 70000 }, resolve));
    assert.ok(err instanceof RangeError);
  });
});
