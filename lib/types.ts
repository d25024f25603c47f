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
   * syscalls). select cannot watch an fd >= FD_SETSIZE (1024).
   */
  wait?: Wait;
  /** Aborts a pending connect; the socket is closed before the promise rejects. */
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
   * means connected). Only SO_ERROR is exact on Linux; see the README.
   */
  confirm?: Confirm;
  /**
   * ms to hold off between connect() and the first poll/select. A
   * conformance aid: it lets a peer's data or RST arrive before the wait, the
   * portability trap UNP warns about. Counts against `timeout`.
   */
  waitDelay?: number;
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
    | 'socket'
    | 'fcntl'
    | 'setsockopt'
    | 'bind'
    | 'connect'
    | 'poll'
    | 'select'
    | 'epoll_create1'
    | 'epoll_ctl'
    | 'epoll_wait'
    | 'getsockopt'
    | 'getsockname'
    | 'getpeername'
    | 'read'
    | 'close';
  /** 'SOCK_STREAM|SOCK_CLOEXEC', 'F_GETFL', 'F_SETFL', 'SO_ERROR', 'TCP_SYNCNT', 'EPOLL_CTL_ADD', ... */
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
  /** getsockopt(SO_ERROR): the pending error, 0 for none. */
  value?: number;
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
  /** 'OK' on success, else the error code, e.g. 'ECONNREFUSED', 'ETIMEDOUT', 'ESELFCONNECT'. */
  code: string;
  /** Node's convention: the negative errno, 0 on success, undefined where no errno exists. */
  errno: number | undefined;
  phase: Phase;
  elapsed: number;
  steps: Step[];
  target: Where;
  /**
   * A name whose addresses were raced (autoSelectFamily): each address
   * tried, in the order tried, with its own Outcome. Here the times count
   * from the call, the attempts' as this Outcome's, so they read as one
   * timeline. Absent when a single address was tried.
   */
  attempts?: Outcome[];
}
