// The benchmark harness runs (tiny N, one repetition) and its JSON holds
// every driver for every scenario. No timing is asserted here: figures live
// in `npm run bench`, not in tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('benchmark harness smoke run', function () {
  this.timeout(120000);

  it('writes JSON with every scenario and every driver that applies to it', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-bench-'));
    try {
      const run = spawnSync(process.execPath, [path.join(__dirname, '..', 'bench', 'run.js'), '--tiny', '--out', out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const [file] = fs.readdirSync(out).filter((f) => f.endsWith('.json'));
      const result = JSON.parse(fs.readFileSync(path.join(out, file), 'utf8'));
      assert.deepEqual(Object.keys(result.machine).sort(), ['cores', 'cpu', 'kernel', 'memoryGiB', 'node']);
      const all = ['c-reference', 'nbconnect-epoll', 'nbconnect-poll', 'nbconnect-select', 'connectSync', 'net'];
      const many = all.filter((d) => d !== 'connectSync');
      const waits = ['nbconnect-epoll', 'nbconnect-poll', 'nbconnect-select'];
      const expected = {
        'latency|1': all,
        'throughput|1': [...all, 'probeMany'],
        'throughput|64': [...many, 'probeMany'],
        'timeout|1': all,
        'timeout|100': many,
        'memory|500': many,
        'eventloop|500': [...waits, 'net'],
        'refused|64': [...many, 'probeMany'],
        // CPU per connect with others pending: an event loop's engine under load, so no C reference.
        'pending|0': [...waits, 'connectSync', 'net'],
        'pending|100': [...waits, 'net'],
      };
      assert.deepEqual(Object.keys(result.summary).sort(), Object.keys(expected).sort());
      assert.equal(result.runs['timeout|100'].net[0].connected, 0, 'a black hole lets nothing through');
      for (const [key, drivers] of Object.entries(expected)) {
        assert.deepEqual(Object.keys(result.summary[key]).sort(), [...drivers].sort(), key);
        for (const driver of drivers) assert.ok(Object.keys(result.summary[key][driver]).length > 0, `${key} ${driver} has figures`);
      }
      // Successful scenarios really connected; refused ones really were refused.
      for (const driver of all) assert.equal(result.runs['latency|1'][driver][0].failures, 0, driver);
      assert.equal(result.runs['refused|64'].net[0].failures, result.runs['refused|64'].net[0].n);
      assert.match(fs.readFileSync(path.join(out, 'latest.md'), 'utf8'), /\| latency 1 \| p50 \| nbconnect-poll \|/);
      // Deadlines under each runtime installed here; this Node's at least.
      const own = (result.runtimes.rows as { runtime: string; reps: { single300: { min: number } }[] }[]).find(
        (r) => r.runtime === `Node ${process.versions.node}`,
      );
      assert.ok(own, 'this Node has a runtime row');
      assert.ok(own.reps[0].single300.min >= 299, `a 300 ms deadline never settles early (${own.reps[0].single300.min} ms)`);
      assert.match(fs.readFileSync(path.join(out, 'latest.md'), 'utf8'), /Deadlines under each runtime/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
