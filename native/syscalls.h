// One thin wrapper per syscall, for the algorithm (posix_connect.cpp), the
// waiter, the epoll engine and the step-by-step API alike, apart from the
// algorithm as socket2 keeps its sys layer apart from its Socket. Each makes
// exactly one call and returns its result, or -errno read right after it
// (libuv's convention); none records a step or decides anything. No Node-API.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nbc {

// struct tcp_info as linux/tcp.h has it today. glibc's copy stops at
// tcpi_total_retrans; the kernel fills what it knows and says how much
// through getsockopt's length, so a field past that length is absent, not 0.
struct KernelTcpInfo {
  uint8_t state, ca_state, retransmits, probes, backoff, options;
  uint8_t snd_wscale : 4, rcv_wscale : 4;
  uint8_t delivery_rate_app_limited : 1, fastopen_client_fail : 2;
  uint32_t rto, ato, snd_mss, rcv_mss;
  uint32_t unacked, sacked, lost, retrans, fackets;
  uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
  uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
  uint32_t rcv_rtt, rcv_space;
  uint32_t total_retrans;
  uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
  uint32_t segs_out, segs_in;
  uint32_t notsent_bytes, min_rtt;
  uint32_t data_segs_in, data_segs_out;
  uint64_t delivery_rate;
  uint64_t busy_time, rwnd_limited, sndbuf_limited;
  uint32_t delivered, delivered_ce;
  uint64_t bytes_sent, bytes_retrans;
  uint32_t dsack_dups, reord_seen;
  uint32_t rcv_ooopack;
  uint32_t snd_wnd;
};

// CLOCK_MONOTONIC in nanoseconds.
int64_t monotonic_ns();

// The deadline `timeout_ms` after `start_ns`, saturated: a timeout past
// what CLOCK_MONOTONIC's int64 nanoseconds can hold (about 292 years) is a
// deadline never reached. Negative or NaN: -1, no deadline.
int64_t deadline_after(int64_t start_ns, double timeout_ms);

// Milliseconds for poll(2), rounded up so a wait never ends before the
// deadline; -1 for none.
int poll_timeout_ms(int64_t deadline_ns, int64_t now_ns);

int sys_socket(int family, int protocol = 0);  // SOCK_STREAM | SOCK_CLOEXEC
int sys_setsockopt_bytes(int fd, int level, int name, const void* value, socklen_t len);
// *len is the room at value on the way in, what the kernel wrote on the way out.
int sys_getsockopt_bytes(int fd, int level, int name, void* value, socklen_t* len);
// TCP_INFO; *len is how much of *info the kernel filled.
int sys_getsockopt_tcp_info(int fd, KernelTcpInfo* info, socklen_t* len);
int sys_fcntl(int fd, int cmd, int arg);
int sys_setsockopt_int(int fd, int level, int name, int value);
int sys_setsockopt_linger(int fd, int on, int seconds);
int sys_bind(int fd, const void* addr, socklen_t len);
int sys_connect(int fd, const void* addr, socklen_t len);
int sys_getsockopt_so_error(int fd, int* value);
// *len is the room at addr on the way in, the name's length on the way out.
int sys_getsockname(int fd, void* addr, socklen_t* len);
int sys_getpeername(int fd, void* addr, socklen_t* len);
int sys_read(int fd, void* buf, size_t n);
int sys_close(int fd);
int poll_fds(pollfd* fds, nfds_t count, int timeout_ms);
int sys_epoll_create();  // epoll_create1(EPOLL_CLOEXEC)
int sys_epoll_ctl(int epoll_fd, int op, int fd, uint32_t events, uint64_t data);
// getsockopt(SO_COOKIE): the socket's 64-bit identity, unique until reboot.
int sys_getsockopt_cookie(int fd, uint64_t* cookie);
int sys_epoll_wait(int epoll_fd, struct epoll_event* events, int max, int timeout_ms);

// How many socket calls (socket through close, not the waits) the wrappers
// above have made in this process.
uint64_t socket_calls();
// timeout_ns < 0 blocks; the timeval is rounded up to the next microsecond.
int select_fds(int nfds, fd_set* readfds, fd_set* writefds, int64_t timeout_ns);
// The same, for a caller that wants the wait and not a signal's EINTR: they
// wait again for what is left of the same deadline, so the clock never
// restarts. The step-by-step API uses these.
int poll_fds_until(pollfd* fds, nfds_t count, int timeout_ms);
int select_fds_until(int nfds, fd_set* readfds, fd_set* writefds, int64_t timeout_ns);
int wake_fd_open();  // eventfd
// The epoll engine's clock: a timerfd on CLOCK_MONOTONIC, armed for an
// absolute instant in ns (-1 disarms it), drained once it rang.
int deadline_fd_open();
int deadline_fd_arm(int fd, int64_t at_ns);
int deadline_fd_drain(int fd);
// fcntl(F_GETFD): 0 if fd is open, -EBADF if not. Not counted as a socket call.
int fd_is_open(int fd);
// getrlimit(RLIMIT_NOFILE): the soft limit, which bounds poll's nfds.
uint64_t nofile_limit();
// if_indextoname(3): an IPv6 zone's interface name, or its number when the
// index names no interface now (it may have gone since the connect).
std::string interface_name(unsigned index);
// nanosleep for `ns`, resumed after EINTR.
void sleep_ns(int64_t ns);
int wake_fd_signal(int fd);
int wake_fd_drain(int fd);

}  // namespace nbc
