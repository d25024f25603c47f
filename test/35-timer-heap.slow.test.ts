import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The deadlines' heap (native/timer_heap.h), compiled on its own with the
// compiler that built the addon: attempts leave it in order of their
// instant, and equal instants in the order they were pushed, as libuv's
// timers do (a binary heap alone gives ties no order).
describe('the timer heap', () => {
  it('fires in order of the instant, equal instants in push order, removals anywhere', function () {
    this.timeout(60000); // a compile on a loaded machine
    const root = path.join(__dirname, '..');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-heap-'));
    try {
      const binary = path.join(dir, 'timer_heap_test');
      execFileSync(
        process.env.CXX ?? 'c++',
        ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', path.join(root, 'test', 'native', 'timer_heap_test.cpp'), '-o', binary],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      // On failure it prints the first attempt out of order.
      const run = spawnSync(binary, { encoding: 'utf8' });
      assert.deepEqual({ status: run.status, out: run.stdout }, { status: 0, out: 'timer heap: 7 orders checked, equal instants in push order\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
