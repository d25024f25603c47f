// Drives the Waiter (native/waiter.cpp) and the algorithm
// (native/posix_connect.cpp) with no Node-API, from several threads at once,
// for ThreadSanitizer and for AddressSanitizer + LeakSanitizer + UBSan:
// submits, completions, cancels and deadlines against loopback listeners
// this program makes itself. Exits 0 only if every attempt completed exactly
// once, the outcomes are the ones each target can give, and the fd table
// ends as it began.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "../../native/posix_connect.h"
#include "../../native/waiter.h"

namespace {

int count_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n;
}

int listener(int backlog, uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0) {
    perror("listener");
    std::exit(2);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// The completion side: what the binding's thread-safe function does, here a
// condition variable.
class Sink : public nbc::CompletionSink {
 public:
  void completions_ready() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_ = true;
    cv_.notify_one();
  }
  bool wait_for_ready(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    bool got = cv_.wait_for(lock, timeout, [&] { return ready_; });
    ready_ = false;
    return got;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool ready_ = false;
};

struct Target {
  uint16_t port;
  bool can_connect, can_refuse, can_time_out;
};

std::unique_ptr<nbc::Attempt> make_attempt(uint64_t id, const Target& t, nbc::Wait wait, int64_t timeout_ms,
                                           bool close_when_connected) {
  auto a = std::make_unique<nbc::Attempt>();
  a->id = id;
  a->family = AF_INET;
  auto* in = reinterpret_cast<sockaddr_in*>(&a->remote);
  in->sin_family = AF_INET;
  in->sin_port = htons(t.port);
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->remote_len = sizeof(sockaddr_in);
  a->wait = wait;
  a->options.linger0 = 1;  // no TIME_WAIT from thousands of closes
  a->close_when_connected = close_when_connected;
  a->start_ns = nbc::monotonic_ns();
  a->deadline_ns = a->start_ns + timeout_ms * 1000000;
  return a;
}

int run_round(nbc::Wait wait, int producers, int per_producer, bool shutdown_early) {
  // Three kinds of target: an accepting listener, a refused port, and a
  // listen(0) queue filled once, which drops SYNs (timeouts).
  uint16_t live_port, hole_port, refused_port;
  int live = listener(4096, &live_port);
  int hole = listener(0, &hole_port);
  int refused = listener(1, &refused_port);
  close(refused);
  std::vector<int> fillers;
  for (int i = 0; i < 4; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(hole_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(fd);
  }
  std::atomic<bool> stop_accepting{false};
  std::thread acceptor([&] {
    while (!stop_accepting.load()) {
      pollfd p{live, POLLIN, 0};
      if (poll(&p, 1, 10) > 0) {
        int fd = accept4(live, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) close(fd);
      }
    }
  });
  const Target targets[] = {
      {live_port, true, false, true}, {refused_port, false, true, false}, {hole_port, false, false, true}};

  Sink sink;
  auto waiter = std::make_unique<nbc::Waiter>(wait, &sink);
  if (waiter->start().err != 0) return 2;
  const uint64_t total = uint64_t(producers) * per_producer;
  std::vector<std::atomic<int>> seen(total + 1);
  std::atomic<uint64_t> completed{0}, connected{0}, refusedn{0}, timedout{0}, aborted{0}, wrong{0};

  // Consumer: takes completions, checks each, closes what it owns.
  std::atomic<bool> consuming{true};
  std::thread consumer([&] {
    std::vector<std::unique_ptr<nbc::Attempt>> out;
    while (consuming.load() || completed.load() < total) {
      if (!sink.wait_for_ready(std::chrono::milliseconds(20)) && !consuming.load()) break;
      out.clear();
      waiter->take_completions(out);
      for (auto& a : out) {
        if (a->id == 0 || a->id > total || seen[a->id].fetch_add(1) != 0) wrong++;
        const Target& t = targets[(a->id - 1) % 3];
        if (a->phase == nbc::Phase::kAborted)
          aborted++;
        else if (a->posix_errno == 0 && t.can_connect)
          connected++;
        else if (a->posix_errno == ECONNREFUSED && t.can_refuse)
          refusedn++;
        else if (a->posix_errno == ETIMEDOUT && a->phase == nbc::Phase::kTimeout && t.can_time_out)
          timedout++;
        // A deadline that passed while the attempt queued (a sanitizer's
        // slow thread, thousands submitted at once): no start, no syscall,
        // whatever the target. Anything else timed out is still wrong.
        else if (a->posix_errno == ETIMEDOUT && a->phase == nbc::Phase::kTimeout && a->deadline_ns >= 0 &&
                 a->why == nbc::Why::kNotStarted && a->steps.empty())
          timedout++;
        else {
          std::fprintf(stderr, "unexpected: id %llu err %d phase %d\n", (unsigned long long)a->id,
                       a->posix_errno, int(a->phase));
          wrong++;
        }
        if (a->fd >= 0) nbc::sys_close(a->fd);
        completed++;
      }
    }
  });

  // Producers submit; a canceller cancels ids at random, some already done.
  std::atomic<uint64_t> next_id{1};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; p++)
    threads.emplace_back([&, p] {
      std::mt19937 rng(1234 + p);
      for (int i = 0; i < per_producer; i++) {
        uint64_t id = next_id++;
        const Target& t = targets[(id - 1) % 3];
        waiter->submit(make_attempt(id, t, wait, 20 + rng() % 80, rng() % 2 == 0));
        if (rng() % 64 == 0) std::this_thread::yield();
      }
    });
  threads.emplace_back([&] {
    std::mt19937 rng(99);
    for (uint64_t i = 0; i < total / 4; i++) {
      waiter->cancel(1 + rng() % total);
      if (i % 128 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (auto& t : threads) t.join();

  if (shutdown_early) {
    // Teardown with attempts in flight: shutdown closes every pending fd.
    consuming = false;
    consumer.join();
    waiter->shutdown();
  } else {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (completed.load() < total && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    consuming = false;
    consumer.join();
    waiter->shutdown();
  }
  waiter.reset();
  stop_accepting = true;
  acceptor.join();
  for (int fd : fillers) close(fd);
  close(live);
  close(hole);

  std::printf(
      "%s %s: %llu submitted, %llu completed (connected %llu, refused %llu, timed out %llu, aborted %llu), "
      "%llu wrong\n",
      wait == nbc::Wait::kPoll ? "poll" : "select",
      shutdown_early ? "shutdown with attempts in flight" : "to completion", (unsigned long long)total,
      (unsigned long long)completed.load(), (unsigned long long)connected.load(),
      (unsigned long long)refusedn.load(), (unsigned long long)timedout.load(),
      (unsigned long long)aborted.load(), (unsigned long long)wrong.load());
  if (wrong.load() != 0) return 1;
  if (!shutdown_early && completed.load() != total) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int per_producer = argc > 1 ? std::atoi(argv[1]) : 1000;
  int baseline = count_fds();
  int status = 0;
  // select(2) cannot watch fds >= FD_SETSIZE: keep its round small enough.
  status |= run_round(nbc::Wait::kPoll, 4, per_producer, false);
  status |= run_round(nbc::Wait::kSelect, 4, std::min(per_producer, 150), false);
  status |= run_round(nbc::Wait::kPoll, 4, per_producer, true);
  int end = count_fds();
  std::printf("fds: %d at start, %d at the end\n", baseline, end);
  if (end != baseline) status |= 1;
  return status;
}
