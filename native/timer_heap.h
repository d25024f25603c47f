// A binary min-heap of attempts ordered by Attempt::timer_ns, intrusive as
// libuv's timer heap is: each attempt knows its own slot (heap_index), so a
// connect that finishes before its deadline leaves the heap in O(log n)
// instead of waiting there until the deadline it no longer has.
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
    a->heap_index = uint32_t(items_.size());
    items_.push_back(a);
    sift_up(a->heap_index);
  }

  // No-op for an attempt that is not in the heap.
  void remove(Attempt* a) {
    uint32_t i = a->heap_index;
    if (i == kNone) return;
    a->heap_index = kNone;
    Attempt* last = items_.back();
    items_.pop_back();
    if (last == a) return;
    items_[i] = last;
    last->heap_index = i;
    sift_down(i);
    sift_up(last->heap_index);
  }

  Attempt* pop() {
    Attempt* a = top();
    if (a) remove(a);
    return a;
  }

  static constexpr uint32_t kNone = UINT32_MAX;

 private:
  void place(uint32_t i, Attempt* a) {
    items_[i] = a;
    a->heap_index = i;
  }
  void sift_up(uint32_t i) {
    Attempt* a = items_[i];
    while (i > 0) {
      uint32_t parent = (i - 1) / 2;
      if (items_[parent]->timer_ns <= a->timer_ns) break;
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
      if (child + 1 < n && items_[child + 1]->timer_ns < items_[child]->timer_ns) child++;
      if (items_[child]->timer_ns >= a->timer_ns) break;
      place(i, items_[child]);
      i = child;
    }
    place(i, a);
  }

  std::vector<Attempt*> items_;
};

}  // namespace nbc
