#include "waiter.h"

#include <errno.h>
#include <signal.h>

#include <algorithm>
#include <initializer_list>
#include <unordered_set>

namespace nbc {

Waiter::Waiter(Wait kind, CompletionSink* sink) : kind_(kind), sink_(sink) {}

Waiter::~Waiter() { shutdown(); }

Waiter::StartError Waiter::start() {
  int fd = wake_fd_open();
  if (fd < 0) return {fd, "eventfd"};
  if (kind_ == Wait::kSelect && fd >= FD_SETSIZE) {
    sys_close(fd);
    return {-EMFILE, "eventfd"};
  }

  // The thread reads these from its first instruction on.
  wake_fd_ = fd;
  pollfds_.assign(1, pollfd{wake_fd_, POLLIN, 0});
  FD_ZERO(&select_watched_);
  FD_SET(wake_fd_, &select_watched_);
  select_nfds_ = wake_fd_ + 1;

  // Signals go to the JS threads, never here: the waiter would only see
  // EINTR, and a handler written for JS must not run on this thread.
  // pthread_create, not std::thread: with exceptions off, std::thread's
  // failure is std::terminate, and a full thread table must be an error.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&thread_, nullptr, &Waiter::thread_main, this);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    pollfds_.clear();
    wake_fd_ = -1;
    sys_close(fd);
    return {-rc, "pthread_create"};
  }
  started_ = true;
  return {};
}

void* Waiter::thread_main(void* waiter) {
  static_cast<Waiter*>(waiter)->run();
  return nullptr;
}

template <typename Push>
void Waiter::enqueue(Push push) {
  bool was_idle;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    was_idle = submitted_.empty() && cancelled_.empty();
    push();
  }
  // The thread drains the whole queue per wake: one eventfd write per burst,
  // and none while it is awake. blocked_ is set before the thread's last
  // look at the queue, so a push it missed always sees blocked_ here.
  if (was_idle && blocked_.load(std::memory_order_seq_cst)) wake_fd_signal(wake_fd_);
}

void Waiter::submit(std::unique_ptr<Attempt> attempt) {
  enqueue([&] { submitted_.push_back(std::move(attempt)); });
}

void Waiter::cancel(uint64_t id) {
  enqueue([&] { cancelled_.push_back(id); });
}

void Waiter::take_completions(std::vector<std::unique_ptr<Attempt>>& out) {
  std::lock_guard<std::mutex> lock(done_mutex_);
  if (out.empty()) {
    out.swap(done_);
  } else {
    for (auto& a : done_) out.push_back(std::move(a));
    done_.clear();
  }
}

void Waiter::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (started_) {
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      exiting_ = true;
    }
    wake_fd_signal(wake_fd_);
    pthread_join(thread_, nullptr);
  }
  for (auto& a : pending_)
    if (confirm_own_socket(*a)) finish_aborted(*a);
  pending_.clear();
  for (auto& [id, a] : parked_)
    if (confirm_own_socket(*a)) finish_aborted(*a);
  parked_.clear();
  auto close_owned = [](std::vector<std::unique_ptr<Attempt>>& list) {
    for (auto& a : list)
      if (a->fd >= 0) sys_close(a->fd);
    list.clear();
  };
  close_owned(finished_);
  close_owned(done_);
  // Never started: no fd yet.
  submitted_.clear();
  if (wake_fd_ >= 0) sys_close(wake_fd_);
  wake_fd_ = -1;
}

void Waiter::run() {
  while (intake()) {
    publish();
    wait_and_finish();
  }
}

// Takes and starts what was queued; false once the thread must exit.
bool Waiter::intake() {
  std::vector<std::unique_ptr<Attempt>> fresh;
  std::vector<uint64_t> cancels;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (exiting_) return false;
    fresh.swap(submitted_);
    cancels.swap(cancelled_);
  }
  start_new(fresh, cancels);
  return true;
}

void Waiter::start_new(std::vector<std::unique_ptr<Attempt>>& fresh, std::vector<uint64_t>& cancels) {
  // A cancel may overtake its own submission in one batch: such an attempt
  // finishes as aborted without a single syscall.
  std::unordered_set<uint64_t> cancel_now(cancels.begin(), cancels.end());
  for (auto& a : fresh) {
    if (!cancel_now.empty() && cancel_now.erase(a->id)) {
      finish_aborted(*a);
      complete(std::move(a));
    } else if (expired_before_start(*a, monotonic_ns())) {
      complete(std::move(a));
    } else if (start_connect(*a)) {
      if (a->wait_delay_ns > 0) {
        a->timer.due_ns = monotonic_ns() + a->wait_delay_ns;
        unpark_at_.push(a.get());
        uint64_t id = a->id;
        parked_.emplace(id, std::move(a));
      } else {
        add_pending(std::move(a));
      }
    } else {
      complete(std::move(a));
    }
  }
  for (uint64_t id : cancel_now) {
    std::unique_ptr<Attempt> a;
    auto it = index_of_.find(id);
    if (it != index_of_.end()) {
      a = remove_pending(it->second);
    } else {
      auto parked = parked_.find(id);
      if (parked == parked_.end()) continue;  // already finished: its verdict stands
      a = std::move(parked->second);
      parked_.erase(parked);
      unpark_at_.remove(a.get());
    }
    if (confirm_own_socket(*a)) finish_aborted(*a);
    complete(std::move(a));
  }
}

