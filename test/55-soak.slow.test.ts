// The short soak CI runs: 20,000 measured connects (after a 20,000 warm-up)
// at concurrency 1,000, mixed outcomes. `npm run soak` runs 200,000.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';

describe('soak (short)', function () {
  this.timeout(300000);

  it('20,000 mixed connects at 1,000 in flight: each settles once, fds and RSS hold', async () => {
    const script = path.join(__dirname, '..', 'bench', 'soak.js');
    // bench/soak.js's --json report (see there).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const report: any = await new Promise((resolve, reject) => {
      execFile(process.execPath, ['--expose-gc', script, '--n', '20000', '--json'], { timeout: 240000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(error ?? new Error(`no report: ${stderr}`));
        }
      });
    });
    assert.equal(report.connects, 40000);
    assert.equal(report.settledOnce, true, `settled twice: ${report.settledTwice}`);
    assert.deepEqual(report.unexpected, []);
    assert.equal(report.fds.end, report.fds.start);
    assert.ok(report.gcExposed);
    // Under the sanitizer run, freed memory sits in ASan's quarantine by
    // design, so RSS says nothing about this code there; everywhere else the
    // limit holds.
    if (process.env.NBCONNECT_ADDON === undefined) assert.ok(report.rss.growth < report.rss.limit, `RSS grew ${report.rss.growth} bytes after warm-up`);
    for (const kind of ['tcp OK', 'refused ECONNREFUSED', 'timeout ETIMEDOUT', 'unix OK', 'abort ABORT_ERR'])
      assert.ok(report.outcomes[kind] > 0, `${kind}: ${JSON.stringify(report.outcomes)}`);
    if (process.env.NBCONNECT_ADDON === undefined) assert.equal(report.pass, true);
    console.log(
      `      ${report.perSecond}/s, RSS growth ${(report.rss.growth / 1048576).toFixed(1)} MiB, event-loop delay max ${report.eventLoopDelayMaxMs} ms`,
    );
  });
});
