// A SIGUSR2 storm at about 1 kHz, sent to this process by a child, while
// connects wait. Deadlines hold, EINTR is never the outcome, and the clock
// does not restart at each signal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, connectSync, raw } from '../dist/lib';
import { blackHole, PYTHON, type Peer } from './helpers/listeners';
import { rejected, thrown } from './helpers/calls';
import { WAITS, waitCalls } from './helpers/modes';

const DEADLINE = 300;
// A loaded 2-core machine may be late; a clock that restarted at each signal
// (about every millisecond) would never finish at all.
const LATE = 700;

/** A child that sends SIGUSR2 to `pid` every ~1 ms until its stdin closes (60 s at most). */
function storm(pid: number): { ready: Promise<void>; stop(): Promise<void> } {
  const code = `
import os, signal, sys, threading, time
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print('ready', flush=True)
end = time.monotonic() + 60
while not stop.is_set() and time.monotonic() < end:
    os.kill(${pid}, signal.SIGUSR2)
    time.sleep(0.001)
`;
  const child = spawn(PYTHON, ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return {
    ready,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('signals: a SIGUSR2 storm during every kind of wait', function () {
  this.timeout(60000);
  let hole: Peer;
  let signals = 0;
  let sender: ReturnType<typeof storm>;
  const onSignal = () => signals++;

  before(async () => {
    hole = await blackHole('tcp4');
    process.on('SIGUSR2', onSignal);
    sender = storm(process.pid);
    await sender.ready;
  });
  after(async () => {
    await sender.stop();
    process.removeListener('SIGUSR2', onSignal);
    await hole.close();
  });

  for (const wait of WAITS) {
    it(`connectSync (wait: '${wait}'): EINTR in the trace, ETIMEDOUT at the deadline`, () => {
      const t0 = performance.now();
      const err = thrown(() => connectSync({ host: '127.0.0.1', port: hole.port }, { timeout: DEADLINE, wait }));
      const took = performance.now() - t0;
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.phase, 'timeout');
      const waits = err.steps.filter((s) => s.call === waitCalls(wait).at(-1));
      const interrupted = waits.filter((s) => s.code === 'EINTR');
      assert.ok(interrupted.length >= 10, `the storm reached the wait: ${interrupted.length} EINTR of ${waits.length} waits`);
      assert.ok(err.elapsed >= DEADLINE - 1 && took < DEADLINE + LATE, `elapsed ${err.elapsed}, took ${took}`);
    });
  }

  it('the async waits: 300 attempts, each ETIMEDOUT at its deadline, no EINTR (the waiter thread blocks signals; the epoll engine never blocks in its own wait)', async () => {
    const before = signals;
    const started = performance.now();
    const errors = await Promise.all(
      Array.from({ length: 300 }, (_, i) => rejected(connect({ host: '127.0.0.1', port: hole.port }, { timeout: DEADLINE, wait: WAITS[i % WAITS.length] }))),
    );
    const took = performance.now() - started;
    assert.ok(signals - before >= 50, `signals handled meanwhile: ${signals - before}`);
    for (const e of errors) {
      assert.equal(e.code, 'ETIMEDOUT');
      assert.ok(e.elapsed >= DEADLINE - 1 && e.elapsed < DEADLINE + LATE, `elapsed ${e.elapsed}`);
      assert.ok(!e.steps.some((s) => s.code === 'EINTR'));
    }
    assert.ok(took < DEADLINE + LATE, `took ${took}`);
  });

  for (const call of ['poll', 'select']) {
    it(`raw.${call}: waits out its whole timeout through the storm, never EINTR`, async () => {
      const fd = raw.socket(4).ret;
      try {
        raw.setNonblocking(fd, raw.getFlags(fd).ret);
        assert.equal(raw.connect(fd, { host: '127.0.0.1', port: hole.port }).code, 'EINPROGRESS');
        const before = signals;
        const t0 = performance.now();
        const r = call === 'poll' ? raw.poll([{ fd }], DEADLINE) : raw.select([{ fd, write: true }], DEADLINE);
        const took = performance.now() - t0;
        assert.equal(r.ret, 0, JSON.stringify(r));
        assert.equal(r.code, undefined);
        assert.ok(took >= DEADLINE - 1 && took < DEADLINE + LATE, `took ${took}`);
        await tick(); // the handlers of the signals that arrived during the call run now
        assert.ok(signals - before >= 10, `signals during the call: ${signals - before}`);
      } finally {
        raw.close(fd);
      }
    });
  }
});
