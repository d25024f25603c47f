// The shipped types as a strict TypeScript user meets them: tsc over the
// consumer files in test/types (exactOptionalPropertyTypes on), where each
// misuse carries @ts-expect-error, so a misuse that compiles fails too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

describe('types', function () {
  this.timeout(120000);

  it("the README's HTTP usage type-checks without a cast (http.Agent, https.Agent, http.get, http.request, undici), and misuse does not", () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'test', 'types')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});
