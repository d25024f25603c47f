import type { SocketLevelName, SocketOptionName, SyscallName } from './vocabulary';

/**
 * Where to connect. A host may be an IPv4 or IPv6 literal, or a name that
 * `dns.lookup` resolves (getaddrinfo, honouring /etc/hosts). Strings take the
 * forms `'host:port'`, `'[v6]:port'` and `'unix:/path'`.
 */
export type Target = { host: string; port: number } | { path: string } | string;

/**
 * The syscall that waits for the handshake: epoll(7) (the default), poll(2)
 * or select(2). Each gives the same verdicts; the trace shows its own calls.
 */
export type Wait = 'epoll' | 'poll' | 'select';

/**
 * Options of every connect call. Each socket option is one setsockopt(2)
 * before connect(2), and appears in the trace as a step.
 */
export interface ConnectOptions {
  /** Deadline in ms from the call, covering name lookup too. Absent: the kernel's own give-up. */
  timeout?: number;
  /**
   * The syscall that waits for writability: 'epoll' (default; async
   * connects share one epoll instance in the event loop's own thread),
   * 'poll' or 'select' (async connects share a waiter thread that makes the
   * syscalls). select cannot watch an fd >= FD_SETSIZE (1024). Under Bun
   * and Deno, whose event loop is not libuv, the default is 'poll' and an
   * async connect refuses 'epoll' (ERR_FEATURE_UNAVAILABLE_ON_PLATFORM);
   * connectSync takes all three everywhere.
   */
  wait?: Wait;
  /** Aborts a pending connect: it rejects with ABORT_ERR; see docs/api.md for when the socket is closed. */
  signal?: AbortSignal;
  /** bind(2) to this IP literal before connect. */
  localAddress?: string;
  /** bind(2) to this port before connect (0: any). */
  localPort?: number;
  /** Address family for name lookup: 4 or 6; 0 (the default) for either. */
  family?: 0 | 4 | 6;
  /**
   * For a name with several addresses, race them as Node 20's net.connect
   * does (Happy Eyeballs, RFC 8305; see `connectAny`): default true. false
   * connects to the first address only.
   */
  autoSelectFamily?: boolean;
  /** ms before the next address is tried while one is pending: default 250, at least 10, as Node's. */
  autoSelectFamilyAttemptTimeout?: number;
  /** setsockopt TCP_NODELAY. */
  noDelay?: boolean;
  /** setsockopt TCP_SYNCNT: SYN retransmits before the kernel gives up (1-127). 1 gives about 3 s. */
  synCount?: number;
  /** setsockopt TCP_USER_TIMEOUT, in ms. */
  userTimeout?: number;
  /** setsockopt IP_BIND_ADDRESS_NO_PORT: defer the port choice of bind() to connect(). */
  bindAddressNoPort?: boolean;
  /** setsockopt SO_LINGER {1, 0}: close() sends RST and leaves no TIME_WAIT. */
  linger0?: boolean;
  /**
   * How the verdict is read after a wake (UNP 16.3): 'so_error' (default,
   * getsockopt SO_ERROR), 'getpeername' (ENOTCONN: failed, then SO_ERROR says
   * why), 'read' (read of 0 bytes) or 'reconnect' (a second connect: EISCONN
   * means connected). On Linux a read of 0 bytes returns 0 without looking at
   * the socket, so 'read' gives a failed connect the wrong code; the other
   * three are right in every scenario of the conformance matrix
   * (docs/exactness.md).
   */
  confirm?: Confirm;
  /**
   * ms to hold off between connect() and the first poll/select. A
   * conformance aid: it lets a peer's data or RST arrive before the wait, the
   * portability trap UNP warns about. Counts against `timeout`.
   */
  waitDelay?: number;

  // The options below are set after the ones above, one setsockopt(2) each,
  // in the order they appear in this object (keepAlive's come in the order
  // SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT).

