// A ConnectError has the own keys Node's connect errors have, in Node's
// order, and logs as compactly: the trace is one property away.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as util from 'node:util';

import { connect, formatTrace } from '../dist/lib';
import { refusedPort, tempSocketPath } from './helpers/listeners';

const netError = (...args: [string] | [number, string]): Promise<Record<string, unknown>> =>
  new Promise((resolve) => (net.connect as (...a: unknown[]) => net.Socket)(...args).on('error', resolve));
const OURS = ['posixErrno', 'phase', 'elapsed', 'steps', 'target'];

describe('the shape of a ConnectError', () => {
  it('a unix-socket error puts the path in address, as Node does, and keeps path', async () => {
    const where = tempSocketPath();
    const ours = await connect({ path: where }).catch((e) => e);
    const node = await netError(where);
    assert.equal(ours.code, 'ENOENT');
    assert.equal(ours.address, where);
    assert.equal(ours.path, where);
    const nodeKeys = Object.keys(node);
    assert.deepEqual(
      Object.keys(ours).filter((k) => nodeKeys.includes(k)),
      nodeKeys,
    );
    assert.equal(Object.hasOwn(ours, 'port'), false);
  });

  it("a TCP error has no path or hostname keys, and Node's keys in Node's order", async () => {
    const port = await refusedPort();
    const ours = await connect({ host: '127.0.0.1', port }).catch((e) => e);
    const node = await netError(port, '127.0.0.1');
    assert.equal(Object.hasOwn(ours, 'path'), false);
    assert.equal(Object.hasOwn(ours, 'hostname'), false);
    const nodeKeys = Object.keys(node);
    assert.deepEqual(Object.keys(ours).slice(0, nodeKeys.length), nodeKeys);
    for (const key of nodeKeys) assert.equal(ours[key], node[key], key);
  });

  it('util.inspect prints it in under 15 lines; the steps are one property away', async () => {
    const port = await refusedPort();
    const err = await connect({ host: '127.0.0.1', port }).catch((e) => e);
    const printed = util.inspect(err);
    assert.ok(printed.split('\n').length < 15, printed);
    assert.match(printed, /connect ECONNREFUSED 127\.0\.0\.1/);
    assert.ok(err.steps.length >= 6);
    assert.match(formatTrace(err), /getsockopt\(SO_ERROR\) = 0 \(pending error ECONNREFUSED\)/);
    // Every key of ours is still there to read.
    for (const key of OURS) assert.ok(key in err, key);
  });
});
