import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as fs from 'node:fs';
import type * as net from 'node:net';

import type { Target } from '../dist/lib';
import { tcpListener, unixListener } from './helpers/listeners';
import { connected, everyMode } from './helpers/modes';

// The peer greets first, then answers each chunk: data flows both ways.
function greeter(socket: net.Socket): void {
  socket.write('hello\n');
  socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
}

async function converse(socket: net.Socket): Promise<string> {
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  while (!received.includes('hello\n')) await once(socket, 'data');
  socket.write('ping');
  while (!received.includes('echo:ping')) await once(socket, 'data');
  socket.destroy();
  await once(socket, 'close');
  return received;
}

describe('toSocket() hands the fd to a net.Socket', () => {
  for (const { label, attempt } of everyMode()) {
    it(`carries data both ways over TCP and AF_UNIX (${label})`, async () => {
      const tcp = await tcpListener('127.0.0.1', greeter);
      const unix = await unixListener(greeter);
      try {
        for (const target of [{ host: '127.0.0.1', port: tcp.port }, { path: unix.path }] as Target[]) {
          const connection = connected(await attempt(target));
          const fd = connection.fd;
          const socket = connection.toSocket();
          assert.equal(connection.fd, -1, 'the Connection gives the fd up');
          // One state, one error: the same as tcpInfo() on a closed connection.
          assert.throws(() => connection.toSocket(), { code: 'ERR_SOCKET_CLOSED', message: /already closed or handed over/ });
          connection.close(); // a no-op: the socket owns the fd now
          assert.ok(fs.fstatSync(fd).isSocket());
          if (typeof target === 'object' && 'port' in target) assert.equal(socket.remotePort, tcp.port);
          assert.equal(await converse(socket), 'hello\necho:ping');
        }
      } finally {
        await tcp.close();
        await unix.close();
      }
    });
  }
});