// A parked attempt joins the watched set once its wait delay has passed.
void Waiter::unpark(int64_t now) {
  while (Attempt* due = unpark_at_.top()) {
    if (due->timer.due_ns > now) break;
    unpark_at_.pop();
    auto parked = parked_.find(due->id);
    std::unique_ptr<Attempt> a = std::move(parked->second);
    parked_.erase(parked);
    add_pending(std::move(a));
  }
}

void Waiter::add_pending(std::unique_ptr<Attempt> attempt) {
  if (attempt->deadline_ns >= 0) {
    attempt->timer.due_ns = attempt->deadline_ns;
    deadlines_.push(attempt.get());
  }
  if (kind_ == Wait::kSelect) {
    // start_connect() refused every fd >= FD_SETSIZE, so this is in range.
    if (select_refs_[attempt->fd]++ == 0) FD_SET(attempt->fd, &select_watched_);
    select_nfds_ = std::max(select_nfds_, attempt->fd + 1);
  }
  index_of_[attempt->id] = pending_.size();
  pollfds_.push_back(pollfd{attempt->fd, POLLOUT, 0});
  pending_.push_back(std::move(attempt));
}

// Swap-remove: O(1), and the moved entry's index is fixed up.
std::unique_ptr<Attempt> Waiter::remove_pending(size_t index) {
  std::unique_ptr<Attempt> a = std::move(pending_[index]);
  index_of_.erase(a->id);
  deadlines_.remove(a.get());
  if (kind_ == Wait::kSelect) {
    // Counted: a number closed behind our back and reused by a newer
    // attempt is in the list twice, and the newer one stays watched.
    if (--select_refs_[a->fd] == 0) FD_CLR(a->fd, &select_watched_);
    // nfds only shrinks when nothing is left; until then a high bound
    // costs select a few more bits to look at, not a wrong answer.
    if (pending_.size() == 1) select_nfds_ = wake_fd_ + 1;
  }
  size_t last = pending_.size() - 1;
  if (index != last) {
    pending_[index] = std::move(pending_[last]);
    pollfds_[index + 1] = pollfds_[last + 1];
    index_of_[pending_[index]->id] = index;
  }
  pending_.pop_back();
  pollfds_.pop_back();
  return a;
}

void Waiter::complete(std::unique_ptr<Attempt> attempt) { finished_.push_back(std::move(attempt)); }

void Waiter::publish() {
  if (finished_.empty()) return;
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    was_empty = done_.empty();
    if (was_empty) {
      done_.swap(finished_);
    } else {
      for (auto& a : finished_) done_.push_back(std::move(a));
      finished_.clear();
    }
  }
  // One crossing into JS per batch: a sink call is needed only when JS has
  // nothing left to take, otherwise its pending take will see these too.
  if (was_empty) sink_->completions_ready();
}

// The nearest instant the thread must wake for: a deadline or the end of
// a wait delay; -1 for none. O(1): both are heap tops.
int64_t Waiter::nearest_timer() const {
  int64_t nearest = -1;
  for (const TimerHeap* heap : {&deadlines_, &unpark_at_})
    if (Attempt* top = heap->top(); top && (nearest < 0 || top->timer.due_ns < nearest))
      nearest = top->timer.due_ns;
  return nearest;
}

void Waiter::wait_and_finish() {
  int64_t now = monotonic_ns();
  unpark(now);
  const int64_t nearest = nearest_timer();

  // Announce the block, then look at the queue one last time: a submission
  // from here on sees blocked_ and writes the eventfd.
  blocked_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (!submitted_.empty() || !cancelled_.empty() || exiting_) {
      blocked_.store(false, std::memory_order_relaxed);
      return;
    }
  }
  fd_set rset, wset;
  int ret = wait_syscall(nearest, now, rset, wset);
  blocked_.store(false, std::memory_order_relaxed);
  // EINTR cannot come (signals are blocked); if it does, it is a pass like
  // any other, with nothing ready.
  if (ret < 0 && ret != -EINTR) {
    refuse_after_failed_wait(-ret);
    // Back off, but never past the nearest deadline.
    failing_backoff_ns_ =
        failing_backoff_ns_ == 0 ? 1000000 : std::min<int64_t>(failing_backoff_ns_ * 2, 64000000);
    int64_t pause = failing_backoff_ns_;
    if (nearest >= 0) pause = std::min(pause, nearest - monotonic_ns());
    sleep_ns(pause);
  } else if (ret >= 0) {
    failing_backoff_ns_ = 0;
  }
  if (ret > 0) finish_ready(ret, rset, wset);
  // A wake wins over a deadline reached in the same instant (SO_ERROR has
  // the kernel's verdict, and it is already there), so deadlines come
  // second, and they are checked on every pass, whatever the wait returned.
  finish_expired(monotonic_ns(), ret);
}