  /** setsockopt SO_BINDTODEVICE: only this interface, e.g. 'eth0'. A device that does not exist is ENODEV at that step. Needs CAP_NET_RAW. */
  bindToDevice?: string;
  /** setsockopt IP_TOS on IPv4, IPV6_TCLASS on IPv6 (0-255). */
  tos?: number;
  /** setsockopt SO_MARK: the fwmark policy routing and nftables see (0 to 2^32-1). Needs CAP_NET_ADMIN. */
  mark?: number;
  /**
   * setsockopt SO_KEEPALIVE; with an object, also TCP_KEEPIDLE (`idle`, s
   * before the first probe), TCP_KEEPINTVL (`interval`, s between probes)
   * and TCP_KEEPCNT (`count`, probes before the connection is dropped).
   */
  keepAlive?: boolean | { idle?: number; interval?: number; count?: number };
  /** setsockopt SO_SNDBUF, in bytes (the kernel doubles it and caps it at wmem_max). */
  sendBufferSize?: number;
  /** setsockopt SO_RCVBUF, in bytes (the kernel doubles it and caps it at rmem_max). Set before the SYN, it decides the window scale offered. */
  receiveBufferSize?: number;
  /** setsockopt TCP_MAXSEG: the MSS announced in the SYN. */
  maxSegment?: number;
  /** setsockopt TCP_CONGESTION, e.g. 'cubic' or 'reno'. One the kernel has not loaded is ENOENT at that step. */
  congestion?: string;
  /** setsockopt TCP_FASTOPEN_CONNECT: data written before the handshake ends rides on the SYN, with a cookie from an earlier connect. */
  fastOpen?: boolean;
  /**
   * Multipath TCP: socket(AF_INET*, SOCK_STREAM, IPPROTO_MPTCP). true: a
   * kernel without MPTCP fails at socket() with its errno. 'prefer': it
   * falls back to plain TCP, and the trace shows both socket() calls.
   */
  mptcp?: boolean | 'prefer';
  /** Any other option, in order: level and name as constant names or numbers, the value an int or its bytes. */
  setsockopt?: SocketOptionSetting[];
}

// The names of socket levels and options are generated from the addon's
// tables (lib/vocabulary.ts), defined once, in native/.
export type { SocketLevelName, SocketOptionName } from './vocabulary';

/** One entry of `ConnectOptions.setsockopt`. */
export interface SocketOptionSetting {
  /** 'SOL_SOCKET', 'IPPROTO_TCP', 'IPPROTO_IP', 'IPPROTO_IPV6', ..., or the number. */
  level: SocketLevelName | number;
  /** 'SO_PRIORITY', 'TCP_NOTSENT_LOWAT', ..., or the number. */
  name: SocketOptionName | number;
  /** An int (setsockopt's usual `int` value), or the option's own bytes. */
  value: number | Uint8Array;
}

/**
 * TCP_INFO as the kernel reports it (linux/tcp.h's struct tcp_info, Node
 * style names). Times are µs unless named otherwise; a field this kernel
 * does not fill is absent.
 */
export interface TcpInfo {
  /** 'ESTABLISHED', 'SYN_SENT', 'CLOSE_WAIT', ... */
  state: string;
  caState: number;
  retransmits: number;
  probes: number;
  backoff: number;
  /** TCPI_OPT_* bits: 1 timestamps, 2 SACK, 4 window scaling, 8 ECN, 16 ECN seen, 32 SYN data. */
  options: number;
  sndWscale: number;
  rcvWscale: number;
  rto: number;
  ato: number;
  sndMss: number;
  rcvMss: number;
  unacked: number;
  sacked: number;
  lost: number;
  retrans: number;
  /** ms since. */
  lastDataSent: number;
  /** ms since. */
  lastDataRecv: number;
  /** ms since. */
  lastAckRecv: number;
  pmtu: number;
  rcvSsthresh: number;
  /** Smoothed RTT, µs: right after the handshake, the SYN/SYN-ACK round trip. */
  rtt: number;
  /** RTT variance, µs. */
  rttVar: number;
  sndSsthresh: number;
  sndCwnd: number;
  advMss: number;
  reordering: number;
  rcvRtt: number;
  rcvSpace: number;
  totalRetrans: number;
  pacingRate?: number;
  maxPacingRate?: number;
  bytesAcked?: number;
  bytesReceived?: number;
  segsOut?: number;
  segsIn?: number;
  notsentBytes?: number;
  minRtt?: number;
  dataSegsIn?: number;
  dataSegsOut?: number;
  deliveryRate?: number;
  busyTime?: number;
  rwndLimited?: number;
  sndbufLimited?: number;
  delivered?: number;
  deliveredCe?: number;
  bytesSent?: number;
  bytesRetrans?: number;
  dsackDups?: number;
  reordSeen?: number;
  rcvOooPack?: number;
  sndWnd?: number;
}

