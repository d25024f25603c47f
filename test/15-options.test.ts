import assert from 'node:assert/strict';
import type { ConnectOptions } from '../dist/lib';
import { refusedPort, tcpListener, unixListener } from './helpers/listeners';
import { connected, everyMode } from './helpers/modes';

const TCP_OPTIONS: [keyof ConnectOptions, number | boolean, string][] = [
  ['noDelay', true, 'TCP_NODELAY'],
  ['synCount', 2, 'TCP_SYNCNT'],
  ['userTimeout', 1500, 'TCP_USER_TIMEOUT'],
  ['bindAddressNoPort', true, 'IP_BIND_ADDRESS_NO_PORT'],
  ['linger0', true, 'SO_LINGER'],
];

describe('options are set before connect, each traced as a setsockopt step', () => {
  for (const { label, attempt } of everyMode()) {
    it(`every TCP option, alone and together (${label})`, async () => {
      const listener = await tcpListener('127.0.0.1');
      try {
        for (const [name, value, arg] of TCP_OPTIONS) {
          const connection = connected(await attempt({ host: '127.0.0.1', port: listener.port }, { [name]: value }));
          const steps = connection.steps.filter((s) => s.call === 'setsockopt');
          assert.deepEqual(
            steps.map((s) => [s.arg, s.ret]),
            [[arg, 0]],
            name,
          );
          const connectAt = connection.steps.findIndex((s) => s.call === 'connect');
          assert.ok(connection.steps.indexOf(steps[0]) < connectAt, `${name} before connect`);
          connection.close();
        }
        const all = Object.fromEntries(TCP_OPTIONS.map(([name, value]) => [name, value]));
        const connection = connected(await attempt({ host: '127.0.0.1', port: listener.port }, { ...all, localAddress: '127.0.0.1' }));
        const calls = connection.steps.map((s) => s.arg ?? s.call);
        assert.deepEqual(calls.slice(3, 10), ['SO_LINGER', 'TCP_NODELAY', 'TCP_SYNCNT', 'TCP_USER_TIMEOUT', 'IP_BIND_ADDRESS_NO_PORT', 'bind', 'connect']);
        assert.equal(connection.localAddress, '127.0.0.1');
        connection.close();
      } finally {
        await listener.close();
      }
    });

    it(`localPort binds the port asked for (${label})`, async () => {
      const listener = await tcpListener('127.0.0.1');
      const localPort = await refusedPort();
      try {
        const connection = connected(await attempt({ host: '127.0.0.1', port: listener.port }, { localPort }));
        const bind = connection.steps.find((s) => s.call === 'bind');
        assert.equal(bind?.ret, 0);
        assert.equal(connection.localPort, localPort);
        connection.close();
      } finally {
        await listener.close();
      }
    });

    it(`linger0 applies to AF_UNIX too (${label})`, async () => {
      const listener = await unixListener();
      try {
        const connection = connected(await attempt({ path: listener.path }, { linger0: true }));
        assert.deepEqual(
          connection.steps.filter((s) => s.call === 'setsockopt').map((s) => s.arg),
          ['SO_LINGER'],
        );
        connection.close();
      } finally {
        await listener.close();
      }
    });
  }
});
