// The waiter: one thread that owns every pending connect of one Node
// environment for one wait syscall, poll(2) or select(2). Free of Node-API,
// so a plain C++ harness can drive it.
//
// Ownership: an Attempt handed to submit() belongs to the waiter thread until
// it comes back through take_completions(). Only that thread touches its fd
// in between; cancel() and deadlines are messages the thread acts on, so an
// fd is never polled after it is closed and its number reused.
//
// Waking: a submission writes the eventfd only when the queue was empty and
// the thread is blocked in poll/select (or about to be).
// (Spinning briefly before blocking was measured and dropped: on two cores
// it cost more CPU and p99 than the wake it saved.)
//
// A failing wait syscall (poll/select returning -1 with anything but EINTR)
// never spins: deadlines are checked on every pass whatever the wait said;
// the attempts the kernel refuses fail with its errno (poll's EINVAL once
// nfds passes RLIMIT_NOFILE: those past the limit; select's EBADF: those
// whose number is gone); and every failing pass sleeps before the next, from
// 1 ms doubling to 64 ms, never past the nearest deadline (ENOMEM clears by
// itself, or not at all). An fd whose number is gone (POLLNVAL, EBADF) is
// never closed: the number may already be another thread's.
//
// Teardown order (shutdown()):
//   1. set exiting, under the queue lock;
//   2. wake the thread through the eventfd;
//   3. join it: from here on no other thread touches any Attempt;
//   4. close every pending fd still the attempt's own socket (SO_COOKIE: a
//      number closed behind our back may be another's by now), and every fd
//      of a completion JS never took;
//   5. close the eventfd.
// The binding then releases its thread-safe function, after the join, so
// the thread can never call into a released one.
#pragma once

#include <pthread.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "posix_connect.h"
#include "timer_heap.h"

namespace nbc {

class CompletionSink {
 public:
  // Called on the waiter thread when completions go from none to some.
  // Must not block; the sink later calls Waiter::take_completions().
  virtual void completions_ready() = 0;

 protected:
  ~CompletionSink() = default;
};

class Waiter {
 public:
  Waiter(Wait kind, CompletionSink* sink);
  ~Waiter();  // shutdown(), if not done already
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // What start() could not do: err is -errno, call the syscall that failed.
  struct StartError {
    int err = 0;
    const char* call = nullptr;
  };
  // Creates the eventfd and starts the thread; err 0 when both worked.
  // After a failure nothing is left open and start() may be called again.
  StartError start();

  // Any thread. The attempt's start_ns and deadline_ns are already set.
  void submit(std::unique_ptr<Attempt> attempt);
  void cancel(uint64_t id);

  // Any thread; moves every finished attempt into `out`.
  void take_completions(std::vector<std::unique_ptr<Attempt>>& out);

  void shutdown();

 private:
  static void* thread_main(void* waiter);
  void run();
  bool intake();
  void start_new(std::vector<std::unique_ptr<Attempt>>& fresh, std::vector<uint64_t>& cancels);
  void add_pending(std::unique_ptr<Attempt> attempt);
  void unpark(int64_t now);
  std::unique_ptr<Attempt> remove_pending(size_t index);
  void complete(std::unique_ptr<Attempt> attempt);
  int64_t nearest_timer() const;
  void wait_and_finish();
  void finish_ready(int ret, const fd_set& rset, const fd_set& wset);
  void finish_expired(int64_t now, int ret);
  int wait_syscall(int64_t nearest, int64_t now, fd_set& rset, fd_set& wset);
  void refuse_after_failed_wait(int err);
  void publish();
  template <typename Push>
  void enqueue(Push push);

  const Wait kind_;
  CompletionSink* const sink_;
  int wake_fd_ = -1;
  pthread_t thread_{};
  bool started_ = false;
  bool shut_down_ = false;

  // Shared with other threads, under queue_mutex_.
  std::mutex queue_mutex_;
  bool exiting_ = false;
  std::vector<std::unique_ptr<Attempt>> submitted_;
  std::vector<uint64_t> cancelled_;
  // While the thread is awake nobody needs to write the eventfd.
  std::atomic<bool> blocked_{false};

  std::mutex done_mutex_;
  std::vector<std::unique_ptr<Attempt>> done_;

  // The waiter thread's own, until it is joined.
  std::vector<std::unique_ptr<Attempt>> pending_;   // pending_[i] <-> pollfds_[i + 1]
  std::vector<pollfd> pollfds_;                     // [0] is the eventfd
  fd_set select_watched_;                           // select: the eventfd and every pending fd
  int select_nfds_ = 0;                             // select: above every number in it
  uint32_t select_refs_[FD_SETSIZE] = {};           // select: pending entries per number
  std::unordered_map<uint64_t, size_t> index_of_;   // id -> index in pending_
  std::vector<std::unique_ptr<Attempt>> finished_;  // not yet published
  // Connected-in-progress attempts with a wait delay, not yet watched.
  std::unordered_map<uint64_t, std::unique_ptr<Attempt>> parked_;
  // Min-heaps (timer_heap.h) over pending deadlines and over the parked
  // attempts' ends of delay: the nearest instant is a heap top and a due
  // one leaves in O(log n), so no pass scans every attempt for its time.
  // An attempt is in at most one of them, which is what lets the two share
  // Attempt::timer.
  TimerHeap deadlines_;
  TimerHeap unpark_at_;
  int64_t failing_backoff_ns_ = 0;  // 0 while the wait syscall works
};

}  // namespace nbc
