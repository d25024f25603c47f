// A real Jest run (the runner most users test with) whose test file loads
// nbconnect at the top and resets the module registry before each test:
// every test then gets a fresh copy of the JS layer over the one addon Node
// caches. Each copy must get exactly its own results, the copy loaded at
// the top included, with the default wait and with poll and select.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');

// Plain CommonJS, as a user's test file would be. Two listeners, so that a
// result handed to the wrong copy shows as the wrong remote port.
const SPEC = (lib: string) => `
const net = require('node:net');
const top = require(${JSON.stringify(lib)});

let servers;
const listen = () => new Promise((resolve) => {
  const server = net.createServer((s) => s.on('error', () => {}).end());
  server.listen(0, '127.0.0.1', () => resolve(server));
});
const port = (server) => server.address().port;

beforeAll(async () => { servers = [await listen(), await listen()]; });
afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));
beforeEach(() => jest.resetModules());

async function expectOwn(lib, server, wait) {
  const c = await lib.connect({ host: '127.0.0.1', port: port(server) }, { wait, timeout: 3000 });
  try {
    expect(c.remotePort).toBe(port(server));
  } finally {
    c.close();
  }
}

for (const wait of ['epoll', 'poll', 'select', undefined]) {
  for (let round = 0; round < 3; round++) {
    test('a fresh copy, wait ' + wait + ', round ' + round + ', beside the copy from the top', async () => {
      const fresh = require(${JSON.stringify(lib)});
      expect(fresh).not.toBe(top);
      const both = [];
      for (let i = 0; i < 20; i++) {
        both.push(expectOwn(fresh, servers[0], wait));
        both.push(expectOwn(top, servers[1], wait === 'poll' ? 'epoll' : 'poll'));
      }
      await Promise.all(both);
    });
  }
}

test('probe through a fresh copy and the top copy at once', async () => {
  const fresh = require(${JSON.stringify(lib)});
  const [a, b] = await Promise.all([fresh.probe({ host: '127.0.0.1', port: port(servers[0]) }), top.probe({ host: '127.0.0.1', port: port(servers[1]) })]);
  expect([a.ok, b.ok]).toEqual([true, true]);
});
`;

describe('Jest with resetModules', function () {
  this.timeout(180000);

  it(`a test file that loads nbconnect at the top and resets modules before each test: ${4 * 3 + 1} tests pass, no crash`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-jest-'));
    try {
      fs.writeFileSync(path.join(dir, 'copies.test.js'), SPEC(path.join(ROOT, 'dist', 'lib')));
      fs.writeFileSync(path.join(dir, 'jest.config.js'), "module.exports = { testEnvironment: 'node', testTimeout: 20000 };\n");
      const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [JEST, '--ci', '--json', '--runInBand', '--rootDir', dir],
          { cwd: dir, timeout: 150000, maxBuffer: 1 << 24 },
          (_err, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
        );
      });
      assert.equal(signal, null, `jest was killed by ${signal}: ${stderr.slice(-3000)}`);
      assert.equal(code, 0, `jest exited with ${code}: ${stderr.slice(-3000)}`);
      const report = JSON.parse(stdout) as { numPassedTests: number; numFailedTests: number; numTotalTests: number };
      assert.deepEqual([report.numPassedTests, report.numFailedTests], [13, 0], stderr.slice(-3000));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
