// The two engines compared: the portable mode's verdict codes against the
// exact engine's, for the conformance scenarios it can run, on this host and
// in network namespaces of their own. Each mode runs in a child of its own,
// since the mode is fixed at load. (The choice of mode is 91-modes.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { namespaceBlocker, skipWithout } from './helpers/namespaces';

describe('the portable mode against the exact engine: the same verdict codes for the same conformance scenarios', () => {
  const FIXTURE = path.join(__dirname, 'fixtures', 'verdict-codes.js');
  type Report = { leftOut: Record<string, string[]>; verdicts: Record<string, { code: string; phase: string; exact: boolean }> };

  /** The fixture's report for a group, in a mode; a namespace group in a fresh `unshare -n`. */
  function report(group: string, mode: 'exact' | 'portable'): Report {
    const command = group === 'host' ? [process.execPath, FIXTURE, group] : ['unshare', '-n', process.execPath, FIXTURE, group];
    const env = { ...process.env, NBCONNECT_MODE: mode };
    const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8', env, timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Report;
  }

  // Where net says otherwise than the kernel's own call, and why; checked, not hidden.
  const DIFFERENT: Record<string, { exact: string; portable: string }> = {
    // The exact engine's bind(2) of ::1 on an AF_INET socket: EAFNOSUPPORT; net's bind reports EINVAL.
    'family mismatch, IPv6 localAddress': { exact: 'EAFNOSUPPORT', portable: 'EINVAL' },
  };

  const GROUPS: [string, string[]][] = [
    [
      'host',
      [
        'tcp4 success',
        'tcp6 success',
        'tcp4 refused',
        'tcp6 refused',
        'tcp4 timeout, full backlog',
        'unix immediate success',
        'unix EAGAIN, full backlog',
        'unix ECONNREFUSED, stale path',
        'unix ENOENT',
        'EADDRINUSE, localPort taken',
        'family mismatch, IPv6 localAddress',
        'self-connect tcp4',
        'self-connect tcp6',
      ],
    ],
    [
      'routes',
      [
        'EHOSTUNREACH, unreachable route',
        'EACCES, prohibit route',
        'EINVAL, blackhole route',
        'ENETUNREACH, throw route',
        'EADDRNOTAVAIL, localAddress not on this host',
      ],
    ],
    ['lo-down', ['ENETUNREACH, loopback down']],
  ];

  for (const [group, names] of GROUPS) {
    it(`${group === 'host' ? 'on this host' : `in a network namespace (${group})`}: ${names.length} scenarios`, function () {
      if (group !== 'host') skipWithout(this, namespaceBlocker(), 'network namespaces');
      const exact = report(group, 'exact');
      const portable = report(group, 'portable');
      assert.deepEqual(Object.keys(portable.verdicts), names);
      assert.deepEqual(Object.keys(exact.verdicts), names);
      // What the portable mode cannot run is said, and is the exact engine's alone.
      assert.deepEqual(portable.leftOut, exact.leftOut);
      if (group === 'host')
        assert.deepEqual(portable.leftOut, {
          'tcp4 kernel ETIMEDOUT, synCount 1': ['synCount'],
          'peer writes before the wait': ['waitDelay'],
          'peer resets before the wait': ['waitDelay'],
        });
      for (const name of names) {
        const e = exact.verdicts[name];
        const p = portable.verdicts[name];
        assert.deepEqual([e.exact, p.exact], [true, false], name);
        const expected = DIFFERENT[name] ?? { exact: e.code, portable: e.code };
        assert.deepEqual({ exact: e.code, portable: p.code }, expected, name);
        // Our deadline is ours in both; net cannot tell an immediate verdict from a later one.
        if (e.phase === 'timeout') assert.equal(p.phase, 'timeout', name);
        else assert.equal(p.phase, 'async', name);
      }
    });
  }
});
