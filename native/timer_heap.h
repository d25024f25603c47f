// A binary min-heap of attempts ordered by Attempt::timer (due_ns, then the
// order of their pushes), intrusive as libuv's timer heap is: each attempt
// knows its own place (TimerSlot::index), so a connect that finishes before
// its deadline leaves the heap in O(log n) instead of waiting there until
// the deadline it no longer has. Equal instants fire in the order they were
// pushed, as libuv's timers break ties by their start_id: a heap alone
// would give no particular order.
#pragma once

#include <cstdint>
#include <vector>

#include "posix_connect.h"

namespace nbc {

class TimerHeap {
 public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  Attempt* top() const { return items_.empty() ? nullptr : items_.front(); }

  void push(Attempt* a) {
    a->timer.seq = pushes_++;
    a->timer.index = uint32_t(items_.size());
    items_.push_back(a);
    sift_up(a->timer.index);
  }

  // No-op for an attempt that is not in the heap.
  void remove(Attempt* a) {
    uint32_t i = a->timer.index;
    if (i == kNone) return;
    a->timer.index = kNone;
    Attempt* last = items_.back();
    items_.pop_back();
    if (last == a) return;
    items_[i] = last;
    last->timer.index = i;
    sift_down(i);
    sift_up(last->timer.index);
  }

  Attempt* pop() {
    Attempt* a = top();
    if (a) remove(a);
    return a;
  }

  static constexpr uint32_t kNone = UINT32_MAX;

 private:
  // x fires before y.
  static bool before(const Attempt* x, const Attempt* y) {
    if (x->timer.due_ns != y->timer.due_ns) return x->timer.due_ns < y->timer.due_ns;
    return x->timer.seq < y->timer.seq;
  }
  void place(uint32_t i, Attempt* a) {
    items_[i] = a;
    a->timer.index = i;
  }
  void sift_up(uint32_t i) {
    Attempt* a = items_[i];
    while (i > 0) {
      uint32_t parent = (i - 1) / 2;
      if (!before(a, items_[parent])) break;
      place(i, items_[parent]);
      i = parent;
    }
    place(i, a);
  }
  void sift_down(uint32_t i) {
    Attempt* a = items_[i];
    const uint32_t n = uint32_t(items_.size());
    for (;;) {
      uint32_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(items_[child + 1], items_[child])) child++;
      if (!before(items_[child], a)) break;
      place(i, items_[child]);
      i = child;
    }
    place(i, a);
  }

  std::vector<Attempt*> items_;
  uint64_t pushes_ = 0;  // never reused: 2^64 pushes outlast any process
};

}  // namespace nbc
