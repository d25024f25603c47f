// The blocking path (connectSync): the whole algorithm on the calling
// thread, waiting on the one fd with poll, select or an epoll instance of its
// own under the attempt's deadline. The async paths are the waiter
// (waiter.cpp) and the epoll engine (engine.cpp).
#include <errno.h>

#include "posix_connect.h"

namespace nbc {

namespace {
// The blocking algorithm with epoll: an instance of its own, made after
// connect() and closed with the attempt. Its epoll_create1 is not a call on
// the socket and is traced only when it fails, as the verdict.
void connect_blocking_epoll(Attempt& a) {
  int epoll_fd = sys_epoll_create();
  if (epoll_fd < 0) {
    record(a, Call::kEpollCreate1, Arg::kNone, epoll_fd);
    return fail(a, -epoll_fd, Call::kEpollCreate1, Phase::kImmediate);
  }
  sleep_ns(a.wait_delay_ns);
  if (watch_epoll(a, epoll_fd)) {
    for (;;) {
      int64_t now = monotonic_ns();
      if (a.deadline_ns >= 0 && now >= a.deadline_ns) {
        if (unwatch_epoll(a, epoll_fd)) finish_timeout(a);
        break;
      }
      epoll_event ev{};
      int res = sys_epoll_wait(epoll_fd, &ev, 1, poll_timeout_ms(a.deadline_ns, now));
      record_epoll_wake(a, res, res > 0 ? ev.events : 0);
      if (res == -EINTR || res == 0) continue;
      if (res < 0) {
        fail(a, -res, Call::kEpollWait, Phase::kAsync);
        break;
      }
      finish_after_wake(a);
      break;
    }
  }
  sys_close(epoll_fd);
}
}  // namespace

void connect_blocking(Attempt& a) {
  // timeout: 0 has passed by now, as it has for a queued attempt: no SYN is
  // sent for a connect nobody waits for.
  if (expired_before_start(a, monotonic_ns()) || !start_connect(a)) return;
  if (a.wait == Wait::kEpoll) return connect_blocking_epoll(a);
  sleep_ns(a.wait_delay_ns);
  for (;;) {
    int64_t now = monotonic_ns();
    if (a.deadline_ns >= 0 && now >= a.deadline_ns) {
      if (confirm_own_socket(a)) finish_timeout(a);
      return;
    }
    int res;
    if (a.wait == Wait::kPoll) {
      pollfd p{a.fd, POLLOUT, 0};
      res = poll_fds(&p, 1, poll_timeout_ms(a.deadline_ns, now));
      record_poll_wake(a, res, res > 0 ? p.revents : 0);
    } else {
      // Read and write sets both, as in UNP's connect_nonb: a failed
      // connect shows in both, a connected one with early data too.
      fd_set rset, wset;
      FD_ZERO(&rset);
      FD_SET(a.fd, &rset);
      wset = rset;
      res = select_fds(a.fd + 1, &rset, &wset, a.deadline_ns < 0 ? -1 : a.deadline_ns - now);
      record_select_wake(a, res, res > 0 && FD_ISSET(a.fd, &rset), res > 0 && FD_ISSET(a.fd, &wset));
    }
    // EINTR: the remaining time is recomputed from the same deadline.
    if (res == -EINTR) continue;
    if (res < 0) return fail(a, -res, wait_call(a.wait), Phase::kAsync);
    // 0 is a timeout only once the deadline has really passed: poll's
    // millisecond rounding is upward, so this loops at most once more.
    if (res == 0) continue;
    if (a.wait == Wait::kPoll && (a.steps.back().revents & POLLNVAL)) return finish_fd_lost(a);
    return finish_after_wake(a);
  }
}

}  // namespace nbc
