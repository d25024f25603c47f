'use strict';
// TLS over an nbconnect connection: connect() with a deadline, toSocket() to
// hand the fd to a net.Socket, then tls.connect({ socket }) for the handshake.
const tls = require('node:tls');
const { connect } = require('nbconnect');
const { testCertificate } = require('./peers'); // a throwaway self-signed certificate

async function main() {
  const { key, cert } = testCertificate();
  const server = tls.createServer({ key, cert }, (s) => s.end('hello over TLS\n')).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));

  const connection = await connect({ host: '127.0.0.1', port: server.address().port }, { timeout: 1000, noDelay: true });
  console.log(`connected in ${connection.elapsed.toFixed(2)} ms (${connection.immediate ? 'immediate' : 'after poll'})`);
  const secure = tls.connect({ socket: connection.toSocket(), ca: cert, servername: 'localhost' });
  secure.setEncoding('utf8');
  secure.on('secureConnect', () => console.log(`TLS ${secure.getProtocol()}, certificate verified: ${secure.authorized}`));
  secure.on('data', (text) => process.stdout.write(`server says: ${text}`));
  secure.on('end', () => server.close());
}

main();