// Finishes the attempts the wait found ready. poll and select say how many
// they found (select counts an fd once per set), so the walk stops at the
// last one: with few ready among thousands pending it is short on average,
// and never longer than the kernel's own walk of the same list.
void Waiter::finish_ready(int ret, const fd_set& rset, const fd_set& wset) {
  int unseen = ret;
  if (kind_ == Wait::kPoll ? (pollfds_[0].revents & POLLIN) : FD_ISSET(wake_fd_, &rset)) {
    wake_fd_drain(wake_fd_);
    unseen--;
  }
  // Backwards, so swap-removal only ever moves an entry already seen.
  for (size_t i = pending_.size(); unseen > 0 && i-- > 0;) {
    short revents = 0;
    bool readable = false, writable = false;
    if (kind_ == Wait::kPoll) {
      revents = pollfds_[i + 1].revents;
      if (revents == 0) continue;
      unseen--;
    } else {
      readable = FD_ISSET(pending_[i]->fd, &rset);
      writable = FD_ISSET(pending_[i]->fd, &wset);
      if (!readable && !writable) continue;
      unseen -= int(readable) + int(writable);
    }
    auto owned = remove_pending(i);
    if (kind_ == Wait::kPoll)
      record_poll_wake(*owned, ret, revents);
    else
      record_select_wake(*owned, ret, readable, writable);
    if (revents & POLLNVAL)
      finish_fd_lost(*owned);
    else
      finish_after_wake(*owned);
    complete(std::move(owned));
  }
}

// Finishes every pending attempt whose deadline is due by `now`, earliest
// first: O(expired x log pending). `ret` is what the pass's wait returned,
// for each one's trace.
void Waiter::finish_expired(int64_t now, int ret) {
  while (Attempt* due = deadlines_.top()) {
    if (due->deadline_ns > now) break;
    auto owned = remove_pending(index_of_.at(due->id));
    if (kind_ == Wait::kPoll)
      record_poll_wake(*owned, ret, 0);
    else
      record_select_wake(*owned, ret, false, false);
    if (confirm_own_socket(*owned)) finish_timeout(*owned);
    complete(std::move(owned));
  }
}

// One poll(2) or select(2) over the eventfd and every pending fd, until the
// nearest deadline. Returns its result or -errno.
int Waiter::wait_syscall(int64_t nearest, int64_t now, fd_set& rset, fd_set& wset) {
  if (kind_ == Wait::kPoll) return poll_fds(pollfds_.data(), pollfds_.size(), poll_timeout_ms(nearest, now));
  // Copies of the watched set, kept up to date as attempts come and go:
  // two 128-byte copies instead of a walk over every pending attempt.
  rset = select_watched_;
  wset = select_watched_;
  FD_CLR(wake_fd_, &wset);
  return select_fds(select_nfds_, &rset, &wset, nearest < 0 ? -1 : std::max<int64_t>(0, nearest - now));
}

// The wait syscall failed with `err`. Fails the attempts it refuses, so the
// next pass can succeed; ENOMEM (and anything unforeseen) refuses none, and
// the caller's backoff and the deadlines bound the wait.
void Waiter::refuse_after_failed_wait(int err) {
  if (err == EINVAL && kind_ == Wait::kPoll) {
    // poll(2): nfds over RLIMIT_NOFILE. The eventfd stays; the attempts
    // past the limit fail, newest first.
    uint64_t limit = nofile_limit();
    size_t keep = limit > pending_.size() ? pending_.size() : limit == 0 ? 0 : size_t(limit - 1);
    for (size_t i = pending_.size(); i-- > keep;) {
      auto owned = remove_pending(i);
      fail_wait(*owned, err);
      complete(std::move(owned));
    }
  } else if (err == EBADF) {
    // select(2): a number in the set is closed. Only an fd closed behind
    // our back can be; find it, and leave the number alone.
    for (size_t i = pending_.size(); i-- > 0;) {
      if (fd_is_open(pending_[i]->fd) == 0) continue;
      auto owned = remove_pending(i);
      record_select_wake(*owned, -EBADF, false, false);
      finish_fd_lost(*owned);
      complete(std::move(owned));
    }
  }
}

}  // namespace nbc
