import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { addon } from '../dist/lib/binding';
import { ARG_NAMES, SOCKET_LEVEL_NAMES, SOCKET_OPTION_NAMES, SYSCALL_NAMES, TCP_INFO_FIELDS } from '../dist/lib/vocabulary';

// lib/vocabulary.ts is generated from the addon's tables (npm run vocabulary)
// and checked in, so that lib/ and its types need no addon. It must still
// be what this addon says, name for name and in order.
describe('the vocabulary: one definition, in native/', () => {
  it("lib/vocabulary.ts is what scripts/vocabulary.js makes from this build's tables", () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'vocabulary.js'), '--check'], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
  });

  it("each table, in the addon's own order", () => {
    const { layout } = addon;
    assert.deepEqual(
      layout.socketLevels.map(([name]) => name),
      [...SOCKET_LEVEL_NAMES],
    );
    assert.deepEqual(
      layout.socketOptions.map(([name]) => name),
      [...SOCKET_OPTION_NAMES],
    );
    assert.deepEqual(layout.calls, [...SYSCALL_NAMES]);
    assert.deepEqual(
      layout.args.filter((name) => name !== null),
      [...ARG_NAMES],
    );
    assert.deepEqual(layout.tcpInfo, [...TCP_INFO_FIELDS]);
  });

  it('lib/ loads without the addon: the portable mode reads the checked-in names', () => {
    const script = `const v = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'lib', 'vocabulary'))}); require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'lib'))}); console.log(v.SOCKET_OPTION_NAMES.length)`;
    // A binary that does not exist: were the addon loaded, this would fail.
    const env = { ...process.env, NBCONNECT_MODE: 'portable', NBCONNECT_ADDON: '/nonexistent/nbconnect.node' };
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env, timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(SOCKET_OPTION_NAMES.length));
  });
});
