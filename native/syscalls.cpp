// The raw syscalls of nbconnect, and nothing else: one thin wrapper each,
// returning the result or -errno read once right after the call.
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#ifndef SO_COOKIE
#define SO_COOKIE 57  // asm-generic/socket.h, since 4.12
#endif

namespace nbc {

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {
inline int result(int ret) { return ret < 0 ? -errno : ret; }

// Every call on a socket through these wrappers, counted so that a test can
// show that bad input reaches none. errno is read before the count moves.
std::atomic<uint64_t> socket_call_count{0};
inline int socket_call(int ret) {
  int out = result(ret);
  socket_call_count.fetch_add(1, std::memory_order_relaxed);
  return out;
}
}  // namespace

uint64_t socket_calls() { return socket_call_count.load(std::memory_order_relaxed); }

// SOCK_CLOEXEC in the same call, as libuv does: a separate fcntl(F_SETFD)
// leaves a window in which a fork on another thread inherits the socket, and
// a child that holds it keeps the connection up after our close().
int sys_socket(int family, int protocol) {
  return socket_call(socket(family, SOCK_STREAM | SOCK_CLOEXEC, protocol));
}

int sys_fcntl(int fd, int cmd, int arg) { return socket_call(fcntl(fd, cmd, arg)); }

int sys_setsockopt_int(int fd, int level, int name, int value) {
  return socket_call(setsockopt(fd, level, name, &value, sizeof value));
}

int sys_setsockopt_bytes(int fd, int level, int name, const void* value, socklen_t len) {
  return socket_call(setsockopt(fd, level, name, value, len));
}

int sys_getsockopt_bytes(int fd, int level, int name, void* value, socklen_t* len) {
  return socket_call(getsockopt(fd, level, name, value, len));
}

int sys_getsockopt_tcp_info(int fd, KernelTcpInfo* info, socklen_t* len) {
  *len = sizeof *info;
  return socket_call(getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, len));
}

int sys_setsockopt_linger(int fd, int on, int seconds) {
  linger l{on, seconds};
  return socket_call(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l));
}

int sys_bind(int fd, const void* addr, socklen_t len) {
  return socket_call(bind(fd, static_cast<const sockaddr*>(addr), len));
}

int sys_connect(int fd, const void* addr, socklen_t len) {
  return socket_call(connect(fd, static_cast<const sockaddr*>(addr), len));
}

// getsockopt's own return says whether the call worked; the pending error is
// its value. Berkeley-derived kernels, Linux among them, return 0 and put the
// error in *value; Solaris returned -1 with errno set (UNP 16.3).
int sys_getsockopt_so_error(int fd, int* value) {
  socklen_t len = sizeof *value;
  return socket_call(getsockopt(fd, SOL_SOCKET, SO_ERROR, value, &len));
}

int sys_getsockopt_cookie(int fd, uint64_t* cookie) {
  socklen_t len = sizeof *cookie;
  return socket_call(getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len));
}

int sys_getsockname(int fd, void* addr, socklen_t* len) {
  return socket_call(getsockname(fd, static_cast<sockaddr*>(addr), len));
}

int sys_getpeername(int fd, void* addr, socklen_t* len) {
  return socket_call(getpeername(fd, static_cast<sockaddr*>(addr), len));
}

int sys_read(int fd, void* buf, size_t n) { return socket_call(int(read(fd, buf, n))); }

// close(2) on Linux releases the fd even when it reports EINTR, so it is
// never retried: a retry could close a number another thread just got.
int sys_close(int fd) { return socket_call(close(fd)); }

int poll_fds(pollfd* fds, nfds_t count, int timeout_ms) { return result(poll(fds, count, timeout_ms)); }

int sys_epoll_create() { return result(epoll_create1(EPOLL_CLOEXEC)); }

int sys_epoll_ctl(int epoll_fd, int op, int fd, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return result(epoll_ctl(epoll_fd, op, fd, &ev));
}

int sys_epoll_wait(int epoll_fd, epoll_event* events, int max, int timeout_ms) {
  return result(epoll_wait(epoll_fd, events, max, timeout_ms));
}

int select_fds(int nfds, fd_set* readfds, fd_set* writefds, int64_t timeout_ns) {
  timeval tv, *tvp = nullptr;
  if (timeout_ns >= 0) {
    tv.tv_sec = timeout_ns / 1000000000;
    tv.tv_usec = (timeout_ns % 1000000000 + 999) / 1000;
    tvp = &tv;
  }
  return result(select(nfds, readfds, writefds, nullptr, tvp));
}

int poll_fds_until(pollfd* fds, nfds_t count, int timeout_ms) {
  const int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ns() + int64_t(timeout_ms) * 1000000;
  for (;;) {
    int res = poll_fds(fds, count, deadline < 0 ? -1 : poll_timeout_ms(deadline, monotonic_ns()));
    if (res != -EINTR) return res;
  }
}

int select_fds_until(int nfds, fd_set* readfds, fd_set* writefds, int64_t timeout_ns) {
  const int64_t deadline = timeout_ns < 0 ? -1 : monotonic_ns() + timeout_ns;
  const fd_set want_read = *readfds, want_write = *writefds;
  for (;;) {
    int64_t left = deadline < 0 ? -1 : std::max<int64_t>(0, deadline - monotonic_ns());
    int res = select_fds(nfds, readfds, writefds, left);
    if (res != -EINTR) return res;
    // After EINTR the sets are unspecified: ask for the same fds again.
    *readfds = want_read;
    *writefds = want_write;
  }
}

int wake_fd_open() { return result(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)); }

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

int deadline_fd_open() { return result(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)); }

int deadline_fd_arm(int fd, int64_t at_ns) {
  itimerspec spec{};  // all zero: disarmed
  if (at_ns >= 0) {
    // 0 would disarm it: an instant already past is the earliest one.
    const int64_t at = std::max<int64_t>(at_ns, 1);
    spec.it_value.tv_sec = time_t(at / 1000000000);
    spec.it_value.tv_nsec = long(at % 1000000000);
  }
  return result(timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr));
}

int deadline_fd_drain(int fd) { return wake_fd_drain(fd); }

int fd_is_open(int fd) { return fcntl(fd, F_GETFD) < 0 ? -errno : 0; }

uint64_t nofile_limit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return UINT64_MAX;
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : uint64_t(limit.rlim_cur);
}

std::string interface_name(unsigned index) {
  char name[IF_NAMESIZE];
  if (if_indextoname(index, name) == nullptr) return std::to_string(index);
  return name;
}

void sleep_ns(int64_t ns) {
  if (ns <= 0) return;
  timespec pause{time_t(ns / 1000000000), long(ns % 1000000000)};
  while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {
  }
}

int64_t deadline_after(int64_t start_ns, double timeout_ms) {
  if (!(timeout_ms >= 0)) return -1;
  // Compare in double before converting: a double past INT64_MAX converted
  // to int64_t is undefined behaviour, and so is the signed sum overflowing.
  const double room_ns = double(INT64_MAX - start_ns);
  const double timeout_ns = timeout_ms * 1e6;
  if (timeout_ns >= room_ns) return INT64_MAX;
  return start_ns + int64_t(timeout_ns);
}

int poll_timeout_ms(int64_t deadline_ns, int64_t now_ns) {
  if (deadline_ns < 0) return -1;
  int64_t left = deadline_ns - now_ns;
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : int(ms);
}

}  // namespace nbc
