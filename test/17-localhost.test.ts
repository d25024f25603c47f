// A name with an address of each family, ::1 first (localhost on many
// distributions), and a server on 127.0.0.1 only: Node 20 connects
// (autoSelectFamily is on by default), and so must connect() and
// createConnection(). The name is served by an /etc/hosts bind-mounted in a
// private mount namespace, so the machine's own is never touched.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { mountNamespaceBlocker, skipWithout } from './helpers/namespaces';

const FIXTURE = path.join(__dirname, 'fixtures', 'localhost-both.js');

describe('a name with both families, ::1 first', function () {
  this.timeout(60000);

  it('connect() and createConnection() race the addresses as Node does; autoSelectFamily: false takes the first; all failing is an AggregateError', function () {
    skipWithout(this, mountNamespaceBlocker(), 'mount namespaces');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-hosts-'));
    const hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, '::1 localhost\n127.0.0.1 localhost\n');
    try {
      const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "${hosts}" /etc/hosts && exec "${process.execPath}" "${FIXTURE}"`], {
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(report.lookup, ['::1', '127.0.0.1']);
      assert.equal(report.node, '127.0.0.1');
      assert.equal(report.raced, '127.0.0.1');
      assert.equal(report.single, 'ECONNREFUSED ::1');
      assert.equal(report.http, 'hello');
      // When every address fails, what Node gives: an AggregateError whose
      // code is the first error's, holding one error per address.
      assert.deepEqual(report.allFail, report.nodeAllFail);

      // probe races as connect() does: the winner's Outcome, with every
      // address's own Outcome in `attempts`; all failing is the first code.
      assert.deepEqual(report.probe, { ok: true, code: 'OK', address: '127.0.0.1', attempts: ['ECONNREFUSED ::1', 'OK 127.0.0.1'] });
      assert.deepEqual(report.probeAllFail, { ok: false, code: 'ECONNREFUSED', attempts: ['ECONNREFUSED ::1', 'ECONNREFUSED 127.0.0.1'] });
      assert.deepEqual(report.probeSingle, { code: 'ECONNREFUSED', address: '::1', attempts: 'none' });

      // connectSync tries them in turn and fails as Node fails.
      assert.equal(report.sync, '127.0.0.1');
      assert.deepEqual(report.syncAllFail, report.nodeAllFail);

      // The command, both ways: connected, and its trace says how ::1 failed.
      for (const run of [report.cli, report.cliSync]) {
        assert.equal(run.status, 0, run.stdout);
        assert.match(run.stdout, /\[::1\]:\d+ {2}=> ECONNREFUSED \(phase: async\)/);
        assert.match(run.stdout, /127\.0\.0\.1:\d+ {2}getpeername\(\) = 0/);
        assert.match(run.stdout, /\d ms {2}=> OK/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
