// The raw syscalls of nbconnect, and nothing else. Every call records a Step,
// and errno is read once, right after the call that set it.
#include "posix_connect.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24  // linux/in.h, since 4.2
#endif

namespace nbc {

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

Step& record(Attempt& a, Call call, Arg arg, int ret, int err) {
  Step s{};
  s.call = call;
  s.arg = arg;
  s.ret = ret;
  s.err = ret < 0 ? err : 0;
  s.at_ns = monotonic_ns() - a.start_ns;
  a.steps.push_back(s);
  return a.steps.back();
}

void close_traced(Attempt& a);

void finish(Attempt& a, int err, Call failed_call, Phase phase) {
  if (err == 0 && a.close_when_connected) close_traced(a);
  a.err = err;
  a.failed_call = failed_call;
  a.phase = phase;
  a.end_ns = monotonic_ns();
}

void close_traced(Attempt& a) {
  if (a.fd < 0) return;
  // close(2) on Linux releases the fd even when it reports EINTR, so it is
  // never retried: a retry could close a number another thread just got.
  int ret = close(a.fd);
  record(a, Call::kClose, Arg::kNone, ret, ret < 0 ? errno : 0);
  a.fd = -1;
}

void fail(Attempt& a, int err, Call failed_call, Phase phase) {
  close_traced(a);
  finish(a, err, failed_call, phase);
}

bool set_int_option(Attempt& a, int level, int name, Arg arg, int value) {
  int ret = setsockopt(a.fd, level, name, &value, sizeof value);
  if (ret == 0) {
    record(a, Call::kSetsockopt, arg, ret, 0);
    return true;
  }
  int err = errno;
  record(a, Call::kSetsockopt, arg, ret, err);
  fail(a, err, Call::kSetsockopt, Phase::kImmediate);
  return false;
}

bool apply_options(Attempt& a) {
  const SocketOptions& o = a.options;
  if (o.linger0 >= 0) {
    linger l{o.linger0 ? 1 : 0, 0};
    int ret = setsockopt(a.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    int err = ret < 0 ? errno : 0;
    record(a, Call::kSetsockopt, Arg::kSoLinger, ret, err);
    if (ret < 0) {
      fail(a, err, Call::kSetsockopt, Phase::kImmediate);
      return false;
    }
  }
  if (a.family == AF_UNIX) return true;  // the rest are TCP and IP options
  return (o.no_delay < 0 ||
          set_int_option(a, IPPROTO_TCP, TCP_NODELAY, Arg::kTcpNoDelay, o.no_delay)) &&
         (o.syn_count < 0 ||
          set_int_option(a, IPPROTO_TCP, TCP_SYNCNT, Arg::kTcpSynCount, o.syn_count)) &&
         (o.user_timeout_ms < 0 ||
          set_int_option(a, IPPROTO_TCP, TCP_USER_TIMEOUT, Arg::kTcpUserTimeout,
                         o.user_timeout_ms)) &&
         // IP_BIND_ADDRESS_NO_PORT is an IPPROTO_IP option on v6 sockets too.
         (o.bind_address_no_port < 0 ||
          set_int_option(a, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, Arg::kIpBindAddressNoPort,
                         o.bind_address_no_port));
}

bool same_endpoint(const sockaddr_storage& x, socklen_t xlen, const sockaddr_storage& y,
                   socklen_t ylen) {
  if (xlen != ylen || x.ss_family != y.ss_family) return false;
  if (x.ss_family == AF_INET) {
    auto& a = reinterpret_cast<const sockaddr_in&>(x);
    auto& b = reinterpret_cast<const sockaddr_in&>(y);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  if (x.ss_family == AF_INET6) {
    auto& a = reinterpret_cast<const sockaddr_in6&>(x);
    auto& b = reinterpret_cast<const sockaddr_in6&>(y);
    return a.sin6_port == b.sin6_port &&
           std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
  }
  return false;
}

// The kernel said connected. On TCP, ask both ends' names: a socket whose
// local and peer names are equal connected to itself (TCP simultaneous open
// against its own port), which is never what a caller meant.
void finish_connected(Attempt& a, Phase phase) {
  if (a.family == AF_UNIX) {
    finish(a, 0, Call::kConnect, phase);
    return;
  }
  a.local_name_len = sizeof a.local_name;
  int ret = getsockname(a.fd, reinterpret_cast<sockaddr*>(&a.local_name), &a.local_name_len);
  int err = ret < 0 ? errno : 0;
  record(a, Call::kGetsockname, Arg::kNone, ret, err);
  if (ret < 0) return fail(a, err, Call::kGetsockname, phase);

  a.peer_name_len = sizeof a.peer_name;
  ret = getpeername(a.fd, reinterpret_cast<sockaddr*>(&a.peer_name), &a.peer_name_len);
  err = ret < 0 ? errno : 0;
  record(a, Call::kGetpeername, Arg::kNone, ret, err);
  // ENOTCONN here means the peer reset between SO_ERROR and now.
  if (ret < 0) return fail(a, err, Call::kGetpeername, phase);

  if (same_endpoint(a.local_name, a.local_name_len, a.peer_name, a.peer_name_len))
    return fail(a, kSelfConnect, Call::kConnect, phase);
  finish(a, 0, Call::kConnect, phase);
}

}  // namespace

bool start_connect(Attempt& a) {
  a.steps.reserve(16);

  a.fd = socket(a.family, SOCK_STREAM, 0);
  int err = a.fd < 0 ? errno : 0;
  record(a, Call::kSocket, Arg::kNone, a.fd, err);
  if (a.fd < 0) {
    a.fd = -1;
    finish(a, err, Call::kSocket, Phase::kImmediate);
    return false;
  }

  // select(2) cannot hold this fd: FD_SET would write past the fd_set.
  // Refuse before connect() so no handshake is started and abandoned.
  if (a.wait == Wait::kSelect && a.fd >= FD_SETSIZE) {
    a.why = "fd is >= FD_SETSIZE (1024), which select(2) cannot watch; use wait: 'poll'";
    fail(a, EINVAL, Call::kSelect, Phase::kImmediate);
    return false;
  }

  int flags = fcntl(a.fd, F_GETFL);
  err = flags < 0 ? errno : 0;
  record(a, Call::kFcntl, Arg::kGetFl, flags, err);
  if (flags < 0) return fail(a, err, Call::kFcntl, Phase::kImmediate), false;

  int ret = fcntl(a.fd, F_SETFL, flags | O_NONBLOCK);
  err = ret < 0 ? errno : 0;
  record(a, Call::kFcntl, Arg::kSetFl, ret, err);
  if (ret < 0) return fail(a, err, Call::kFcntl, Phase::kImmediate), false;

  // Not inherited by children that a racing thread forks and execs.
  ret = fcntl(a.fd, F_SETFD, FD_CLOEXEC);
  err = ret < 0 ? errno : 0;
  record(a, Call::kFcntl, Arg::kSetFd, ret, err);
  if (ret < 0) return fail(a, err, Call::kFcntl, Phase::kImmediate), false;

  if (!apply_options(a)) return false;

  if (a.local_len > 0) {
    ret = bind(a.fd, reinterpret_cast<const sockaddr*>(&a.local), a.local_len);
    err = ret < 0 ? errno : 0;
    record(a, Call::kBind, Arg::kNone, ret, err);
    if (ret < 0) return fail(a, err, Call::kBind, Phase::kImmediate), false;
  }

  ret = connect(a.fd, reinterpret_cast<const sockaddr*>(&a.remote), a.remote_len);
  err = ret < 0 ? errno : 0;
  record(a, Call::kConnect, Arg::kNone, ret, err);
  if (ret == 0) {
    // Same host, or AF_UNIX (always immediate on Linux while the backlog
    // has room).
    finish_connected(a, Phase::kImmediate);
    return false;
  }
  // EINTR: the handshake goes on in the kernel; calling connect() again
  // would only say EALREADY. Wait as for EINPROGRESS.
  if (err == EINPROGRESS || err == EINTR) return true;
  // AF_UNIX with a full backlog says EAGAIN, not EINPROGRESS: there is
  // nothing to wait for, so it is an immediate failure.
  fail(a, err, Call::kConnect, Phase::kImmediate);
  return false;
}

void finish_after_wake(Attempt& a) {
  int so_error = 0;
  socklen_t len = sizeof so_error;
  int ret = getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  int err = ret < 0 ? errno : 0;
  Step& s = record(a, Call::kGetsockopt, Arg::kSoError, ret, err);
  if (ret < 0) return fail(a, err, Call::kGetsockopt, Phase::kAsync);
  s.detail |= Step::kValue;
  s.value = so_error;
  if (so_error != 0) return fail(a, so_error, Call::kConnect, Phase::kAsync);
  finish_connected(a, Phase::kAsync);
}

void finish_timeout(Attempt& a) { fail(a, ETIMEDOUT, Call::kConnect, Phase::kTimeout); }

void finish_aborted(Attempt& a) {
  if (a.start_ns == 0) a.start_ns = monotonic_ns();
  fail(a, ECANCELED, Call::kConnect, Phase::kAborted);
}

void record_poll_wake(Attempt& a, int ret, short revents) {
  Step& s = record(a, Call::kPoll, Arg::kNone, ret, 0);
  s.detail |= Step::kRevents;
  s.revents = revents;
}

void record_select_wake(Attempt& a, int ret, bool readable, bool writable) {
  Step& s = record(a, Call::kSelect, Arg::kNone, ret, 0);
  s.detail |= Step::kSets;
  s.readable = readable;
  s.writable = writable;
}

int poll_timeout_ms(int64_t deadline_ns, int64_t now_ns) {
  if (deadline_ns < 0) return -1;
  int64_t left = deadline_ns - now_ns;
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : int(ms);
}

void connect_blocking(Attempt& a) {
  if (!start_connect(a)) return;
  for (;;) {
    int64_t now = monotonic_ns();
    if (a.deadline_ns >= 0 && now >= a.deadline_ns) return finish_timeout(a);
    // The helpers return the count or -errno; the step shows the syscall's
    // own return value and errno.
    int ret;
    if (a.wait == Wait::kPoll) {
      pollfd p{a.fd, POLLOUT, 0};
      ret = poll_fds(&p, 1, poll_timeout_ms(a.deadline_ns, now));
      Step& s = record(a, Call::kPoll, Arg::kNone, ret < 0 ? -1 : ret, -ret);
      s.detail |= Step::kRevents;
      s.revents = ret > 0 ? p.revents : 0;
    } else {
      // Read and write sets both, as in UNP's connect_nonb: a failed
      // connect shows in both, a connected one with early data too.
      fd_set rset, wset;
      FD_ZERO(&rset);
      FD_SET(a.fd, &rset);
      wset = rset;
      ret = select_fds(a.fd + 1, &rset, &wset, a.deadline_ns < 0 ? -1 : a.deadline_ns - now);
      Step& s = record(a, Call::kSelect, Arg::kNone, ret < 0 ? -1 : ret, -ret);
      s.detail |= Step::kSets;
      s.readable = ret > 0 && FD_ISSET(a.fd, &rset);
      s.writable = ret > 0 && FD_ISSET(a.fd, &wset);
    }
    // EINTR: the remaining time is recomputed from the same deadline.
    if (ret == -EINTR) continue;
    if (ret < 0) return fail(a, -ret, a.wait == Wait::kPoll ? Call::kPoll : Call::kSelect,
                             Phase::kAsync);
    // ret == 0 is a timeout only once the deadline has really passed: poll's
    // millisecond rounding is upward, so this loops at most once more.
    if (ret == 0) continue;
    return finish_after_wake(a);
  }
}

int poll_fds(pollfd* fds, nfds_t count, int timeout_ms) {
  int ret = poll(fds, count, timeout_ms);
  return ret < 0 ? -errno : ret;
}

int select_fds(int nfds, fd_set* readfds, fd_set* writefds, int64_t timeout_ns) {
  timeval tv, *tvp = nullptr;
  if (timeout_ns >= 0) {
    tv.tv_sec = timeout_ns / 1000000000;
    tv.tv_usec = (timeout_ns % 1000000000 + 999) / 1000;
    tvp = &tv;
  }
  int ret = select(nfds, readfds, writefds, nullptr, tvp);
  return ret < 0 ? -errno : ret;
}

int wake_fd_open() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int wake_fd_signal(int fd) {
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the wake is pending.
  ssize_t n = write(fd, &one, sizeof one);
  return n < 0 && errno != EAGAIN ? -errno : 0;
}

int wake_fd_drain(int fd) {
  uint64_t count;
  ssize_t n = read(fd, &count, sizeof count);
  return n < 0 && errno != EAGAIN ? -errno : 0;
}

int close_fd(int fd) { return close(fd) < 0 ? -errno : 0; }

}  // namespace nbc
