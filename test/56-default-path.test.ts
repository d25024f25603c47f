// The default path under faults the reliability tests did not reach: two
// copies of the JS layer over one addon, an fd closed behind the engine's
// back (while another process holds the socket, or with its number taken
// by another socket at once), starts whose deadline passed while they
// queued, and a command that would lose its report. Every wait, epoll (the
// default) first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import { probe, type Outcome, type Wait } from '../dist/lib';
import { nbconnect } from './helpers/command';
import { tcpListener, unixListener, type TcpListener, type UnixListener } from './helpers/listeners';
import { WAITS } from './helpers/modes';

const FIXTURES = path.join(__dirname, 'fixtures');

/** A fixture's JSON report; a crash or a non-zero exit fails the test with its stderr. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each fixture prints its own report shape
function runFixture(name: string, config: Record<string, unknown>, nodeFlags: string[] = []): any {
  const r = spawnSync(process.execPath, [...nodeFlags, path.join(FIXTURES, name), JSON.stringify(config)], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.signal, null, `${name} was killed by ${r.signal}: ${r.stderr.slice(-3000)}`);
  assert.equal(r.status, 0, `${name} exited with ${r.status}: ${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout);
}

describe('the default path under faults', function () {
  this.timeout(60000);

  it('any number of copies of the JS layer over one addon: each gets exactly its own results, for every pair of waits', () => {
    const rounds: [Wait, Wait][] = [
      ['epoll', 'epoll'],
      ['epoll', 'poll'],
      ['poll', 'epoll'],
      ['poll', 'poll'],
      ['select', 'epoll'],
      ['epoll', 'select'],
    ];
    const report = runFixture('two-copies.js', { rounds, perCopy: 40 }, ['--expose-gc']);
    for (const r of report.rounds as { waits: Wait[]; settled: number; wrongSocket: number; errors: string[]; unsettled: number }[]) {
      const label = r.waits.join(' + ');
      assert.equal(r.unsettled, 0, `${label}: ${r.unsettled} connects never settled`);
      assert.equal(r.wrongSocket, 0, `${label}: ${r.wrongSocket} came back with the other copy's socket`);
      assert.deepEqual(r.errors, [], label);
      assert.equal(r.settled, 80, label);
    }
    assert.equal(report.fdsAfter, report.fdsBefore);
  });

  for (const wait of WAITS) {
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

  describe('a burst whose deadline passes while it queues', () => {
    let unix: UnixListener;
    let tcp: TcpListener;
    before(async () => {
      unix = await unixListener();
      tcp = await tcpListener('127.0.0.1');
    });
    after(async () => {
      await unix.close();
      await tcp.close();
    });

    // select takes fewer: every number must stay under FD_SETSIZE.
    for (const [wait, count] of [
      ['epoll', 3000],
      ['poll', 3000],
      ['select', 600],
    ] as const) {
      it(`${wait}: ${count} probes in one tick with a 2 ms deadline: no socket() after the deadline; those late end ETIMEDOUT, phase 'timeout', with no syscall`, async () => {
        const TIMEOUT = 2;
        const outcomes: Promise<Outcome>[] = [];
        for (let i = 0; i < count; i++) outcomes.push(probe(i % 2 ? { path: unix.path } : { host: '127.0.0.1', port: tcp.port }, { wait, timeout: TIMEOUT }));
        let late = 0;
        for (const o of await Promise.all(outcomes)) {
          const socketStep = o.steps.find((s) => s.call === 'socket');
          if (socketStep === undefined) {
            late++;
            assert.deepEqual([o.code, o.phase, o.steps.length], ['ETIMEDOUT', 'timeout', 0], JSON.stringify(o));
          } else {
            // The start is checked against the deadline just before socket();
            // the bound allows for the call itself and a preempted thread.
            assert.ok(socketStep.at <= TIMEOUT + 25, `socket() at ${socketStep.at} ms, deadline ${TIMEOUT} ms: ${JSON.stringify(o.steps.slice(0, 2))}`);
          }
        }
        // A burst of this size cannot all start within 2 ms of its call.
        assert.ok(late > 0, 'no start came after its deadline: the scenario did not happen');
      });
    }
  });

  it('nbconnect bench --svg to a path it cannot write: one line on stderr before any connect, not a stack trace after the run', async () => {
    const live = await tcpListener('127.0.0.1');
    try {
      const svg = path.join(os.tmpdir(), `nbconnect-no-such-dir-${process.pid}`, 'x.svg');
      const started = performance.now();
      const { status, stdout, stderr } = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '2000', '-c', '4', '--reps', '3', '--svg', svg);
      assert.equal(status, 1, stderr);
      assert.equal(stdout, '');
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0], /--svg/);
      assert.ok(lines[0].includes(svg), lines[0]);
      assert.match(lines[0], /ENOENT/);
      // 2,000 connects x 4 drivers x 2 scenarios x 3 repetitions would take seconds.
      assert.ok(performance.now() - started < 5000, 'the benchmark ran before the path was checked');
    } finally {
      await live.close();
    }
  });
});
