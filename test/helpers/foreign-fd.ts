// The scenarios of an attempt's fd closed behind the engine's back
// (fixtures/foreign-fd.ts), one test each, for one wait: shared by the fast
// layer (epoll, the default) and the slow one (poll, select).
import assert from 'node:assert/strict';

import type { Wait } from '../../dist/lib';
import { runFixture } from './fixtures';

export function itForeignFd(wait: Wait): void {
  for (const [mode, victim, end] of [
    ['inherited', 'pending', 'deadline'],
    ['inherited', 'pending', 'abort'],
    ['reused', 'pending', 'deadline'],
    ['reused', 'pending', 'abort'],
    ['reused', 'connection', 'deadline'],
  ] as const) {
    const how =
      mode === 'inherited'
        ? 'closed while a child holds the socket, then the number goes to another connect and the old registration fires'
        : `closed, and the number goes at once to ${victim === 'pending' ? 'another pending connect' : 'an open Connection'}`;
    // The epoll engine settles a deadline or an abort first and checks the
    // number's identity after, before it would unwatch or close it: the
    // verdict is the deadline's or the abort's, and the trace shows the
    // check that found the number no longer ours. The waiters check first.
    const verdict = end === 'abort' ? 'ABORT_ERR' : wait === 'epoll' ? 'ETIMEDOUT' : 'EBADF';
    it(`${wait}: an attempt's fd ${how}; at its ${end}, the attempt ends ${verdict}, never touching the socket that now has the number`, () => {
      const r = runFixture('foreign-fd.js', { mode, victim, end, wait });
      // An abort the caller asked for wins, whatever the engine found; but
      // poll and select may learn of the lost number first on their own
      // (POLLNVAL, select's EBADF) and end the attempt before the abort.
      const expected = end === 'deadline' ? [verdict] : wait === 'epoll' ? ['ABORT_ERR'] : ['ABORT_ERR', 'EBADF'];
      assert.ok(expected.includes(r.a.code), JSON.stringify(r.a));
      if (wait === 'epoll') assert.match(r.a.calls.at(-1), /^getsockopt SO_COOKIE/, `the identity check ends the trace: ${JSON.stringify(r.a)}`);
      assert.ok(
        !r.a.calls.some((c: string) => c.startsWith('close') || c.startsWith('epoll_ctl EPOLL_CTL_DEL')),
        `a number that is not ours is never closed or unwatched: ${JSON.stringify(r.a)}`,
      );
      assert.equal(r.bTookNumber, true, 'the scenario needs the number reused');
      assert.equal(r.bOpenAfter, true, "the other socket must still be open after A's verdict");
      if (victim === 'pending') {
        assert.equal(r.bSettledEarly, undefined, `the other connect settled on A's account: ${JSON.stringify(r.b)}`);
        assert.equal(r.b.code, 'ABORT_ERR', JSON.stringify(r.b));
        assert.ok(r.b.calls.includes('close'), `its own socket closed once, cleanly: ${JSON.stringify(r.b)}`);
      } else {
        assert.equal(r.connectionAfter, 'ok');
      }
      assert.equal(r.fdsAfter, r.fdsBefore);
    });
  }
}
