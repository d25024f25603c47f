'use strict';
// The scan row of npm run bench, run by bench/run.js inside `unshare -n`:
//
//   unshare -n node bench/scan.js <listener binary> <reps> [nmap]
//
// A scan of every port must never sweep the machine's own loopback, where
// its services listen: this network namespace is the run's own, its
// loopback holds only the benchmark's listener (bench/reference/listener.c)
// started here. `nbconnect scan 127.0.0.1 1-65535` and, when given, `nmap
// -sT -T5 -p1-65535 -n -Pn 127.0.0.1` run interleaved, the first rotating,
// then both over 1-10000; each run must report exactly the listener's port
// open (or none, when the range does not hold it). Prints
// { "rows": { "65535": { driver: [{ seconds }] }, "10000": ... } } on stdout.
const { execFileSync, spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const [listenerBinary, repsText, nmap] = process.argv.slice(2);
const REPS = Number(repsText);

/** Runs a scanner to its end: the wall time, and its stdout to check. */
function timed(command, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) reject(new Error(`${command} exited ${code}`));
      else resolve({ seconds, out });
    });
  });
}

async function main() {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const listener = spawn(listenerBinary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { port } = JSON.parse(await new Promise((resolve) => readline.createInterface({ input: listener.stdout }).once('line', resolve)));
  // What each scanner prints when it found the listener (if the range holds
  // its port) and nothing else.
  const rows = {};
  try {
    for (const last of [65535, 10000]) {
      const range = `1-${last}`;
      const open = port <= last ? `${port}/tcp open ` : '';
      const drivers = {
        'nbconnect scan': {
          run: () => timed(process.execPath, [path.join(__dirname, '..', 'bin', 'nbconnect.js'), 'scan', '127.0.0.1', range]),
          // nmap's row for the open port, and no port filtered. A port of
          // the kernel's ephemeral range can be one the scan's own socket was
          // bound to (about once a full scan): it connects to itself, and that is
          // named, ESELFCONNECT, as "other", never counted open (nmap counts it open).
          found: (out) => {
            const others = out.match(/^[0-9]+\/tcp +other .*$/gm) ?? [];
            const counts = new RegExp(`: ${open ? 1 : 0} open, [0-9]+ closed, 0 filtered, ${others.length} other$`, 'm');
            return (out.match(/^[0-9]+\/tcp +open /gm) ?? []).join() === open && counts.test(out) && others.every((row) => / ESELFCONNECT$/.test(row));
          },
        },
      };
      if (nmap)
        drivers['nmap -sT -T5'] = {
          run: () => timed(nmap, ['-sT', '-T5', `-p${range}`, '-n', '-Pn', '127.0.0.1']),
          found: (out) => (out.match(/^[0-9]+\/tcp +open /gm) ?? []).join() === open,
        };
      const names = Object.keys(drivers);
      const runs = Object.fromEntries(names.map((d) => [d, []]));
      for (let rep = 0; rep < REPS; rep++)
        for (let i = 0; i < names.length; i++) {
          const name = names[(i + rep) % names.length];
          const { seconds, out } = await drivers[name].run();
          if (!drivers[name].found(out)) throw new Error(`${name} ${range} did not report exactly ${open ? `port ${port}` : 'no port'} open:\n${out}`);
          runs[name].push({ seconds });
        }
      rows[last] = runs;
    }
  } finally {
    listener.stdin.end();
  }
  process.stdout.write(JSON.stringify({ rows }));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
