// Every program in examples/ runs here, so none can rot.
import assert from 'node:assert/strict';
import * as path from 'node:path';

import { runNode, runNodeInNamespace } from './helpers/command';
import { namespaceBlocker, skipWithout } from './helpers/namespaces';

const example = (name: string) => runNode(path.join(__dirname, '..', 'examples', name));

describe('examples/', () => {
  it('health-check.js: UP, UP, DOWN with the reason, exit 1', async () => {
    const { status, stdout } = await example('health-check.js');
    assert.equal(status, 1, stdout);
    assert.match(stdout, /^web {4}UP {3}OK {12}async/m);
    assert.match(stdout, /^queue {2}UP {3}OK {12}immediate/m);
    assert.match(stdout, /^cache {2}DOWN ECONNREFUSED {2}async/m);
  });

  it('http-agent.js: 200 from the live server, ETIMEDOUT at the 500 ms deadline from the dead one', async () => {
    const { status, stdout, stderr } = await example('http-agent.js');
    assert.equal(status, 0, stderr);
    assert.match(stdout, /^live server: 200$/m);
    const ms = Number(/^dead server: ETIMEDOUT after ([0-9]+) ms \(phase timeout, [0-9]+ steps\)$/m.exec(stdout)?.[1]);
    assert.ok(ms >= 499 && ms < 5000, stdout);
  });

  it("tls-socket.js: connect, toSocket, a verified TLS handshake and the server's line", async () => {
    const { status, stdout, stderr } = await example('tls-socket.js');
    assert.equal(status, 0, stderr);
    assert.match(stdout, /^connected in [0-9.]+ ms/m);
    assert.match(stdout, /^TLS TLSv1\.[23], certificate verified: true$/m);
    assert.match(stdout, /^server says: hello over TLS$/m);
  });

  it('port-scan.js: 202 outcomes, both listeners found (in a network namespace of its own)', async function () {
    // It scans a window around each of its listeners: never the machine's own loopback.
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    const { status, stdout, stderr } = await runNodeInNamespace([], path.join(__dirname, '..', 'examples', 'port-scan.js'));
    assert.equal(status, 0, stderr);
    const counts = JSON.parse(/^outcomes: (.*)$/m.exec(stdout)![1].replace(/([A-Z]+):/g, '"$1":')) as Record<string, number>;
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      202,
    );
    assert.ok(counts.OK >= 2);
    assert.match(stdout, /^our listeners found: true$/m);
  });

  it('raw-steps.js: EINPROGRESS, POLLOUT, SO_ERROR 0, the peer, close 0', async () => {
    const { status, stdout, stderr } = await example('raw-steps.js');
    assert.equal(status, 0, stderr);
    assert.match(stdout, /^connect\(\) +ret -1 EINPROGRESS$/m);
    assert.match(stdout, /^poll\(POLLOUT, 1000 ms\) +ret 1 \[POLLOUT\]$/m);
    assert.match(stdout, /^getsockopt\(SO_ERROR\) +ret 0, pending error 0$/m);
    assert.match(stdout, /^getpeername\(\) +ret 0, 127\.0\.0\.1:[0-9]+$/m);
    assert.match(stdout, /^close\(\) +ret 0$/m);
  });

  it('demo.js (npm start) runs through', async () => {
    const { status, stdout, stderr } = await example('demo.js');
    assert.equal(status, 0, stderr);
    assert.match(stdout, /=> ETIMEDOUT \(phase: timeout\)/);
  });

  it('race.mts: the TypeScript example compiles under strict (tsc -p examples) and runs: the refused address fails, the live one wins', async () => {
    const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await runNode(tsc, ['-p', path.join(__dirname, '..', 'examples')], 60000);
    assert.equal(compiled.status, 0, `${compiled.stdout}${compiled.stderr}`);
    const { status, stdout, stderr } = await example(path.join('dist', 'race.mjs'));
    assert.equal(status, 0, stderr);
    assert.match(stdout, /^failed {6}127\.0\.0\.1:[0-9]+ ECONNREFUSED$/m);
    assert.match(stdout, /^won {9}127\.0\.0\.1:[0-9]+$/m);
    assert.match(stdout, /^winner: attempt 2, 127\.0\.0\.1$/m);
    assert.match(stdout, /getsockopt\(SO_ERROR\) = 0 \(pending error ECONNREFUSED\)/);
  });
});
