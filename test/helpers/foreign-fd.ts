// The scenarios of an attempt's fd closed behind the engine's back
// (fixtures/foreign-fd.ts), one test each, for one wait: shared by the fast
// layer (epoll, the default) and the slow one (poll, select).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import type { Wait } from '../../dist/lib';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** A fixture's JSON report; a crash or a non-zero exit fails the test with its stderr. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each fixture prints its own report shape
export function runFixture(name: string, config: Record<string, unknown>, nodeFlags: string[] = []): any {
  const r = spawnSync(process.execPath, [...nodeFlags, path.join(FIXTURES, name), JSON.stringify(config)], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.signal, null, `${name} was killed by ${r.signal}: ${r.stderr.slice(-3000)}`);
  assert.equal(r.status, 0, `${name} exited with ${r.status}: ${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout);
}

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
    it(`${wait}: an attempt's fd ${how}; at its ${end}, the attempt ends ${end === 'abort' ? 'ABORT_ERR' : 'EBADF'}, never touching the socket that now has the number`, () => {
      const r = runFixture('foreign-fd.js', { mode, victim, end, wait });
      // An abort the caller asked for wins, whatever the engine found; but
      // poll and select may learn of the lost number first on their own
      // (POLLNVAL, select's EBADF) and end the attempt before the abort.
      const expected = end === 'deadline' ? ['EBADF'] : wait === 'epoll' ? ['ABORT_ERR'] : ['ABORT_ERR', 'EBADF'];
      assert.ok(expected.includes(r.a.code), JSON.stringify(r.a));
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
