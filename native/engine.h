// The epoll engine: every async connect of one Node environment with
// wait: 'epoll', run on that environment's own thread. No Node-API and no
// libuv in here: the binding (module.cpp) registers epoll_fd() in the
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
// Teardown (shutdown(), also from the destructor): close every started
// attempt's fd that is still its own and every fd of a finished attempt JS
// never took, then the epoll fd; queued attempts have no fd yet.
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

  // epoll_create1; 0 or -errno. After a failure open() may be tried again.
  int open();
  int epoll_fd() const { return epoll_fd_; }

  // The attempt's start_ns and deadline_ns are set; it starts later.
  void queue(std::unique_ptr<Attempt> attempt);
  bool has_queued() const { return next_queued_ < queued_.size(); }
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

  // Cancels an attempt not yet finished; it finishes as aborted.
  void cancel(uint64_t id);

  // Finished attempts, for the binding to hand to JS and clear.
  std::vector<std::unique_ptr<Attempt>>& finished() { return finished_; }
  // Attempts queued or started and not finished.
  size_t live() const { return live_.size(); }

  void shutdown();

 private:
  void watch(Attempt& a);
  void finish(Attempt& a);
  int wait_once();

  int epoll_fd_ = -1;
  std::vector<Attempt*> queued_;  // owned through live_
  size_t next_queued_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Attempt>> live_;
  TimerHeap timers_;
  std::vector<std::unique_ptr<Attempt>> finished_;
  std::vector<epoll_event> events_ = std::vector<epoll_event>(256);
  int last_wait_ret_ = 0;  // what the last epoll_wait returned
};

}  // namespace nbc
