import assert from 'node:assert/strict';
import { unixListener, blackHole, tempSocketPath, callsOf, type Peer } from './helpers/listeners';
import { connected, everyMode, failed } from './helpers/modes';

describe('AF_UNIX', () => {
  // One full backlog and one stale socket file for every mode: a refused
  // attempt leaves the peer as it found it, and a peer is a process to start.
  let hole: Peer;
  let stale: Peer;
  before(async () => {
    [hole, stale] = await Promise.all([blackHole('unix'), blackHole('unix-stale')]);
  });
  after(async () => {
    await Promise.all([hole.close(), stale.close()]);
  });

  for (const { label, attempt } of everyMode()) {
    describe(label, () => {
      // Linux completes a stream connect to a listening path inside connect().
      it('succeeds immediately: connect() returns 0 and nothing waits', async () => {
        const listener = await unixListener();
        try {
          const connection = connected(await attempt({ path: listener.path }));
          assert.equal(connection.immediate, true);
          assert.equal(connection.family, 'unix');
          assert.equal(connection.path, listener.path);
          assert.deepEqual(callsOf(connection.steps), ['socket SOCK_STREAM|SOCK_CLOEXEC', 'fcntl F_GETFL', 'fcntl F_SETFL', 'connect']);
          assert.equal(connection.steps[3].ret, 0);
          connection.close();
        } finally {
          await listener.close();
        }
      });

      // Not EINPROGRESS: there is no handshake to wait for, so a full backlog
      // fails at once, in the 'immediate' phase.
      it('reports EAGAIN at once when the backlog is full', async () => {
        const error = failed(await attempt(`unix:${hole.path}`, { timeout: 5000 }));
        assert.equal(error.code, 'EAGAIN');
        assert.equal(error.errno, -11);
        assert.equal(error.posixErrno, 11);
        assert.equal(error.phase, 'immediate');
        assert.equal(error.syscall, 'connect');
        assert.equal(error.message, `connect EAGAIN ${hole.path}`);
        assert.deepEqual(callsOf(error.steps).slice(-2), ['connect', 'close']);
        assert.equal(error.steps.at(-2)!.code, 'EAGAIN');
      });

      it('reports ECONNREFUSED for a socket file nobody listens on', async () => {
        const error = failed(await attempt({ path: stale.path }));
        assert.equal(error.code, 'ECONNREFUSED');
        assert.equal(error.phase, 'immediate');
      });

      it('reports ENOENT for a path that does not exist', async () => {
        const error = failed(await attempt({ path: tempSocketPath() }));
        assert.equal(error.code, 'ENOENT');
        assert.equal(error.phase, 'immediate');
        assert.equal(error.steps.at(-2)!.code, 'ENOENT');
      });
    });
  }
});
