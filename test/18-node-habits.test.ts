// Habits Node users bring: a default import, a host Node would look up,
// and the errno a lookup failure carries.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { connect } from '../dist/lib';
import { tcpListener } from './helpers/listeners';
import { namespaceBlocker, skipWithout } from './helpers/namespaces';

const ROOT = path.join(__dirname, '..');

describe('Node habits', () => {
  it("import nb from 'nbconnect' works, as import net from 'node:net' does: the default is the module", async () => {
    const esm = await import(path.join(ROOT, 'esm', 'index.mjs'));
    // The CommonJS module object itself, as require() gives it: an import would wrap it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    assert.equal(esm.default, require(path.join(ROOT, 'dist', 'lib')));
    assert.equal(esm.default.connect, esm.connect);
  });

  it("'127.1' is looked up as a name, as Node does (getaddrinfo reads it as 127.0.0.1), not refused", async () => {
    const live = await tcpListener('127.0.0.1');
    try {
      const c = await connect({ host: '127.1', port: live.port });
      assert.equal(c.remoteAddress, '127.0.0.1');
      assert.equal('host' in c.target && c.target.host, '127.1');
      c.close();
    } finally {
      await live.close();
    }
  });

  it("the shipped docs say what a lookup failure carries: dns's own errno", () => {
    // Making one would send a DNS query off this machine; the declaration
    // that users read is checked instead.
    const dts = fs.readFileSync(path.join(ROOT, 'dist', 'lib', 'errors.d.ts'), 'utf8');
    assert.doesNotMatch(dts, /undefined for[^.]*ENOTFOUND/);
    assert.match(dts, /-3008/);
  });

  it('a link-local address keeps its zone in remoteAddress and localAddress (fe80::1%lo), as net.Socket reports it', function () {
    this.timeout(30000);
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    const r = spawnSync('unshare', ['-n', process.execPath, path.join(__dirname, 'fixtures', 'link-local.js')], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.node, { remote: 'fe80::1%lo', local: 'fe80::1%lo', family: 'IPv6' });
    assert.deepEqual(report.async, { remote: 'fe80::1%lo', local: 'fe80::1%lo', family: 'IPv6' });
    assert.deepEqual(report.sync, report.async);
    assert.deepEqual(report.raw, report.async);
  });
});