/** How the verdict is read after the wait; see `ConnectOptions.confirm`. */
export type Confirm = 'so_error' | 'getpeername' | 'read' | 'reconnect';

/**
 * Where the verdict came from: 'lookup' (getaddrinfo failed), 'immediate'
 * (connect(2) returned 0 or failed at once, or a step before it failed),
 * 'async' (EINPROGRESS, then poll/select and SO_ERROR), 'timeout' (the
 * deadline passed first), 'aborted' (the signal).
 */
export type Phase = 'lookup' | 'immediate' | 'async' | 'timeout' | 'aborted';

/** One syscall of the trace. */
export interface Step {
  call:
    | SyscallName
    /** The portable mode: an event of net.Socket ('connect', 'error') or our destroy() of it, in `arg`. */
    | 'net';
  /** 'SOCK_STREAM|SOCK_CLOEXEC', 'F_GETFL', 'F_SETFL', 'SO_ERROR', 'TCP_SYNCNT', 'EPOLL_CTL_ADD', ...; for 'net': 'connect', 'error', 'destroy'. */
  arg?: string;
  /** What the call returned: socket the fd, poll/select/epoll_wait the count. */
  ret: number;
  /** The positive POSIX errno, when ret < 0. */
  errno?: number;
  /** Its name, e.g. 'EINPROGRESS'. */
  code?: string;
  /** poll: this fd's revents, e.g. ['POLLOUT', 'POLLERR', 'POLLHUP']. */
  revents?: string[];
  /** epoll_wait: this fd's events, e.g. ['EPOLLOUT']; [] when it was not in the ready list. */
  events?: string[];
  /** select: this fd was in the returned read set. */
  readable?: boolean;
  /** select: this fd was in the returned write set. */
  writable?: boolean;
  /** getsockopt(SO_ERROR): the pending error, 0 for none; setsockopt of an int option: the value set. */
  value?: number;
  /** setsockopt of a listed option (tos, mark, setsockopt: [...], ...): its level, e.g. 'SOL_SOCKET'. */
  level?: string;
  /** ms since the attempt began. */
  at: number;
}

/** The normalized target an attempt went to. */
export type Endpoint = { host: string; address: string; port: number; family: 4 | 6 } | { path: string };

/** An endpoint, or a name whose lookup failed before there was one. */
export type Where = Endpoint | { host: string; port: number };

/** What `probe` resolves with: every network outcome, success or not. */
export interface Outcome {
  ok: boolean;
  /**
   * true from the exact engine (the native addon, Linux); false from the
   * portable mode (Node's net and dns), whose trace holds only what net
   * reports. See docs/portable.md.
   */
  exact: boolean;
  /** 'OK' on success, else the error code, e.g. 'ECONNREFUSED', 'ETIMEDOUT', 'ESELFCONNECT'. */
  code: string;
  /** Node's convention: the negative errno, 0 on success, undefined where no errno exists. */
  errno: number | undefined;
  phase: Phase;
  elapsed: number;
  steps: Step[];
  /**
   * A TCP success: TCP_INFO read right after the verdict, before the close
   * (its `rtt` is the handshake's round trip as the kernel measured it,
   * free of event-loop delay).
   */
  tcpInfo?: TcpInfo;
  target: Where;
  /**
   * A name whose addresses were raced (autoSelectFamily): each address
   * tried, in the order tried, with its own Outcome. Here the times count
   * from the call, the attempts' as this Outcome's, so they read as one
   * timeline. Absent when a single address was tried.
   */
  attempts?: Outcome[];
}
