// Faults at the edges: workers ended while results flow or while they hold
// Connections, children spawned during connects, a waiter that cannot
// start, timeouts too large for a timer, a wait syscall that keeps failing,
// and an fd that must not be reassigned.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { connect, raw } from '../dist/lib';
import { blackHole, refusedPort, tcpListener, type Peer, type TcpListener } from './helpers/listeners';
import { rejected } from './helpers/calls';
import { WAITS } from './helpers/modes';
import { skipWithout } from './helpers/namespaces';

const FIXTURES = path.join(__dirname, 'fixtures');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each fixture prints its own report shape
function runFixture(name: string, config: Record<string, unknown>, { shell = '', timeout = 120000 } = {}): any {
  const command = `${shell}exec "${process.execPath}" "${path.join(FIXTURES, name)}" '${JSON.stringify(config)}'`;
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout });
  assert.equal(r.signal, null, `${name} was killed by ${r.signal}: ${r.stderr.slice(-2000)}`);
  assert.equal(r.status, 0, `${name} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

function readlink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults at the edges', function () {
  this.timeout(180000);

  describe('workers', () => {
    it('20 workers terminated one by one while their results flow, three rounds: the process lives, no fd is left, the server sees every connection closed', () => {
      const report = runFixture('worker-teardown.js', { mode: 'flowing', workers: 20, rounds: 3, seed: 0x11 });
      assert.deepEqual(report.codes, [1]);
      assert.equal(report.terminated, 60);
      assert.equal(report.fdsAfter, report.fdsBefore);
      assert.equal(report.serverOpen, 0);
    });

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

    it('200 children spawned during bursts of connects inherit no socket', async () => {
      const refused = await refusedPort();
      let stop = false;
      let connects = 0;
      // Keep the waiter making sockets: 64 loops, each connect-close-connect,
      // until the children are all checked (at most 60 s).
      const stopAt = Date.now() + 60000;
      const loops = Array.from({ length: 64 }, async (_, i) => {
        while (!stop && Date.now() < stopAt) {
          connects++;
          await connect({ host: '127.0.0.1', port: i % 2 ? live.port : refused }, { linger0: true }).then(
            (c) => c.close(),
            () => {},
          );
        }
      });
      const leaks = [];
      try {
        for (let i = 0; i < 200; i++) {
          // spawn() returns once the child has exec'd (libuv waits on a
          // CLOEXEC pipe), so its fd table is what it keeps for life.
          const child = spawn('/bin/sleep', ['10'], { stdio: 'ignore' });
          try {
            // Until exec, the child holds every fd of ours, CLOEXEC or not.
            const exe = `/proc/${child.pid}/exe`;
            for (let t = 0; t < 200 && !readlink(exe)?.endsWith('/sleep'); t++) await sleep(1);
            assert.match(readlink(exe) ?? '', /\/sleep$/);
            for (const fd of fs.readdirSync(`/proc/${child.pid}/fd`)) {
              const link = readlink(`/proc/${child.pid}/fd/${fd}`);
              if (link?.startsWith('socket:')) leaks.push(`child ${i} fd ${fd} ${link}`);
            }
          } finally {
            child.kill('SIGKILL');
          }
          if (i % 10 === 9) await sleep(1);
        }
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      assert.ok(connects > 1000, `connects ran alongside: ${connects}`);
      assert.deepEqual(leaks, []);
    });
  });

  describe('a waiter that cannot start', () => {
    let port: number;
    let live: TcpListener;
    before(async () => {
      live = await tcpListener('127.0.0.1');
      port = live.port;
    });
    after(async () => live.close());

    // The poll waiter's first fd is its eventfd; the epoll engine's, its epoll instance.
    for (const [wait, syscall] of [
      ['poll', 'eventfd'],
      ['epoll', 'epoll_create1'],
    ] as const) {
      it(`EMFILE on its first fd (${wait}: ${syscall}): a ConnectError with the syscall, no listener left, probe resolves, a name settles too`, () => {
        const report = runFixture('waiter-start.js', { mode: 'emfile', port, wait }, { shell: 'ulimit -n 64 && ' });
        const failure = { name: 'ConnectError', code: 'EMFILE', errno: -24, syscall, phase: 'immediate', steps: 0 };
        assert.deepEqual(report.literal, failure);
        // The message names what failed: the engine for epoll, a thread for poll.
        const engine = wait === 'epoll' ? 'the epoll engine' : 'the poll waiter thread';
        assert.equal(report.message, `${syscall} EMFILE 127.0.0.1:${port}: ${engine} could not start`);
        assert.equal(report.listenersLeft, 0);
        assert.deepEqual(report.probe, { ok: false, code: 'EMFILE', errno: -24 });
        assert.deepEqual(report.name, failure);
        assert.equal(report.after, 'connected');
      });
    }

    it('pthread_create fails (a pids cgroup with no room for a thread): EAGAIN, named', function () {
      const root = '/sys/fs/cgroup/pids';
      const cgroup = path.join(root, `nbconnect-test-${process.pid}`);
      let gap = null;
      try {
        fs.mkdirSync(cgroup);
      } catch (err) {
        gap = `cannot make a pids cgroup under ${root}: ${(err as NodeJS.ErrnoException).code}`;
      }
      skipWithout(this, gap, 'thread limits');
      try {
        const report = runFixture('waiter-start.js', { mode: 'threads', port, cgroup, wait: 'poll' });
        assert.deepEqual(report.literal, { name: 'ConnectError', code: 'EAGAIN', errno: -11, syscall: 'pthread_create', phase: 'immediate', steps: 0 });
        assert.equal(report.message, `pthread_create EAGAIN 127.0.0.1:${port}: the poll waiter thread could not start`);
        assert.equal(report.listenersLeft, 0);
        assert.deepEqual(report.probe, { ok: false, code: 'EAGAIN', errno: -11 });
        assert.equal(report.after, 'connected');
        // The epoll engine makes no thread: the same cgroup does not stop it.
        const epoll = runFixture('waiter-start.js', { mode: 'threads', port, cgroup, wait: 'epoll' });
        assert.deepEqual(epoll, { literal: 'connected', listenersLeft: 0, probe: { ok: true, code: 'OK', errno: 0 }, after: 'connected' });
      } finally {
        fs.rmdirSync(cgroup);
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
      it(`an fd closed behind the waiter's back (${wait}): EBADF, and the number is not closed again`, async () => {
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
        assert.equal(err.code, 'EBADF', String(err));
        assert.equal(err.phase, 'async');
        const last = err.steps.at(-1)!;
        if (wait === 'epoll') {
          // Before the deadline's EPOLL_CTL_DEL and close, the engine asks
          // the number for its socket's identity: here it names nothing.
          assert.equal(err.syscall, 'getsockopt', JSON.stringify(err.steps));
          assert.deepEqual([last.call, last.arg, last.code], ['getsockopt', 'SO_COOKIE', 'EBADF'], JSON.stringify(last));
          assert.equal(
            err.steps.some((s) => s.arg === 'EPOLL_CTL_DEL'),
            false,
            'a number that is not ours is not unwatched',
          );
        } else if (wait === 'poll') {
          // poll(2) reports a number closed during the call as POLLNVAL.
          assert.equal(err.syscall, 'poll', JSON.stringify(err.steps));
          assert.equal(last.call, 'poll');
          assert.deepEqual(last.revents, ['POLLNVAL']);
        } else {
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
