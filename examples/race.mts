// connectAny in TypeScript: two loopback addresses race (RFC 8305), the
// first refuses, the second connects; every attempt is typed as it is
// reported. Compile and run:  npx tsc -p examples && node examples/dist/race.mjs
import * as net from 'node:net';

import { connectAny, formatTrace, type ConnectAnyResult, type RaceAttempt } from 'nbconnect';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

const live = net.createServer((socket) => socket.end());
const closed = net.createServer();
const port = await listen(live);
const refused = await listen(closed); // listened on, then closed: nothing is there
await new Promise((resolve) => closed.close(resolve));

const result: ConnectAnyResult = await connectAny([`127.0.0.1:${refused}`, `127.0.0.1:${port}`], { delay: 100, timeout: 2000 });
const line = (a: RaceAttempt) =>
  `${a.result.padEnd(11)} ${'address' in a.target ? `${a.target.address}:${a.target.port}` : ''}${a.error ? ` ${a.error.code}` : ''}`;
for (const attempt of result.attempts) console.log(line(attempt));
console.log(`winner: attempt ${result.winner + 1}, ${result.connection.remoteAddress}`);
result.connection.close();
// Why the first lost, syscall by syscall.
const [first] = result.attempts;
if (first.error) console.log(formatTrace(first.error));
live.close();
