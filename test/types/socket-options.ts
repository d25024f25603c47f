// The socket options, tcpInfo and the tracing channel as a strict user
// writes them; each misuse below must be a compile error.
import * as diagnosticsChannel from 'node:diagnostics_channel';

import { connect, connectChannel, probe, raw, type ConnectOptions, type ConnectTraceContext, type TcpInfo } from '../../dist/lib';

const options: ConnectOptions = {
  bindToDevice: 'eth0',
  tos: 0x10,
  mark: 42,
  keepAlive: { idle: 60, interval: 10, count: 5 },
  sendBufferSize: 1 << 16,
  receiveBufferSize: 1 << 17,
  maxSegment: 1200,
  congestion: 'cubic',
  fastOpen: true,
  mptcp: 'prefer',
  setsockopt: [
    { level: 'SOL_SOCKET', name: 'SO_PRIORITY', value: 6 },
    { level: 6, name: 37, value: Buffer.from([1, 0, 0, 0]) },
  ],
};
void connect('127.0.0.1:80', { ...options, keepAlive: true, mptcp: true });
void connect('127.0.0.1:80').then((c) => {
  const info: TcpInfo = c.tcpInfo();
  const rttMs: number = info.rtt / 1000;
  const state: string = info.state;
  void rttMs;
  void state;
});
void probe('127.0.0.1:80').then((o) => o.tcpInfo?.rttVar);
raw.setsockopt(3, 'TCP_NODELAY', true);
raw.setsockopt(3, 'SOL_SOCKET', 'SO_PRIORITY', 6);
raw.setsockopt(3, 'IPPROTO_TCP', 37, 1);
const tos: number | undefined = raw.getsockopt(3, 'IP_TOS').value;
void tos;
connectChannel.asyncEnd.subscribe((message) => {
  const context = message as ConnectTraceContext;
  void context.outcome?.steps.length;
});
void diagnosticsChannel.tracingChannel('nbconnect:connect');

// Misuse is a compile error.
// @ts-expect-error: a type of service is a number
void connect('127.0.0.1:80', { tos: 'lowdelay' });
// @ts-expect-error: keepAlive's times are numbers of seconds
void connect('127.0.0.1:80', { keepAlive: { idle: '60s' } });
// @ts-expect-error: mptcp is true, false or 'prefer'
void connect('127.0.0.1:80', { mptcp: 'require' });
// @ts-expect-error: not an option name nbconnect knows
void connect('127.0.0.1:80', { setsockopt: [{ level: 'SOL_SOCKET', name: 'SO_NOSUCH', value: 1 }] });
// @ts-expect-error: not a level name
void connect('127.0.0.1:80', { setsockopt: [{ level: 'SOL_NOSUCH', name: 'SO_MARK', value: 1 }] });
// @ts-expect-error: a value is an int or bytes
void connect('127.0.0.1:80', { setsockopt: [{ level: 'SOL_SOCKET', name: 'SO_MARK', value: '1' }] });
// @ts-expect-error: a device is named by a string
void connect('127.0.0.1:80', { bindToDevice: 2 });
// @ts-expect-error: fastOpen is a boolean
void connect('127.0.0.1:80', { fastOpen: 1 });
// @ts-expect-error: an option by number needs its level
raw.setsockopt(3, 37, 1);
// @ts-expect-error: tcpInfo is a method of a connection, not a property
void connect('127.0.0.1:80').then((c) => c.tcpInfo.rtt);
