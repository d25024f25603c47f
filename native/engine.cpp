#include "engine.h"

#include <errno.h>

namespace nbc {

int Engine::open() {
  if (epoll_fd_ >= 0) return 0;
  int fd = sys_epoll_create();
  if (fd < 0) return fd;
  int clock = deadline_fd_open();
  int res = clock < 0 ? clock : sys_epoll_ctl(fd, EPOLL_CTL_ADD, clock, EPOLLIN, kDeadlineToken);
  if (res < 0) {
    if (clock >= 0) sys_close(clock);
    sys_close(fd);
    return res;
  }
  epoll_fd_ = fd;
  deadline_fd_ = clock;
  return 0;
}

void Engine::arm_deadline() {
  const int64_t next = next_timer_ns();
  if (next == deadline_armed_ns_) return;
  // A failure leaves the clock as it was; the next rearm tries again.
  if (deadline_fd_arm(deadline_fd_, next) == 0) deadline_armed_ns_ = next;
}

// The binding mints ids once per environment, so an id is never live twice:
// the queue can hold the pointer live_ owns.
void Engine::queue(std::unique_ptr<Attempt> attempt) {
  Attempt* a = attempt.get();
  a->engine.stage = EngineSlot::Stage::kQueued;
  live_.emplace(a->id, std::move(attempt));
  queued_.push_back(a);
}

void Engine::start_queued(size_t limit) {
  for (size_t n = 0; n < limit && has_queued(); n++) {
    Attempt& a = *queued_[next_queued_++];
    if (a.engine.cancel_requested) {
      finish_aborted(a);
      finish(a);
    } else if (expired_before_start(a, monotonic_ns())) {
      // Its deadline passed while it queued behind a burst: starting it now
      // would be a connect nobody waits for any more.
      finish(a);
    } else if (!start_connect(a)) {
      finish(a);
    } else if (a.wait_delay_ns > 0) {
      a.engine.stage = EngineSlot::Stage::kParked;
      a.timer.due_ns = monotonic_ns() + a.wait_delay_ns;
      timers_.push(&a);
    } else {
      watch(a);
    }
  }
  if (!has_queued()) {
    queued_.clear();
    next_queued_ = 0;
  }
}

void Engine::watch(Attempt& a) {
  a.engine.stage = EngineSlot::Stage::kWatched;
  if (!watch_epoll(a, epoll_fd_)) return finish(a);
  if (a.deadline_ns >= 0) {
    a.timer.due_ns = a.deadline_ns;
    timers_.push(&a);
  }
}

int Engine::wait_once() {
  int n = sys_epoll_wait(epoll_fd_, events_.data(), int(events_.size()), 0);
  last_wait_ret_ = n;
  for (int i = 0; i < n; i++) {
    // An id, not a pointer: a registration belongs to the open file, not the
    // number, so when the number was closed behind our back while another
    // process holds the socket, it outlives the attempt, which ended when it
    // found the number was no longer its own. Such a stale registration
    // fires at most once (EPOLLONESHOT) with an id that is no longer live.
    if (events_[i].data.u64 == kDeadlineToken) {
      // The clock rang: expire() finds what is due.
      deadline_fd_drain(deadline_fd_);
      deadline_armed_ns_ = -1;
      continue;
    }
    auto it = live_.find(events_[i].data.u64);
    if (it == live_.end() || it->second->engine.stage != EngineSlot::Stage::kWatched) continue;
    Attempt& a = *it->second;
    timers_.remove(&a);
    record_epoll_wake(a, n, events_[i].events);
    finish_after_wake(a);
    finish(a);
  }
  return n;
}

void Engine::collect_ready() {
  // A full batch may have left more behind; EINTR is one more pass.
  for (int n; (n = wait_once()) == int(events_.size()) || n == -EINTR;) {
  }
}

bool Engine::expire(int64_t now, size_t limit) {
  bool looked = false;
  size_t expired = 0;
  while (Attempt* a = timers_.top()) {
    if (a->timer.due_ns > now) break;
    if (expired == limit) return true;
    if (!looked) {
      // The last look may finish the very attempts due here.
      collect_ready();
      looked = true;
      continue;
    }
    timers_.pop();
    if (a->engine.stage == EngineSlot::Stage::kParked) {
      // Its number may have been closed behind our back while it waited,
      // and be another socket's now: an EPOLL_CTL_ADD on it would say
      // EEXIST (another attempt's registration) and the failure's close
      // would close that socket.
      if (confirm_own_socket(*a))
        watch(*a);
      else
        finish(*a);
      continue;
    }
    // The pass that found the deadline: this fd was not in the ready list.
    record_epoll_wake(*a, last_wait_ret_ < 0 ? 0 : last_wait_ret_, 0);
    a->engine.unwatch_after_settle = true;
    settle_open(*a, ETIMEDOUT, Phase::kTimeout);
    finish(*a);
    expired++;
  }
  return false;
}

int64_t Engine::next_timer_ns() const {
  const Attempt* a = timers_.top();
  return a ? a->timer.due_ns : -1;
}

void Engine::cancel(uint64_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;  // already finished: its verdict stands
  Attempt& a = *it->second;
  switch (a.engine.stage) {
    case EngineSlot::Stage::kQueued:
      // Its turn comes in start_queued, which finishes it without a syscall.
      a.engine.cancel_requested = true;
      return;
    case EngineSlot::Stage::kParked:
    case EngineSlot::Stage::kWatched:
      timers_.remove(&a);
      a.engine.unwatch_after_settle = a.engine.stage == EngineSlot::Stage::kWatched;
      settle_open(a, ECANCELED, Phase::kAborted);
      return finish(a);
  }
}

void Engine::adopt_settled(std::unique_ptr<Attempt> attempt) { settled_.push_back(std::move(attempt)); }

bool Engine::close_settled(size_t limit, bool yield_to_deadlines) {
  if (next_settled_ == settled_.size()) return false;
  for (size_t n = 0; n < limit && next_settled_ < settled_.size(); n++) {
    // A deadline due now settles before more closes of connects are made:
    // they can wait a little, it cannot (a thousand deadlines due within a
    // few ms would otherwise wait for each other's closes, ~9 us each). Not
    // a probe's: its close is part of its verdict. A little: once the
    // oldest close has waited kCloseLagNs since its verdict, the slice goes
    // on, so a steady stream of deadlines cannot hold closes back.
    const Attempt& oldest = *settled_[next_settled_];
    if (yield_to_deadlines && n > 0 && (n & 7) == 0 && !oldest.close_when_connected) {
      const Attempt* due = timers_.top();
      const int64_t now = monotonic_ns();
      if (due && due->timer.due_ns <= now && now - oldest.end_ns < kCloseLagNs) break;
    }
    auto& a = settled_[next_settled_++];
    close_after_settle(*a, epoll_fd_, a->engine.unwatch_after_settle);
    finished_.push_back(std::move(a));
  }
  if (next_settled_ == settled_.size()) {
    settled_.clear();
    next_settled_ = 0;
  }
  return true;
}

// The attempt has its verdict: it moves from live_ to finished_.
void Engine::finish(Attempt& a) {
  auto node = live_.extract(a.id);
  finished_.push_back(std::move(node.mapped()));
}

void Engine::shutdown() {
  for (auto& [id, a] : live_)
    if (a->fd >= 0 && is_own_socket(*a)) sys_close(a->fd);
  live_.clear();
  queued_.clear();
  next_queued_ = 0;
  // A finished attempt's fd is connected and confirmed at its wake, unless
  // it was settled before its close: that one is checked first.
  for (auto& a : finished_)
    if (a->fd >= 0 && (a->sequel != Sequel::kCloseFollows || is_own_socket(*a))) sys_close(a->fd);
  finished_.clear();
  for (auto& a : settled_)
    if (a && a->fd >= 0 && is_own_socket(*a)) sys_close(a->fd);
  settled_.clear();
  next_settled_ = 0;
  if (deadline_fd_ >= 0) sys_close(deadline_fd_);
  deadline_fd_ = -1;
  deadline_armed_ns_ = -1;
  if (epoll_fd_ >= 0) sys_close(epoll_fd_);
  epoll_fd_ = -1;
}

}  // namespace nbc
