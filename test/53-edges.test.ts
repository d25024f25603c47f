// Faults at the edges: workers ended while they hold Connections, the
// socket's SOCK_CLOEXEC, timeouts too large for a timer, a wait syscall that
// keeps failing, and an fd that must not be reassigned. The heavy ones (20
// workers ended while results flow, 200 children spawned during connects, a
// waiter or engine that cannot start) are in 53-edges.slow.test.ts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';

import { connect, raw } from '../dist/lib';
import { blackHole, refusedPort, tcpListener, type Peer, type TcpListener } from './helpers/listeners';
import { rejected } from './helpers/calls';
import { nextTurns, WAITS } from './helpers/modes';
import { runFixture, readlink } from './helpers/fixtures';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults at the edges', function () {
  this.timeout(180000);

  describe('workers', () => {
    it("a terminated worker's open Connections are closed with it", () => {
      const report = runFixture('worker-teardown.js', { mode: 'holding', workers: 5, rounds: 2, seed: 0x12 });
      assert.deepEqual(report.codes, [1]);
      assert.equal(report.fdsAfter, report.fdsBefore);
      assert.equal(report.serverOpen, 0, '20 connections per worker must end with the worker');
    });
  });

  describe('children', () => {
    let live: TcpListener;
    before(async () => {
      live = await tcpListener('127.0.0.1');
    });
    after(async () => live.close());

    it('the socket is made with SOCK_CLOEXEC, and says so in its step', async () => {
      const c = await connect({ host: '127.0.0.1', port: live.port });
      c.close();
      assert.deepEqual(
        c.steps.slice(0, 3).map((s) => [s.call, s.arg]),
        [
          ['socket', 'SOCK_STREAM|SOCK_CLOEXEC'],
          ['fcntl', 'F_GETFL'],
          ['fcntl', 'F_SETFL'],
        ],
      );
      assert.equal(
        c.steps.some((s) => s.arg === 'F_SETFD'),
        false,
        'FD_CLOEXEC is set atomically, not by a later fcntl',
      );
      const s = raw.socket(4);
      try {
        // FD_CLOEXEC is bit 1 of F_GETFD; /proc shows it as flags 02000000 (O_CLOEXEC).
        const flags = parseInt(/flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${s.ret}`, 'utf8'))![1], 8);
        assert.ok(flags & 0o2000000, `raw.socket's fd has O_CLOEXEC: flags ${flags.toString(8)}`);
      } finally {
        raw.close(s.ret);
      }
    });
  });

  describe('timeouts too large for a timer', () => {
    let hole: Peer;
    before(async () => {
      hole = await blackHole('tcp4');
    });
    after(async () => hole.close());

    // Past 2 ** 31 - 1 ms setTimeout fires after 1 ms; past 2 ** 63 ns the
    // native deadline overflows. Each must mean "that long".
    for (const timeout of [2 ** 31, 2 ** 32 + 5, 9.3e12, 2 ** 53, 1e300, Number.MAX_VALUE]) {
      for (const host of ['127.0.0.1', 'localhost']) {
        it(`timeout ${timeout} to ${host}: still pending after 300 ms, then aborted`, async () => {
          const ac = new AbortController();
          const started = performance.now();
          const pending = connect({ host, port: hole.port }, { timeout, family: 4, signal: ac.signal }).then(
            () => 'connected',
            (e) => `${e.code} ${e.syscall} at ${Math.round(performance.now() - started)} ms`,
          );
          const early = await Promise.race([pending, sleep(300).then(() => 'pending')]);
          ac.abort();
          assert.equal(early, 'pending');
          assert.match(await pending, /^ABORT_ERR connect/);
        });
      }
    }
  });

  describe('a wait syscall that keeps failing', () => {
    let hole: Peer;
    before(async () => {
      hole = await blackHole('tcp4');
    });
    after(async () => hole.close());

    it('poll(2) refused (nfds > a lowered RLIMIT_NOFILE): those attempts fail with EINVAL, the rest meet their deadline, no busy loop', () => {
      const report = runFixture('poll-refused.js', { port: hole.port, count: 40, timeout: 600 });
      assert.equal(report.settled, 40, JSON.stringify(report));
      assert.equal(report.late, 0, JSON.stringify(report));
      // 21 pollfds pass the limit of 20 (the eventfd is the first).
      assert.deepEqual(report.codes, { 'EINVAL poll async': 21, 'ETIMEDOUT connect timeout': 19 });
      assert.equal(report.trigger, 'EMFILE socket');
      // A waiter retrying at once would burn a whole core for the whole wait.
      assert.ok(report.cpuMs < report.wallMs / 2, `CPU ${report.cpuMs} ms in ${report.wallMs} ms`);
    });

    for (const wait of WAITS) {
      const verdict = wait === 'epoll' ? 'ETIMEDOUT, settled first, then the identity check' : 'EBADF';
      it(`an fd closed behind the waiter's back (${wait}): ${verdict}, and the number is not closed again`, async () => {
        // The waiter's own eventfd is made on first use: make it now, so
        // that the number freed below goes to the victim's socket.
        await connect({ host: '127.0.0.1', port: await refusedPort() }, { wait }).catch(() => {});
        // The next socket() takes the lowest free number: find it, and let
        // the waiter take it for a connect into the black hole.
        const spare = raw.socket(4).ret;
        raw.close(spare);
        // epoll forgets an fd whose file is gone, so nothing wakes for it:
        // the deadline finds it out.
        const victim = rejected(connect({ host: '127.0.0.1', port: hole.port }, { wait, timeout: wait === 'epoll' ? 400 : 5000 }));
        const other = new AbortController();
        const bystander = rejected(connect({ host: '127.0.0.1', port: hole.port }, { wait, signal: other.signal }));
        for (let i = 0; i < 100 && !readlink(`/proc/self/fd/${spare}`)?.startsWith('socket:'); i++) await sleep(5);
        await sleep(20);
        raw.close(spare);
        // Wake the waiter without making a socket: a cancel.
        other.abort();
        assert.equal((await bystander).code, 'ABORT_ERR');
        const err = await Promise.race([victim, sleep(2000).then(() => assert.fail('never settled'))]);
        if (wait === 'epoll') {
          // The deadline settles first; before its EPOLL_CTL_DEL and close,
          // the engine asks the number for its socket's identity: here it
          // names nothing, so it touches it no further.
          assert.deepEqual([err.code, err.phase, err.syscall], ['ETIMEDOUT', 'timeout', 'connect'], String(err));
          await nextTurns();
          const last = err.steps.at(-1)!;
          assert.deepEqual([last.call, last.arg, last.code], ['getsockopt', 'SO_COOKIE', 'EBADF'], JSON.stringify(last));
          assert.equal(
            err.steps.some((s) => s.arg === 'EPOLL_CTL_DEL'),
            false,
            'a number that is not ours is not unwatched',
          );
        } else if (wait === 'poll') {
          assert.deepEqual([err.code, err.phase], ['EBADF', 'async'], String(err));
          const last = err.steps.at(-1)!;
          // poll(2) reports a number closed during the call as POLLNVAL.
          assert.equal(err.syscall, 'poll', JSON.stringify(err.steps));
          assert.equal(last.call, 'poll');
          assert.deepEqual(last.revents, ['POLLNVAL']);
        } else {
          assert.deepEqual([err.code, err.phase], ['EBADF', 'async'], String(err));
          const last = err.steps.at(-1)!;
          // select(2) checks the numbers only on entry (EBADF); one closed
          // while it waits reads as ready, and getsockopt then says EBADF.
          assert.ok((last.call === 'select' && last.code === 'EBADF') || (last.call === 'getsockopt' && last.code === 'EBADF'), JSON.stringify(err.steps));
          assert.equal(err.syscall, last.call);
        }
        assert.equal(
          err.steps.some((s) => s.call === 'close'),
          false,
          'a number that is no longer ours is never closed',
        );
      });
    }
  });

  it('Connection.fd cannot be reassigned', async () => {
    const live = await tcpListener('127.0.0.1');
    const c = await connect({ host: '127.0.0.1', port: live.port });
    const fd = c.fd;
    try {
      // -1 is the number a careless caller would write to "forget" the fd,
      // leaving the socket open with nobody to close it.
      assert.throws(() => {
        // @ts-expect-error: fd is read-only, to the compiler and at run time
        c.fd = -1;
      }, TypeError);
      assert.equal(c.fd, fd);
      const descriptor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(c), 'fd');
      assert.ok(descriptor && descriptor.get && !('set' in descriptor && descriptor.set), 'a getter, no setter');
    } finally {
      if (c.fd === fd) c.close();
      else raw.close(fd);
      await live.close();
    }
    assert.equal(c.fd, -1);
  });
});
