// TimerHeap (native/timer_heap.h) on its own: attempts fire in order of
// their instant, and equal instants in the order they were pushed, as
// libuv's timers do. Run by test/35-timer-heap.test.ts; prints one line and
// exits 0, or names the first attempt out of order and exits 1.
#include "../../native/timer_heap.h"

#include <cstdio>
#include <memory>
#include <vector>

namespace {

// A fixed sequence, so a failure is the same on every run.
uint32_t next_random(uint32_t& state) {
  state = state * 1664525u + 1013904223u;
  return state >> 8;
}

struct Pushed {
  nbc::Attempt* attempt;
  int64_t due_ns;
  size_t order;  // the push that put it there
};

// Pops everything and checks (due_ns, push order) never goes backwards.
bool drains_in_order(nbc::TimerHeap& heap, const std::vector<Pushed>& pushed, const char* label) {
  int64_t last_due = INT64_MIN;
  size_t last_order = 0;
  size_t popped = 0;
  while (nbc::Attempt* a = heap.pop()) {
    size_t order = 0;
    for (const Pushed& p : pushed)
      if (p.attempt == a) order = p.order;
    if (a->timer.due_ns < last_due || (a->timer.due_ns == last_due && order < last_order)) {
      std::printf("%s: pop %zu: due %lld after %lld, pushed %zu after %zu\n", label, popped,
                  (long long)a->timer.due_ns, (long long)last_due, order, last_order);
      return false;
    }
    if (a->timer.index != nbc::TimerHeap::kNone) {
      std::printf("%s: pop %zu left its index set\n", label, popped);
      return false;
    }
    last_due = a->timer.due_ns;
    last_order = order;
    popped++;
  }
  return true;
}

}  // namespace

int main() {
  uint32_t state = 22;
  size_t checks = 0;
  // Few distinct instants, so most attempts tie with many others.
  for (int distinct : {1, 3, 17}) {
    for (bool removals : {false, true}) {
      std::vector<std::unique_ptr<nbc::Attempt>> owned;
      std::vector<Pushed> pushed;
      nbc::TimerHeap heap;
      for (size_t i = 0; i < 2000; i++) {
        owned.push_back(std::make_unique<nbc::Attempt>());
        nbc::Attempt* a = owned.back().get();
        a->timer.due_ns = 1000000 * int64_t(next_random(state) % uint32_t(distinct));
        heap.push(a);
        pushed.push_back({a, a->timer.due_ns, i});
        // A connect that finishes early leaves the heap from anywhere in it.
        if (removals && i % 3 == 2) heap.remove(pushed[next_random(state) % pushed.size()].attempt);
      }
      char label[64];
      std::snprintf(label, sizeof label, "%d instants%s", distinct, removals ? ", removals" : "");
      if (!drains_in_order(heap, pushed, label)) return 1;
      checks++;
    }
  }
  // Pushed again, an attempt goes behind those already waiting for the same
  // instant, as a restarted libuv timer does.
  nbc::TimerHeap heap;
  nbc::Attempt first, second;
  heap.push(&first);
  heap.push(&second);
  heap.remove(&first);
  heap.push(&first);
  if (heap.pop() != &second || heap.pop() != &first || heap.pop() != nullptr) {
    std::printf("a pushed-again attempt did not go behind its equal\n");
    return 1;
  }
  checks++;
  std::printf("timer heap: %zu orders checked, equal instants in push order\n", checks);
  return 0;
}
