// The algorithm: the nonblocking connect as UNP's connect_nonb spells it,
// every call made through its wrapper (syscalls.cpp) and recorded as a Step.
#include "posix_connect.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24  // linux/in.h, since 4.2
#endif

namespace nbc {

bool option_of(Arg arg, int* level, int* name) {
  switch (arg) {
    case Arg::kTcpNoDelay:
      *level = IPPROTO_TCP;
      *name = TCP_NODELAY;
      return true;
    case Arg::kTcpSynCount:
      *level = IPPROTO_TCP;
      *name = TCP_SYNCNT;
      return true;
    case Arg::kTcpUserTimeout:
      *level = IPPROTO_TCP;
      *name = TCP_USER_TIMEOUT;
      return true;
    // An IPPROTO_IP option, on IPv6 sockets too.
    case Arg::kIpBindAddressNoPort:
      *level = IPPROTO_IP;
      *name = IP_BIND_ADDRESS_NO_PORT;
      return true;
    case Arg::kSoLinger:
      *level = SOL_SOCKET;
      *name = SO_LINGER;
      return true;
    default:
      return false;
  }
}

// ---- the algorithm -----------------------------------------------------------

// Records a call from its wrapper's result: ret is what the syscall itself
// returned (-1 on failure), err the errno.
Step& record(Attempt& a, Call call, Arg arg, int res) {
  Step s{};
  s.call = call;
  s.arg = arg;
  s.ret = res < 0 ? -1 : res;
  s.err = res < 0 ? -res : 0;
  s.at_ns = monotonic_ns() - a.start_ns;
  a.steps.push_back(s);
  return a.steps.back();
}

namespace {

void close_traced(Attempt& a) {
  if (a.fd < 0) return;
  record(a, Call::kClose, Arg::kNone, sys_close(a.fd));
  a.fd = -1;
}

// A probe keeps what only the connected socket can tell: TCP_INFO, with the
// handshake's RTT. A failure to read it is traced and changes no verdict.
void snapshot_tcp_info(Attempt& a) {
  auto info = std::make_unique<KernelTcpInfo>();
  socklen_t len;
  if (record(a, Call::kGetsockopt, Arg::kTcpInfo, sys_getsockopt_tcp_info(a.fd, info.get(), &len)).ret < 0)
    return;
  a.tcp_info = std::move(info);
  a.tcp_info_len = len;
}

void finish(Attempt& a, int err, Call syscall, Phase phase) {
  if (err == 0 && a.close_when_connected) {
    if (a.family != AF_UNIX) snapshot_tcp_info(a);
    close_traced(a);
  }
  a.posix_errno = err;
  a.syscall = syscall;
  a.phase = phase;
  a.end_ns = monotonic_ns();
}

}  // namespace

// Closes the socket and finishes with `err`. EBADF from a call on the
// attempt's own fd (or POLLNVAL, or select's EBADF) means something closed
// the number behind the owner's back: it is not ours to close any more (it
// may already name another thread's file), so it is forgotten, not closed.
void fail(Attempt& a, int err, Call syscall, Phase phase) {
  if (err == EBADF) a.fd = -1;
  close_traced(a);
  finish(a, err, syscall, phase);
}

namespace {

// Records the call; on failure closes and finishes. True if it succeeded.
bool traced(Attempt& a, Call call, Arg arg, int res, Phase phase = Phase::kImmediate) {
  record(a, call, arg, res);
  if (res >= 0) return true;
  fail(a, -res, call, phase);
  return false;
}

bool apply_options(Attempt& a) {
  const SocketOptions& o = a.options;
  if (o.linger0 >= 0 &&
      !traced(a, Call::kSetsockopt, Arg::kSoLinger, sys_setsockopt_linger(a.fd, o.linger0 ? 1 : 0, 0)))
    return false;
  if (a.family == AF_UNIX) return true;  // the rest are TCP and IP options
  const struct {
    int value;
    Arg arg;
  } tcp_options[] = {
      {o.no_delay, Arg::kTcpNoDelay},
      {o.syn_count, Arg::kTcpSynCount},
      {o.user_timeout_ms, Arg::kTcpUserTimeout},
      {o.bind_address_no_port, Arg::kIpBindAddressNoPort},
  };
  for (auto& option : tcp_options) {
    if (option.value < 0) continue;
    int level, name;
    option_of(option.arg, &level, &name);
    if (!traced(a, Call::kSetsockopt, option.arg, sys_setsockopt_int(a.fd, level, name, option.value)))
      return false;
  }
  return true;
}

// The caller's own list, in its order (see Attempt::extra_options).
bool apply_extra_options(Attempt& a) {
  const uint8_t* at = a.extra_options.data();
  const uint8_t* const end = at + a.extra_options.size();
  while (end - at >= 12) {
    int32_t level, name;
    uint32_t len;
    std::memcpy(&level, at, 4);
    std::memcpy(&name, at + 4, 4);
    std::memcpy(&len, at + 8, 4);
    at += 12;
    const bool is_int = (len & kOptionBytes) == 0;
    len &= ~kOptionBytes;
    if (len > size_t(end - at)) break;  // lib/ packs whole records; never past the end
    int res = sys_setsockopt_bytes(a.fd, level, name, at, len);
    Step& step = record(a, Call::kSetsockopt, Arg::kOption, res);
    step.option = (level << 16) | name;
    if (is_int && len == sizeof(int)) {
      step.detail |= Step::kValue;
      std::memcpy(&step.value, at, sizeof(int));
    }
    at += len;
    if (res < 0) {
      fail(a, -res, Call::kSetsockopt, Phase::kImmediate);
      return false;
    }
  }
  return true;
}

// The socket, asking for MPTCP when the caller did. With 'prefer', a kernel
// without it (EPROTONOSUPPORT, ENOPROTOOPT, or EINVAL from older kernels and
// sysctl net.mptcp.enabled=0, as Go's fallback reads them) gets a plain TCP
// socket instead, and both calls are in the trace.
int open_socket_traced(Attempt& a) {
  if (a.mptcp == Mptcp::kOff || a.family == AF_UNIX) {
    int fd = sys_socket(a.family);
    return traced(a, Call::kSocket, Arg::kSockStreamCloexec, fd) ? fd : -1;
  }
  int fd = sys_socket(a.family, IPPROTO_MPTCP);
  bool unavailable = fd == -EPROTONOSUPPORT || fd == -ENOPROTOOPT || fd == -EINVAL;
  if (fd < 0 && unavailable && a.mptcp == Mptcp::kPrefer) {
    record(a, Call::kSocket, Arg::kSockStreamMptcp, fd);
    fd = sys_socket(a.family);
    return traced(a, Call::kSocket, Arg::kSockStreamCloexec, fd) ? fd : -1;
  }
  return traced(a, Call::kSocket, Arg::kSockStreamMptcp, fd) ? fd : -1;
}

// The socket, and its identity. The cookie is bookkeeping, not a step of
// the algorithm, so it is not traced (the C oracle's traces have no such
// call); a kernel without SO_COOKIE leaves it 0.
int open_socket(Attempt& a) {
  int fd = open_socket_traced(a);
  if (fd >= 0 && sys_getsockopt_cookie(fd, &a.cookie) < 0) a.cookie = 0;
  return fd;
}

bool same_endpoint(const IpAddr& x, socklen_t xlen, const IpAddr& y, socklen_t ylen) {
  if (xlen != ylen || x.sa.sa_family != y.sa.sa_family) return false;
  if (x.sa.sa_family == AF_INET)
    return x.in4.sin_port == y.in4.sin_port && x.in4.sin_addr.s_addr == y.in4.sin_addr.s_addr;
  if (x.sa.sa_family == AF_INET6)
    return x.in6.sin6_port == y.in6.sin6_port &&
           std::memcmp(&x.in6.sin6_addr, &y.in6.sin6_addr, sizeof x.in6.sin6_addr) == 0;
  return false;
}

// The kernel said connected. On TCP, ask both ends' names: a socket whose
// local and peer names are equal connected to itself (TCP simultaneous open
// against its own port), which is never what a caller meant.
void finish_connected(Attempt& a, Phase phase) {
  if (a.family == AF_UNIX) return finish(a, 0, Call::kConnect, phase);
  a.local_name_len = sizeof a.local_name;
  if (!traced(a, Call::kGetsockname, Arg::kNone, sys_getsockname(a.fd, &a.local_name, &a.local_name_len),
              phase)) {
    a.local_name_len = 0;
    return;
  }
  // The getpeername confirm method has asked already.
  // ENOTCONN here means the peer reset between the verdict and now.
  if (a.peer_name_len == 0) {
    a.peer_name_len = sizeof a.peer_name;
    if (!traced(a, Call::kGetpeername, Arg::kNone, sys_getpeername(a.fd, &a.peer_name, &a.peer_name_len),
                phase)) {
      a.peer_name_len = 0;
      return;
    }
  }
  if (same_endpoint(a.local_name, a.local_name_len, a.peer_name, a.peer_name_len))
    return fail(a, kSelfConnect, Call::kConnect, phase);
  finish(a, 0, Call::kConnect, phase);
}

// Reads SO_ERROR and finishes with it: 0 connected, else that error.
void finish_with_so_error(Attempt& a) {
  int so_error = 0;
  int res = sys_getsockopt_so_error(a.fd, &so_error);
  Step& s = record(a, Call::kGetsockopt, Arg::kSoError, res);
  if (res < 0) return fail(a, -res, Call::kGetsockopt, Phase::kAsync);
  s.detail |= Step::kValue;
  s.value = so_error;
  if (so_error != 0) return fail(a, so_error, Call::kConnect, Phase::kAsync);
  finish_connected(a, Phase::kAsync);
}

}  // namespace

bool start_connect(Attempt& a) {
  // Room for the steps up to the wait, which is all a pending attempt
  // holds (ten thousand pending to dead hosts is a scanner's normal day);
  // the verdict's steps grow it once.
  a.steps.reserve(6);

  int fd = open_socket(a);
  if (fd < 0) return false;
  a.fd = fd;

  // select(2) cannot hold this fd: FD_SET would write past the fd_set.
  // Refuse before connect() so no handshake is started and abandoned.
  if (a.wait == Wait::kSelect && a.fd >= FD_SETSIZE) {
    a.why = Why::kFdSetsize;
    fail(a, EINVAL, Call::kSelect, Phase::kImmediate);
    return false;
  }

  int flags = sys_fcntl(a.fd, F_GETFL, 0);
  if (!traced(a, Call::kFcntl, Arg::kGetFl, flags)) return false;
  if (!traced(a, Call::kFcntl, Arg::kSetFl, sys_fcntl(a.fd, F_SETFL, flags | O_NONBLOCK))) return false;

  if (!apply_options(a) || !apply_extra_options(a)) return false;

  if (a.local_len > 0 && !traced(a, Call::kBind, Arg::kNone, sys_bind(a.fd, &a.local, a.local_len)))
    return false;

  int res = sys_connect(a.fd, &a.remote, a.remote_len);
  record(a, Call::kConnect, Arg::kNone, res);
  if (res == 0) {
    // Same host, or AF_UNIX (always immediate on Linux while the backlog
    // has room).
    finish_connected(a, Phase::kImmediate);
    return false;
  }
  // EINTR: the handshake goes on in the kernel; calling connect() again
  // would only say EALREADY. Wait as for EINPROGRESS.
  if (res == -EINPROGRESS || res == -EINTR) return true;
  // AF_UNIX with a full backlog says EAGAIN, not EINPROGRESS: there is
  // nothing to wait for, so it is an immediate failure.
  fail(a, -res, Call::kConnect, Phase::kImmediate);
  return false;
}

void finish_after_wake(Attempt& a) {
  // A wake for a number that is another socket's now says nothing of ours.
  if (!confirm_own_socket(a)) return;
  switch (a.confirm) {
    case Confirm::kSoError:
    case Confirm::kCount:  // not a method: the binding never makes one
      return finish_with_so_error(a);

    case Confirm::kGetpeername: {
      a.peer_name_len = sizeof a.peer_name;
      int res = sys_getpeername(a.fd, &a.peer_name, &a.peer_name_len);
      record(a, Call::kGetpeername, Arg::kNone, res);
      if (res == 0) return finish_connected(a, Phase::kAsync);
      a.peer_name_len = 0;
      // Not connected: UNP's recipe asks SO_ERROR for the reason.
      if (res == -ENOTCONN) return finish_with_so_error(a);
      return fail(a, -res, Call::kGetpeername, Phase::kAsync);
    }

    case Confirm::kRead: {
      char byte;
      int res = sys_read(a.fd, &byte, 0);
      record(a, Call::kRead, Arg::kNone, res);
      if (res >= 0) return finish_connected(a, Phase::kAsync);
      return fail(a, -res, Call::kRead, Phase::kAsync);
    }

    case Confirm::kReconnect: {
      int res = sys_connect(a.fd, &a.remote, a.remote_len);
      record(a, Call::kConnect, Arg::kNone, res);
      if (res == 0 || res == -EISCONN) return finish_connected(a, Phase::kAsync);
      return fail(a, -res, Call::kConnect, Phase::kAsync);
    }
  }
}

void finish_timeout(Attempt& a) { fail(a, ETIMEDOUT, Call::kConnect, Phase::kTimeout); }

bool expired_before_start(Attempt& a, int64_t now_ns) {
  if (a.deadline_ns < 0 || now_ns < a.deadline_ns) return false;
  // Said in the message: an ETIMEDOUT with no SYN sent is not a host that
  // did not answer, and a scanner must not read it as one.
  a.why = Why::kNotStarted;
  finish_timeout(a);  // no fd yet: nothing to close
  return true;
}

bool is_own_socket(const Attempt& a) {
  if (a.cookie == 0) return true;
  uint64_t cookie = 0;
  return sys_getsockopt_cookie(a.fd, &cookie) == 0 && cookie == a.cookie;
}

namespace {

// The identity check itself: true if a.fd still names the attempt's
// socket; otherwise the step shows what the kernel said (EBADF: the number
// names nothing; ENOTSOCK: a file that is no socket; 0 with another
// cookie: another socket) and the number is forgotten.
bool check_identity(Attempt& a) {
  if (a.cookie == 0) return true;
  uint64_t cookie = 0;
  int res = sys_getsockopt_cookie(a.fd, &cookie);
  if (res == 0 && cookie == a.cookie) return true;
  record(a, Call::kGetsockopt, Arg::kSoCookie, res);
  a.fd = -1;
  return false;
}

}  // namespace

bool confirm_own_socket(Attempt& a) {
  if (check_identity(a)) return true;
  // Whatever the kernel said, the verdict is EBADF.
  finish(a, EBADF, Call::kGetsockopt, Phase::kAsync);
  return false;
}

void settle_open(Attempt& a, int err, Phase phase) {
  if (a.start_ns == 0) a.start_ns = monotonic_ns();
  finish(a, err, Call::kConnect, phase);
  a.sequel = Sequel::kCloseFollows;
}

void close_after_settle(Attempt& a, int epoll_fd, bool unwatch) {
  const size_t sent = a.steps.size();
  if (a.fd >= 0 && check_identity(a)) {
    bool ours = true;
    if (unwatch) {
      int res = sys_epoll_ctl(epoll_fd, EPOLL_CTL_DEL, a.fd, 0, 0);
      record(a, Call::kEpollCtl, Arg::kEpollCtlDel, res);
      // On a kernel without SO_COOKIE the only check: ENOENT or EBADF say
      // the number is no longer this socket's.
      ours = res == 0;
      if (!ours) a.fd = -1;
    }
    if (ours) close_traced(a);
  }
  a.steps.erase(a.steps.begin(), a.steps.begin() + std::ptrdiff_t(sent));
  a.sequel = Sequel::kSteps;
}

void finish_aborted(Attempt& a) {
  if (a.start_ns == 0) a.start_ns = monotonic_ns();
  fail(a, ECANCELED, Call::kConnect, Phase::kAborted);
}

Call wait_call(Wait wait) {
  return wait == Wait::kPoll ? Call::kPoll : wait == Wait::kSelect ? Call::kSelect : Call::kEpollWait;
}

void fail_wait(Attempt& a, int err) {
  record(a, wait_call(a.wait), Arg::kNone, -err);
  fail(a, err, wait_call(a.wait), Phase::kAsync);
}

void finish_fd_lost(Attempt& a) { fail(a, EBADF, wait_call(a.wait), Phase::kAsync); }

bool watch_epoll(Attempt& a, int epoll_fd) {
  return traced(a, Call::kEpollCtl, Arg::kEpollCtlAdd,
                sys_epoll_ctl(epoll_fd, EPOLL_CTL_ADD, a.fd, EPOLLOUT | EPOLLONESHOT, a.id), Phase::kAsync);
}

bool unwatch_epoll(Attempt& a, int epoll_fd) {
  if (!confirm_own_socket(a)) return false;
  int res = sys_epoll_ctl(epoll_fd, EPOLL_CTL_DEL, a.fd, 0, 0);
  record(a, Call::kEpollCtl, Arg::kEpollCtlDel, res);
  if (res == 0) return true;
  // On a kernel without SO_COOKIE this is the only check left. ENOENT: the
  // number names another file now (ours was closed and released); EBADF: it
  // names nothing. Either way it is not ours to close.
  a.fd = -1;
  finish(a, -res, Call::kEpollCtl, Phase::kAsync);
  return false;
}

void record_epoll_wake(Attempt& a, int ret, uint32_t events) {
  Step& s = record(a, Call::kEpollWait, Arg::kNone, ret);
  s.detail |= Step::kRevents;
  s.revents = int16_t(events);
}

void record_poll_wake(Attempt& a, int ret, short revents) {
  Step& s = record(a, Call::kPoll, Arg::kNone, ret);
  s.detail |= Step::kRevents;
  s.revents = revents;
}

void record_select_wake(Attempt& a, int ret, bool readable, bool writable) {
  Step& s = record(a, Call::kSelect, Arg::kNone, ret);
  s.detail |= Step::kSets;
  s.readable = readable;
  s.writable = writable;
}

}  // namespace nbc
