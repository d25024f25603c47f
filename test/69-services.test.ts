// The scan's service names: lib/services.ts reads services(5) text, the tcp
// entries only, and a file that is missing or not a services file gives no
// names rather than an error.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadServices, parseServices, SERVICES_FILE } from '../dist/lib/services';
import { skipWithout } from './helpers/namespaces';

// Lines of the shapes netbase's /etc/services holds, and some it never does.
const SAMPLE = [
  '# Network services, Internet style',
  '',
  'tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer',
  'ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol',
  'http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP',
  'https\t\t443/tcp\t\t\t\t# http protocol over TLS/SSL',
  'https\t\t443/udp\t\t\t\t# HTTP/3',
  // udp only: no tcp name for 53 from this line.
  'dns-udp-only\t53/udp',
  // A second name for a tcp port: the first one stands, as getservbyport(3) answers.
  'www-second\t80/tcp',
  'http-alt\t8080/tcp\twebcache\t# WWW caching service',
  // A Windows line ending, upper-case protocol.
  'printer\t\t515/TCP\r',
  // Not entries: no port, a port out of range, a port that is not a number, a comment only.
  'broken',
  'toobig\t\t70000/tcp',
  'zero\t\t0/tcp',
  'word\t\tabc/tcp',
  '\t# indented comment 9/tcp',
  'kerberos\t88/tcp#no space before the comment',
].join('\n');

describe('service names from services(5)', () => {
  it('takes the first tcp name of each port, and nothing from udp lines, comments or odd lines', () => {
    const names = parseServices(SAMPLE);
    assert.deepEqual(
      [...names].sort(([a], [b]) => a - b),
      [
        [1, 'tcpmux'],
        [22, 'ssh'],
        [80, 'http'],
        [88, 'kerberos'],
        [443, 'https'],
        [515, 'printer'],
        [8080, 'http-alt'],
      ],
    );
  });

  it('a file missing, a directory, a binary file or an empty one: no names, no error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-services-'));
    try {
      const binary = path.join(dir, 'binary');
      fs.writeFileSync(binary, Buffer.from([0, 255, 10, 0x2f, 0x74, 0x63, 0x70, 10, 0xc3]));
      const empty = path.join(dir, 'empty');
      fs.writeFileSync(empty, '');
      for (const file of [path.join(dir, 'missing'), dir, binary, empty]) assert.equal(loadServices(file).size, 0, file);
      const sample = path.join(dir, 'services');
      fs.writeFileSync(sample, SAMPLE);
      assert.equal(loadServices(sample).get(443), 'https');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a FIFO in place of the file gives no names at once: the read never waits for a writer', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-services-'));
    try {
      const fifo = path.join(dir, 'fifo');
      // mkfifo(1) is coreutils: present wherever the tests run.
      execFileSync('mkfifo', [fifo]);
      assert.equal(loadServices(fifo).size, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("this machine's own /etc/services, when it has one: names for the ports it lists", function () {
    // Absent, it is a skip that says so, and a failure under CI (.ci/run installs netbase for it).
    skipWithout(this, fs.existsSync(SERVICES_FILE) ? null : 'absent (Debian: netbase)', SERVICES_FILE);
    const names = loadServices();
    assert.ok(names.size > 0, 'names from the real file');
    for (const [port, name] of names) {
      assert.ok(Number.isInteger(port) && port >= 1 && port <= 65535, `${port}`);
      assert.match(name, /^[^\s#]+$/);
    }
    // Where the file lists http and https on tcp, those are the names.
    const text = fs.readFileSync(SERVICES_FILE, 'utf8');
    if (/^http\s+80\/tcp\b/m.test(text)) assert.equal(names.get(80), 'http');
    if (/^https\s+443\/tcp\b/m.test(text)) assert.equal(names.get(443), 'https');
  });
});
