// Faults at the edges, the heavy half (the rest is 53-edges.test.ts): 20
// workers terminated while results flow, 200 children spawned during bursts
// of connects, and a waiter or engine that cannot start (a full fd table, a
// pids cgroup with no room for a thread). Each runs for seconds, in
// processes of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { connect } from '../dist/lib';
import { runFixture, readlink } from './helpers/fixtures';
import { refusedPort, tcpListener, type TcpListener } from './helpers/listeners';
import { skipWithout } from './helpers/namespaces';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults at the edges, under load', function () {
  this.timeout(180000);

  describe('workers', () => {
    it('20 workers terminated one by one while their results flow, three rounds: the process lives, no fd is left, the server sees every connection closed', () => {
      const report = runFixture('worker-teardown.js', { mode: 'flowing', workers: 20, rounds: 3, seed: 0x11 });
      assert.deepEqual(report.codes, [1]);
      assert.equal(report.terminated, 60);
      assert.equal(report.fdsAfter, report.fdsBefore);
      assert.equal(report.serverOpen, 0);
    });
  });

  describe('children', () => {
    let live: TcpListener;
    before(async () => {
      live = await tcpListener('127.0.0.1');
    });
    after(async () => live.close());

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
});
