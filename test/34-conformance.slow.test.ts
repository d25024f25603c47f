// The conformance matrix (npm run conformance) as part of the suite: every
// cell must match the C oracle, and the namespace scenarios must have run
// wherever they can (under CI=true, always).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { Report } from './conformance/run';
import { scenarios } from './conformance/scenarios';

const RUNNER = path.join(__dirname, 'conformance', 'run.js');

describe('conformance: nbconnect matches the C oracle call by call', function () {
  this.timeout(180000);
  let report: Report;

  before(() => {
    const run = spawnSync(process.execPath, [RUNNER, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.ok(run.stdout, `the runner printed nothing: ${run.stderr}`);
    report = JSON.parse(run.stdout) as Report;
  });

  it('runs every scenario for both waits, both modes and all four confirm methods', () => {
    const skippedGroups = new Set<string | undefined>(Object.keys(report.skipped));
    const expected = scenarios.filter((s) => !skippedGroups.has(s.group)).length * 3 * 2 * 4; // waits x modes x confirms
    assert.equal(report.rows.length, expected);
  });

  it('finds no mismatch', () => {
    const mismatches = report.rows.filter((r) => !r.match);
    assert.deepEqual(
      mismatches.map((r) => `${r.scenario} ${r.wait} ${r.mode} ${r.confirm}: ${r.diffs.join('; ')}`),
      [],
    );
  });

  it('reports what the issue expects of each scenario (SO_ERROR)', () => {
    const verdict = Object.fromEntries(report.confirmTable.map((r) => [r.scenario, r.so_error]));
    const expected = {
      'tcp4 success': 'OK',
      'tcp4 refused': 'ECONNREFUSED',
      'tcp4 timeout, full backlog': 'ETIMEDOUT',
      'tcp4 kernel ETIMEDOUT, synCount 1': 'ETIMEDOUT',
      'unix immediate success': 'OK',
      'unix EAGAIN, full backlog': 'EAGAIN',
      'unix ECONNREFUSED, stale path': 'ECONNREFUSED',
      'unix ENOENT': 'ENOENT',
      'EADDRINUSE, localPort taken': 'EADDRINUSE',
      'self-connect tcp4': 'ESELFCONNECT',
      'self-connect tcp6': 'ESELFCONNECT',
      'peer writes before the wait': 'OK',
    };
    for (const [scenario, code] of Object.entries(expected)) assert.equal(verdict[scenario], code, scenario);
  });

  it('runs the network-namespace scenarios (root and unshare), and must under CI', function () {
    const skipped = Object.entries(report.skipped);
    if (skipped.length > 0 && process.env.CI !== 'true') {
      // Honest skip: the capability is absent on this machine.
      console.log(`      skipped: namespace scenarios cannot run here: ${skipped.map(([g, why]) => `${g}: ${why}`).join('; ')}`);
      this.skip();
    }
    assert.deepEqual(skipped, []);
    const verdict = Object.fromEntries(report.confirmTable.map((r) => [r.scenario, r.so_error]));
    assert.equal(verdict['ENETUNREACH, loopback down'], 'ENETUNREACH');
    assert.equal(verdict['EHOSTUNREACH, unreachable route'], 'EHOSTUNREACH');
    assert.equal(verdict['EACCES, prohibit route'], 'EACCES');
    assert.equal(verdict['EINVAL, blackhole route'], 'EINVAL');
    assert.equal(verdict['ENETUNREACH, throw route'], 'ENETUNREACH');
    assert.equal(verdict['EADDRNOTAVAIL, localAddress not on this host'], 'EADDRNOTAVAIL');
  });
});
