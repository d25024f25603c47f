// Type test: the README's HTTP usage compiles under strict TypeScript with
// @types/node and undici's own types, without a cast; misuse does not.
// Checked by test/30-types.test.js (tsc -p test/types); never run.
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { Agent as UndiciAgent, Client as UndiciClient } from 'undici';

import { createConnection } from '../../dist/lib';

const connectFn = createConnection({ timeout: 2000 });

// http.Agent and https.Agent: assign the agent's method.
const agent = new http.Agent({ keepAlive: true });
agent.createConnection = connectFn;
const secureAgent = new https.Agent();
secureAgent.createConnection = createConnection({ timeout: 2000, tls: { rejectUnauthorized: false } });

// http.get and http.request with the option.
http.get('http://127.0.0.1:8080/', { createConnection: connectFn }, (res) => res.resume());
http.request({ host: '127.0.0.1', port: 8080, createConnection: connectFn }).end();
https.request({ host: 'localhost', port: 8443, createConnection: createConnection({ tls: true }) }).end();

// undici: the connect option of Agent and Client.
new UndiciAgent({ connect: connectFn });
new UndiciClient('http://127.0.0.1:8080', { connect: connectFn });

// Called by hand, it calls back with a net.Socket, or an Error and null.
connectFn({ host: '127.0.0.1', port: 8080 }, (err: Error | null, socket: net.Socket | null) => {
  if (err) return void err.message;
  socket?.end();
});

// Misuse is a compile error.
// @ts-expect-error: the deadline is a number of ms
createConnection({ timeout: '2s' });
// @ts-expect-error: not a wait syscall
createConnection({ wait: 'kqueue' });
// @ts-expect-error: the signal belongs to one connect, not to every connection an agent makes
createConnection({ signal: new AbortController().signal });
// @ts-expect-error: tls takes a boolean or TLS options
createConnection({ tls: 'yes' });
// @ts-expect-error: the options are an object, as the clients pass them
connectFn('127.0.0.1:8080', () => {});
// @ts-expect-error: a port is a number or a numeric string
connectFn({ host: '127.0.0.1', port: true }, () => {});
// @ts-expect-error: the callback gets an Error, not a string
connectFn({ host: '127.0.0.1' }, (err: string | null) => void err);
