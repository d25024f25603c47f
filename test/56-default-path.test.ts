// The default path under faults the reliability tests did not reach: two
// copies of the JS layer over one addon, an fd closed behind the engine's
// back (while another process holds the socket, or with its number taken
// by another socket at once), starts whose deadline passed while they
// queued, and a command that would lose its report. Every wait, epoll (the
// default) first.
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';

import { connect, probe, type Outcome, type Wait } from '../dist/lib';
import { rejected } from './helpers/calls';
import { nbconnect } from './helpers/command';
import { tcpListener, unixListener, type TcpListener, type UnixListener } from './helpers/listeners';
import { itForeignFd } from './helpers/foreign-fd';
import { runFixture } from './helpers/fixtures';

describe('the default path under faults', function () {
  this.timeout(60000);

  it('a burst retried from its ETIMEDOUT handlers under a 256-fd limit: the settled sockets are closed before new ones start, never EMFILE', () => {
    for (const wait of ['epoll', 'poll'] as const) {
      const codes = runFixture('retry-at-deadline.js', { count: 200, wait }, { shell: 'ulimit -n 256 && ' });
      assert.deepEqual(codes, { ETIMEDOUT: 200 }, wait);
    }
  });

  it('any number of copies of the JS layer over one addon: each gets exactly its own results, for every pair of waits', () => {
    const rounds: [Wait, Wait][] = [
      ['epoll', 'epoll'],
      ['epoll', 'poll'],
      ['poll', 'epoll'],
      ['poll', 'poll'],
      ['select', 'epoll'],
      ['epoll', 'select'],
    ];
    const report = runFixture('two-copies.js', { rounds, perCopy: 40 }, { nodeFlags: ['--expose-gc'] });
    for (const r of report.rounds as { waits: Wait[]; settled: number; wrongSocket: number; errors: string[]; unsettled: number }[]) {
      const label = r.waits.join(' + ');
      assert.equal(r.unsettled, 0, `${label}: ${r.unsettled} connects never settled`);
      assert.equal(r.wrongSocket, 0, `${label}: ${r.wrongSocket} came back with the other copy's socket`);
      assert.deepEqual(r.errors, [], label);
      assert.equal(r.settled, 80, label);
    }
    assert.equal(report.fdsAfter, report.fdsBefore);
  });

  it('the whole module loaded 20 times over (the .node too, as decache does): each dropped load lets go of its engine, waiters and threads', () => {
    const { before, after } = runFixture('full-reload.js', { loads: 20 }, { nodeFlags: ['--expose-gc'] });
    // Each load makes an epoll fd, two eventfds and two threads.
    assert.deepEqual(after, before);
  });

  // epoll is the default and the regression; poll and select run in the slow layer (58).
  itForeignFd('epoll');

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
        // Not a host that did not answer: the error says so.
        const error = await rejected(connect({ host: '127.0.0.1', port: tcp.port }, { wait, timeout: 0 }));
        assert.match(error.message, /^connect ETIMEDOUT 127\.0\.0\.1:\d+: the deadline passed before its turn to start .*no SYN was sent$/);
      });
    }
  });

  it('nbconnect bench --svg to a path it cannot write: one line on stderr before any connect, not a stack trace after the run', async () => {
    const live = await tcpListener('127.0.0.1');
    try {
      const svg = path.join(os.tmpdir(), `nbconnect-no-such-dir-${process.pid}`, 'x.svg');
      const started = performance.now();
      const { status, stdout, stderr } = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '2000', '-c', '4', '--reps', '3', '--svg', svg);
      assert.equal(status, 2, stderr);
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

  it('nbconnect bench --svg that fails only when written (a full device): the report stands, one line on stderr, exit 1', async () => {
    const live = await tcpListener('127.0.0.1');
    try {
      const { status, stdout, stderr } = await nbconnect('bench', `127.0.0.1:${live.port}`, '-n', '20', '-c', '2', '--reps', '1', '--svg', '/dev/full');
      assert.equal(status, 1, stderr);
      assert.match(stdout, /^nbconnect bench 127\.0\.0\.1:\d+: 20 connects per run/);
      assert.match(stdout, /took [\d.]+ s\n$/);
      assert.equal(stderr, 'nbconnect: --svg /dev/full: ENOSPC, the chart was not written (the report stands)\n');
    } finally {
      await live.close();
    }
  });
});
