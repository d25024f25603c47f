// The epoll engine: every async connect of one Node environment with
// wait: 'epoll', run on that environment's own thread. No Node-API and no
// libuv in here: the binding (engine_binding.cpp) registers epoll_fd() in the
// environment's libuv loop and calls the entry points below from its
// callbacks, so readiness arrives on the JS thread with no thread hop.
//
// Cost per event does not grow with the pending count: epoll_wait returns
// only the ready fds, and deadlines and wait delays sit in a min-heap
// (timer_heap.h), so a wake costs O(ready + log pending).
//
// Starts are queued, not made inside the caller's connect(): a burst of
// ten thousand calls costs the caller a queue push each, and the binding
// runs the syscalls in slices between other I/O (start_queued).
//
// Ownership: an Attempt handed to queue() belongs to the engine until it is
// taken from finished(). Its id (unique, minted by the binding) is what
// epoll carries, never its address. Before the engine acts on a number at a
// wake, a deadline, a cancel or the end of a wait delay, it confirms the
// number still names the attempt's socket (confirm_own_socket, by
// SO_COOKIE): a number closed behind its back may already be another
// socket's.
// A deadline or a cancel settles first: its verdict (made with no syscall,
// settle_open) goes to JS with the socket still open, and the binding hands
// the attempt back (adopt_settled); close_settled then, after JS has run,
// confirms, unwatches and closes each, a slice per turn of the loop and
// before each slice of new starts, and finishes it again with the steps taken
// (Sequel::kSteps) for JS to add to the trace. A close costs about 9 us
// (SO_COOKIE, EPOLL_CTL_DEL, close(2) of a SYN_SENT socket): a thousand
// made before their verdicts, or all at once after them, would hold back
// the deadlines that fall a millisecond later; so a slice of closes also
// stops for a deadline that fell due while it ran (a connect's close, not
// a probe's, whose verdict waits for it), unless a close has waited 10 ms
// since its verdict.
//
// Teardown (shutdown(), also from the destructor): close every started
// attempt's fd that is still its own, every fd of a finished attempt JS
// never took (still its own, for one settled before its close) and of
// every settled attempt awaiting its close, then the epoll fd; queued
// attempts have no fd yet.
#pragma once

#include <sys/epoll.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "posix_connect.h"
#include "timer_heap.h"

namespace nbc {

class Engine {
 public:
  Engine() = default;
  ~Engine() { shutdown(); }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // epoll_create1 and the clock (timerfd_create, in the epoll set); 0 or
  // -errno. After a failure open() may be tried again.
  int open();
  int epoll_fd() const { return epoll_fd_; }

  // The attempt's start_ns and deadline_ns are set; it starts later.
  void queue(std::unique_ptr<Attempt> attempt);
  bool has_queued() const { return next_queued_ < queued_.size(); }
  size_t queued_count() const { return queued_.size() - next_queued_; }
  // Starts up to `limit` queued attempts, oldest first.
  void start_queued(size_t limit);

  // epoll_wait(0) until the ready list is drained: finishes every attempt
  // whose socket is ready.
  void collect_ready();
  // Finishes up to `limit` deadlines due by `now` (after one last look at
  // the ready list: a verdict the kernel has already given wins over the
  // deadline), and watches every attempt whose wait delay is over. True
  // when more are due: the caller hands these to JS first, so that a
  // thousand deadlines at once settle in order, not all at the last one's
  // time.
  bool expire(int64_t now, size_t limit);
  // The heap's nearest instant, CLOCK_MONOTONIC ns; -1 when none.
  int64_t next_timer_ns() const;
  // Arms the engine's clock, a timerfd in its own epoll set, for that
  // instant: the epoll fd turns readable then, to the ns, where a libuv
  // timer counts whole ms from a cached time and rounds up (up to ~1 ms
  // late per deadline). A no-op when it is armed for it already.
  void arm_deadline();

  // Cancels an attempt not yet finished; it finishes as aborted.
  void cancel(uint64_t id);

  // Finished attempts, for the binding to hand to JS and clear.
  std::vector<std::unique_ptr<Attempt>>& finished() { return finished_; }
  // An attempt JS has the verdict of, whose socket is still open
  // (Sequel::kCloseFollows), back from the binding for its close.
  void adopt_settled(std::unique_ptr<Attempt> attempt);
  bool has_settled() const { return next_settled_ < settled_.size(); }
  // Closes up to `limit` adopted attempts' sockets, oldest first, and
  // finishes each again with the steps that took (Sequel::kSteps); with
  // `yield_to_deadlines`, stops early when a deadline is due, unless the
  // oldest close has waited kCloseLagNs. True if there were any to close.
  bool close_settled(size_t limit, bool yield_to_deadlines = false);
  // Attempts queued or started and not finished.
  size_t live() const { return live_.size(); }

  void shutdown();

 private:
  void watch(Attempt& a);
  void finish(Attempt& a);
  int wait_once();

  // How long a close may wait after its verdict while deadlines fall due.
  static constexpr int64_t kCloseLagNs = 10'000'000;
  // Attempt ids start at 1: 0 marks the clock's events.
  static constexpr uint64_t kDeadlineToken = 0;
  int epoll_fd_ = -1;
  int deadline_fd_ = -1;
  int64_t deadline_armed_ns_ = -1;
  std::vector<Attempt*> queued_;  // owned through live_
  size_t next_queued_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Attempt>> live_;
  TimerHeap timers_;
  std::vector<std::unique_ptr<Attempt>> finished_;
  std::vector<std::unique_ptr<Attempt>> settled_;  // adopted, awaiting close_settled
  size_t next_settled_ = 0;
  std::vector<epoll_event> events_ = std::vector<epoll_event>(256);
  int last_wait_ret_ = 0;  // what the last epoll_wait returned
};

}  // namespace nbc
