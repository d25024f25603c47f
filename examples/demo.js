'use strict';
// npm start: four connects against listeners this script starts itself, all
// on loopback or AF_UNIX, each with its syscall trace.
const { probe, connect, formatTrace } = require('..');
const { tcpListener, unixListener, refusedPort, blackHole } = require('./peers');

async function main() {
  const tcp = await tcpListener('127.0.0.1');
  const unix = await unixListener();
  const refused = await refusedPort();
  const hole = await blackHole();
  try {
    const cases = [
      ['TCP success: EINPROGRESS, then epoll_wait says EPOLLOUT, then SO_ERROR 0', { host: '127.0.0.1', port: tcp.port }, {}],
      ['AF_UNIX: connect() returns 0, an immediate success', { path: unix.path }, {}],
      ['Refused: SO_ERROR says ECONNREFUSED', { host: '127.0.0.1', port: refused }, { wait: 'select' }],
      ['Timeout: a full-backlog listener never answers; our 250 ms deadline does', { host: '127.0.0.1', port: hole.port }, { timeout: 250 }],
    ];
    for (const [title, target, options] of cases) {
      const outcome = await probe(target, options);
      const where = 'path' in outcome.target ? outcome.target.path : `${outcome.target.address}:${outcome.target.port}`;
      console.log(
        `\n${title}\n  probe(${where}${options.wait ? `, { wait: '${options.wait}' }` : ''}${options.timeout ? `, { timeout: ${options.timeout} }` : ''})`,
      );
      console.log(formatTrace(outcome));
    }

    console.log('\nThe error connect() rejects with carries the same trace:');
    const error = await connect({ host: '127.0.0.1', port: refused }).catch((e) => e);
    console.log(`  ${error.name}: ${error.message}`);
    console.log(`  code ${error.code}, errno ${error.errno} (posixErrno ${error.posixErrno}), syscall ${error.syscall}, phase ${error.phase}`);
  } finally {
    await tcp.close();
    await unix.close();
    await hole.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
