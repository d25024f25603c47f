import type * as net from 'node:net';
import * as tls from 'node:tls';

import { connect } from './connect';
import { ConnectError, invalidArgType, tlsTimedOut } from './errors';
import type { ConnectOptions, Target } from './types';
import { prepare } from './validate';
import { setLongTimeout } from './timers';
import { validateFunction, validateObject, validateString } from './validators';

/** `connect`'s options (the signal aside), applied to every connection, plus TLS. */
export interface CreateConnectionOptions extends Omit<ConnectOptions, 'signal'> {
  /**
   * Wrap the socket in TLS with tls.connect({ socket, ... }). `true` or TLS
   * options force it; absent, TLS is used when the client asks for
   * 'https:' (undici passes `protocol`; an https.Agent has it).
   * The deadline (`timeout`) covers the handshake too.
   */
  tls?: boolean | tls.ConnectionOptions;
}

/**
 * What http.Agent, https.Agent, http.request and undici pass; only these
 * fields are read, and https.Agent's TLS fields (ca, cert, key,
 * rejectUnauthorized, ALPNProtocols, ...) pass through to tls.connect.
 * Each is as loose as the loosest of those clients types it, so that the
 * function fits all of them without a cast.
 */
export interface ClientConnectOptions {
  host?: string | null | undefined;
  hostname?: string | null | undefined;
  port?: number | string | null | undefined;
  protocol?: string | null | undefined;
  socketPath?: string | null | undefined;
  servername?: string | null | undefined;
  localAddress?: string | null | undefined;
  family?: number | null | undefined;
}

/** Called once: with null and the connected (for https, secured) socket, or with the error and null. */
export type ConnectCallback = (...args: [err: null, socket: net.Socket] | [err: Error, socket: null]) => void;

/**
 * The function `createConnection` returns, typed for each client that calls
 * it: Node's http/https (`agent.createConnection`, the `createConnection`
 * request option) and undici's `connect` option. It returns undefined and
 * calls back once.
 */
export interface CreateConnectionFunction {
  /** Node's http.Agent, https.Agent and http.request call it so. */
  (options: ClientConnectOptions, callback?: (err: Error | null, socket: net.Socket) => void): undefined;
  /** undici's Agent and Client call it so. */
  (options: ClientConnectOptions, callback: ConnectCallback): undefined;
}

/**
 * A connect function for HTTP clients, with a real connect deadline and
 * nbconnect's exact errors (ConnectError, with steps). The same function
 * fits Node's http/https and undici:
 *
 *   agent.createConnection = createConnection({ timeout: 2000 });  // http.Agent, https.Agent
 *   http.request(url, { createConnection: createConnection({ timeout: 2000 }) });
 *   new undici.Agent({ connect: createConnection({ timeout: 2000 }) });
 *
 * Called as (options, callback): it returns nothing and calls back once,
 * with the socket or the error. It connects with `connect` (socket, fcntl,
 * setsockopt, bind, connect, poll/select, getsockopt SO_ERROR), hands the fd
 * to a net.Socket, and for https wraps it with tls.connect({ socket }),
 * calling back after 'secureConnect'. A host name with several addresses
 * races them, as net.connect does with autoSelectFamily (Node 20's default).
 */
export function createConnection(defaults: CreateConnectionOptions = {}): CreateConnectionFunction {
  validateObject(defaults, 'options');
  const { tls: tlsDefault, ...connectDefaults } = defaults;
  if (tlsDefault !== undefined && typeof tlsDefault !== 'boolean' && (tlsDefault === null || typeof tlsDefault !== 'object'))
    throw invalidArgType('options.tls', 'of type boolean or an object of TLS options', tlsDefault);
  prepare('127.0.0.1:0', connectDefaults); // the socket options, checked once, now

  return function nbconnectCreateConnection(this: unknown, options: ClientConnectOptions, callback?: ConnectCallback): undefined {
    validateFunction(callback, 'callback');
    let called = false;
    const once: ConnectCallback = (...args) => {
      if (called) return;
      called = true;
      callback(...args);
    };
    const fail = (err: Error) => once(err, null);
    let target: Target;
    const settings: ConnectOptions = { ...connectDefaults };
    try {
      target = targetOf(options);
      if (typeof options.localAddress === 'string' && settings.localAddress === undefined) settings.localAddress = options.localAddress;
      if ((options.family === 4 || options.family === 6) && settings.family === undefined && !('path' in (target as object))) settings.family = options.family;
      prepare(target, settings);
    } catch (err) {
      process.nextTick(fail, err);
      return;
    }
    // undici passes the protocol; as an https.Agent's method, the agent has it.
    const protocol = options.protocol ?? (this as { protocol?: unknown } | undefined)?.protocol;
    const useTls = tlsDefault === undefined ? protocol === 'https:' : tlsDefault !== false;
    const startedAt = performance.now();
    connect(target, settings).then(
      (connection) => {
        const socket = connection.toSocket();
        if (!useTls) return once(null, socket);
        secure(socket, options, tlsDefault, connectDefaults.timeout, startedAt, once);
      },
      (err: ConnectError) => fail(err),
    );
    return undefined;
  } as CreateConnectionFunction;
}

/** http.Agent passes host/port (or socketPath); undici passes hostname, with IPv6 in brackets. */
function targetOf(options: ClientConnectOptions): Target {
  validateObject(options, 'options');
  if (typeof options.socketPath === 'string') return { path: options.socketPath };
  let host = options.hostname ?? options.host ?? 'localhost';
  validateString(host, 'options.host');
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = options.port === undefined || options.port === '' ? (options.protocol === 'https:' ? 443 : 80) : Number(options.port);
  return { host, port };
}

function secure(
  socket: net.Socket,
  options: ClientConnectOptions,
  tlsDefault: CreateConnectionOptions['tls'],
  timeout: number | undefined,
  startedAt: number,
  callback: ConnectCallback,
): void {
  const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
  // https.Agent hands over its TLS options in the same object; undici passes
  // only servername. Ours come last, so they win.
  const { host: _h, hostname: _n, port: _p, protocol: _r, socketPath: _s, localAddress: _l, family: _f, ...passed } = options;
  const servername = options.servername ?? (/^[0-9.]+$|:/.test(host) ? undefined : host);
  const tlsSocket = tls.connect({ ...(passed as tls.ConnectionOptions), ...(typeof tlsDefault === 'object' ? tlsDefault : {}), socket, servername });
  let cancelTimer: (() => void) | undefined;
  const fail = (err: Error) => {
    cancelTimer?.();
    tlsSocket.destroy();
    callback(err, null);
  };
  tlsSocket.once('error', fail);
  tlsSocket.once('secureConnect', () => {
    cancelTimer?.();
    tlsSocket.removeListener('error', fail);
    callback(null, tlsSocket);
  });
  if (timeout !== undefined) {
    const left = Math.max(0, timeout - (performance.now() - startedAt));
    cancelTimer = setLongTimeout(() => {
      fail(tlsTimedOut(host, options.port ?? 443, timeout));
    }, left);
  }
}
