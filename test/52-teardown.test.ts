// Teardown under load: an abort storm. (Fifty workers terminated with
// connects pending are 52-teardown.slow.test.ts; a process exiting with
// 1,000 pending is 51-exit-pending.)
import assert from 'node:assert/strict';
import { connect } from '../dist/lib';
import { refusedPort, tcpListener, fdCount, type Peer, settleFds, warmedBlackHole } from './helpers/listeners';
import { WAITS } from './helpers/modes';
import { random } from './helpers/random';

describe('teardown under load', function () {
  this.timeout(120000);
  let hole: Peer;
  before(async () => {
    hole = await warmedBlackHole();
  });
  after(async () => hole.close());

  it('an abort storm: 10,000 connects, each aborted at a random moment; each settles once, fds back to baseline', async () => {
    const rand = random(0x5eed);
    const live = await tcpListener('127.0.0.1');
    const refused = await refusedPort();
    const before = fdCount();
    const targets = [hole.port, live.port, refused];
    const settled = new Uint8Array(10000);
    let twice = 0;
    const results = await Promise.all(
      Array.from({ length: 10000 }, (_, i) => {
        const ac = new AbortController();
        const delay = rand() * 30;
        if (delay < 3) ac.abort(); // some before the call
        const wait = WAITS[Math.floor(rand() * WAITS.length)];
        const p = connect({ host: '127.0.0.1', port: targets[i % 3] }, { signal: ac.signal, wait, linger0: true });
        if (!ac.signal.aborted) setTimeout(() => ac.abort(), delay);
        return p.then(
          (c) => {
            if (settled[i]++) twice++;
            c.close();
            return 'OK';
          },
          (e) => {
            if (settled[i]++) twice++;
            // Ten thousand sockets at once pass FD_SETSIZE: select(2) refuses those, as documented.
            if (e.code === 'EINVAL') return wait === 'select' && /FD_SETSIZE/.test(e.message) ? 'EINVAL (select, fd >= FD_SETSIZE)' : e.message;
            return e.code;
          },
        );
      }),
    );
    await live.close();
    assert.equal(twice, 0);
    assert.ok(settled.every((n) => n === 1));
    const counts: Record<string, number> = {};
    for (const code of results) counts[code] = (counts[code] ?? 0) + 1;
    assert.deepEqual(
      Object.keys(counts).filter((c) => !['OK', 'ABORT_ERR', 'ECONNREFUSED', 'EINVAL (select, fd >= FD_SETSIZE)'].includes(c)),
      [],
      JSON.stringify(counts),
    );
    assert.ok(counts.ABORT_ERR >= 3333, JSON.stringify(counts)); // at least every black-hole attempt
    assert.equal(await settleFds(before - 1), before - 1); // the listener's own socket is closed too
  });
});
