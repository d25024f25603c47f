import assert from 'node:assert/strict';
import * as net from 'node:net';
import { refusedPort, callsOf } from './helpers/listeners';
import { everyMode, failed, LOOPBACKS, readiness, START_CALLS, waitCalls } from './helpers/modes';

function netSocketError(host: string, port: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => net.connect({ host, port }).once('error', resolve));
}

describe('ECONNREFUSED arrives through SO_ERROR', () => {
  for (const [family, host] of LOOPBACKS) {
    for (const { label, wait, attempt } of everyMode()) {
      it(`IPv${family}, ${label}`, async () => {
        const port = await refusedPort(host);
        const error = failed(await attempt({ host, port }));
        assert.equal(error.name, 'ConnectError');
        assert.equal(error.phase, 'async');
        assert.deepEqual(callsOf(error.steps), [...START_CALLS, ...waitCalls(wait), 'getsockopt SO_ERROR', 'close']);
        const waited = error.steps.at(-3)!;
        const soError = error.steps.at(-2)!;
        // A refused connect is reported writable, and more: poll and epoll
        // add ERR and HUP, select puts the fd in the read set too.
        assert.deepEqual(
          readiness(waited, wait),
          { epoll: ['EPOLLOUT', 'EPOLLERR', 'EPOLLHUP'], poll: ['POLLOUT', 'POLLERR', 'POLLHUP'], select: [true, true] }[wait],
        );
        // getsockopt itself succeeds; the error is its value.
        assert.equal(soError.ret, 0);
        assert.equal(soError.value, 111);

        // The same fields, and the same message, as net.Socket gives.
        const expected = await netSocketError(host, port);
        for (const key of ['message', 'code', 'errno', 'syscall', 'address', 'port'] as const)
          assert.equal(error[key], (expected as unknown as Record<string, unknown>)[key], key);
        assert.equal(error.posixErrno, 111);
      });
    }
  }
});
