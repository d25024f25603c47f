'use strict';
const assert = require('node:assert/strict');
const net = require('node:net');
const { refusedPort, callsOf } = require('./helpers/listeners');
const { everyMode } = require('./helpers/modes');

function netSocketError(host, port) {
  return new Promise((resolve) => net.connect({ host, port }).once('error', resolve));
}

describe('ECONNREFUSED arrives through SO_ERROR', () => {
  for (const [family, host] of [[4, '127.0.0.1'], [6, '::1']]) {
    for (const { label, wait, attempt } of everyMode()) {
      it(`IPv${family}, ${label}`, async () => {
        const port = await refusedPort(host);
        const { error } = await attempt({ host, port });
        assert.equal(error.name, 'ConnectError');
        assert.equal(error.phase, 'async');
        assert.deepEqual(callsOf(error.steps), [
          'socket SOCK_STREAM|SOCK_CLOEXEC', 'fcntl F_GETFL', 'fcntl F_SETFL', 'connect', wait, 'getsockopt SO_ERROR', 'close',
        ]);
        const waited = error.steps[4];
        // A refused connect is reported writable, and more: poll adds
        // POLLERR and POLLHUP, select puts the fd in the read set too.
        if (wait === 'poll') assert.deepEqual(waited.revents, ['POLLOUT', 'POLLERR', 'POLLHUP']);
        else assert.deepEqual([waited.readable, waited.writable], [true, true]);
        // getsockopt itself succeeds; the error is its value.
        assert.equal(error.steps[5].ret, 0);
        assert.equal(error.steps[5].value, 111);

        // The same fields, and the same message, as net.Socket gives.
        const expected = await netSocketError(host, port);
        for (const key of ['message', 'code', 'errno', 'syscall', 'address', 'port'])
          assert.equal(error[key], expected[key], key);
        assert.equal(error.posixErrno, 111);
      });
    }
  }
});
