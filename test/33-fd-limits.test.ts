// The fd table's limits: RLIMIT_NOFILE (EMFILE at socket), and ephemeral
// ports (EADDRNOTAVAIL at connect). The FD_SETSIZE limit of select(2) is in
// 10-fd-hygiene.test.js.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { namespaceBlocker, skipWithout } from './helpers/namespaces';

const ROOT = path.join(__dirname, '..');

describe('fd limits', function () {
  this.timeout(60000);

  it('under a low RLIMIT_NOFILE: EMFILE at the socket step, sync and async, no crash; connects work once fds are freed', () => {
    const fixture = path.join(__dirname, 'fixtures', 'emfile.js');
    const r = spawnSync('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${fixture}"`], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.filled, 'EMFILE');
    const atSocket = { code: 'EMFILE', phase: 'immediate', syscall: 'socket', step: { call: 'socket', ret: -1, code: 'EMFILE' }, steps: 1 };
    assert.deepEqual(report.sync, atSocket);
    assert.deepEqual(report.async, atSocket);
    assert.equal(report.syncAfter, 'connected');
    assert.equal(report.asyncAfter, 'connected');
  });

  it('ephemeral ports exhausted (a two-port ip_local_port_range in a namespace): EADDRNOTAVAIL at connect, exactly', function () {
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    const script = `
      const net = require('node:net');
      const { connect, connectSync } = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib'))});
      const server = net.createServer(() => {}).listen(5000, '127.0.0.1', async () => {
        const held = [];
        const out = [];
        for (let i = 0; i < 3; i++) {
          try { const c = connectSync('127.0.0.1:5000'); held.push(c); out.push(c.localPort); }
          catch (e) { out.push({ code: e.code, syscall: e.syscall, phase: e.phase, calls: e.steps.map((s) => s.call + (s.code ? ' ' + s.code : '')) }); }
        }
        out.push(await connect('127.0.0.1:5000').then((c) => (held.push(c), 'connected'), (e) => e.code + ' ' + e.syscall));
        held.forEach((c) => c.close());
        server.close();
        console.log(JSON.stringify(out));
      });`;
    const shell = `ip link set lo up && sysctl -qw net.ipv4.ip_local_port_range="40000 40001" && exec "${process.execPath}" -e '${script.replace(/'/g, `'\\''`)}'`;
    const r = spawnSync('unshare', ['-n', 'sh', '-c', shell], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    const [a, b, third, asyncOne] = JSON.parse(r.stdout);
    assert.deepEqual([a, b].sort(), [40000, 40001]);
    assert.deepEqual(third, {
      code: 'EADDRNOTAVAIL',
      syscall: 'connect',
      phase: 'immediate',
      calls: ['socket', 'fcntl', 'fcntl', 'connect EADDRNOTAVAIL', 'close'],
    });
    assert.equal(asyncOne, 'EADDRNOTAVAIL connect');
  });
});
