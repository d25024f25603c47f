// The API reference builds from the doc comments, and every exported name
// has one: typedoc.json treats a warning (an undocumented export, a broken
// link) as an error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

describe('the API reference', function () {
  this.timeout(120000);

  it('builds with TypeDoc without a warning, covering every exported name', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-docs-'));
    try {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /warning/i);
      const index = fs.readFileSync(path.join(out, 'modules', 'index.html'), 'utf8');
      // The CommonJS module object itself, as require() gives it: an import would wrap it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const names = Object.keys(require('../dist/lib')).filter((k) => k !== '__esModule');
      for (const name of names) assert.match(index, new RegExp(`>${name}<`), `${name} is in the reference`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
