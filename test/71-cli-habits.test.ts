// The command as a user meets it: a trace that reads forwards in time,
// abstract unix sockets by the '@' name ss(8) and socat print, --version.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PYTHON, tcpListener } from './helpers/listeners';
import { BIN, nbconnect } from './helpers/command';
import { inNetworkNamespace, namespaceBlocker, skipWithout } from './helpers/namespaces';

// Listens on the abstract name argv[1], never accepts, and exits when its
// stdin closes.
const ABSTRACT_LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind('\\0' + sys.argv[1])
s.listen(8)
print('ready', flush=True)
sys.stdin.read()
`;

const timesOf = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => Number(/^\s*([0-9.]+) ms/.exec(line)![1]));

describe('the command, as a user meets it', () => {
  it('--sync: every line, the verdict included, is in time order (the close after the verdict comes last)', async () => {
    const live = await tcpListener('127.0.0.1');
    try {
      const { status, stdout } = await nbconnect(`127.0.0.1:${live.port}`, '--sync');
      assert.equal(status, 0, stdout);
      const times = timesOf(stdout);
      for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1], `line ${i + 1} goes back in time:\n${stdout}`);
      const lines = stdout.trimEnd().split('\n');
      assert.match(lines.at(-1)!, /close\(\) = 0$/);
      assert.match(lines.at(-2)!, /=> OK \(phase: async\)$/);
    } finally {
      await live.close();
    }
  });

  it('unix:@name reaches an abstract socket, as ss(8) and socat name them', async () => {
    const name = `nbconnect-test-${process.pid}`;
    // Not net.Server: libuv pads an abstract name to all 108 bytes of
    // sun_path (ss shows @name@@@...), a different name from the one
    // anyone else writes. python binds the exact name.
    const peer = spawn(PYTHON, ['-c', ABSTRACT_LISTENER, name], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      peer.stdout.once('data', resolve);
      peer.once('exit', (code) => reject(new Error(`the python listener exited with ${code}`)));
    });
    try {
      const { status, stdout } = await nbconnect(`unix:@${name}`, '--json');
      assert.equal(status, 0, stdout);
      const outcome = JSON.parse(stdout);
      assert.equal(outcome.code, 'OK');
      assert.equal(outcome.phase, 'immediate');
      assert.equal(outcome.target.path, `\0${name}`);
    } finally {
      peer.stdin.end();
    }
  });

  it('--version prints the package version', async () => {
    const { status, stdout } = await nbconnect('--version');
    assert.equal(status, 0);
    const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(stdout, `${version}\n`);
  });
});

describe('the command in a pipeline', () => {
  it('a reader that stops early (| head -1) ends it quietly, exit 0, no stack trace', async function () {
    // The scan runs in a network namespace of its own: its loopback holds
    // nothing, so each of the 4,000 ports prints a line (refused).
    skipWithout(this, namespaceBlocker(), 'network namespaces');
    const [unshare, args] = inNetworkNamespace([], BIN, ['scan', '127.0.0.1', '1-4000', '--json']);
    const child = spawn(unshare, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Like head -1: read the first chunk, then close the pipe.
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const { state, code } = JSON.parse(first.split('\n')[0]) as { state: string; code: string };
    assert.deepEqual({ state, code }, { state: 'closed', code: 'ECONNREFUSED' });
    assert.equal(stderr, '');
    assert.equal(status, 0);
  });
});
