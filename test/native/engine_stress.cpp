// Drives the epoll engine (native/engine.cpp, timer_heap.h) and the
// algorithm (native/posix_connect.cpp) with no Node-API and no libuv, for
// AddressSanitizer + LeakSanitizer + UBSan. The loop below plays the part
// engine_binding.cpp gives libuv: poll(2) on the engine's epoll fd until the heap's
// nearest instant, then collect_ready, expire and start_queued, taking
// finished() after each.
//
// Thousands of attempts go to listeners this program makes on loopback: one
// that accepts, a refused port, a black hole (listen(fd, 0), never
// accepting, its queue filled), an AF_UNIX listener and an AF_UNIX path that
// names nothing. Deadlines are random (none, 0, already passed, short,
// long), so are wait delays; cancels come before the start, while parked,
// while watched and after the end. And numbers are closed behind the
// engine's back: the fd of a started attempt is closed, sometimes after a
// dup (the epoll registration belongs to the open file and outlives the
// close; a shutdown() of the dup later makes that stale registration fire),
// and the number is taken at once by new attempts or by files of this
// program's own.
//
// Exits 0 only if every attempt finished exactly once, with an outcome its
// target can give (EBADF only for the ones whose number was closed behind
// the engine's back); every file of this program's own (listeners, dups,
// bystanders) is still open and still the same file, so the engine closed
// nothing it did not own; every connected fd handed over is the attempt's
// own socket; and the fd table ends as it began. A second round tears the
// engine down with attempts in flight, and checks the same of shutdown().
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "../../native/engine.h"
#include "../../native/posix_connect.h"

namespace {

constexpr int64_t kMs = 1000000;

std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  int own = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != own) fds.push_back(fd);
  }
  closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int tcp_listener(int backlog, uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0)
    die("tcp listener");
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  return a;
}

// A file's identity: what fstat says now must be what it said when the
// file was made, or the number was closed (and perhaps reused) by someone
// else.
struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
};

bool file_id(int fd, FileId* id) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  *id = {st.st_dev, st.st_ino};
  return true;
}

enum Target : uint8_t { kLive, kRefused, kHole, kHoleSynCount, kUnixLive, kUnixMissing, kTargets };
const char* const kTargetNames[] = {"live", "refused",           "black hole", "black hole, TCP_SYNCNT 1",
                                    "unix", "unix, no such path"};

// What the harness knows of each attempt; indexed by id.
struct Record {
  Target target = kLive;
  bool has_deadline = false;
  bool cancelled = false;
  bool closed_behind = false;  // its number was closed behind the engine's back
  int finished = 0;
  bool settled_first = false;  // Sequel::kCloseFollows: its close follows
  int sequels = 0;             // the steps after it
};

struct Later {
  enum What : uint8_t { kShutdownDup, kCloseDup, kCancel } what;
  int64_t at_ns;
  int fd;
  uint64_t id;
};

class Round {
 public:
  Round(uint64_t total, uint64_t seed, bool tear_down_early)
      : total_(total), rng_(seed), tear_down_early_(tear_down_early), records_(total + 1) {}

  int run();

 private:
  // The program's own files, which the engine must never close.
  void adopt(int fd) {
    FileId id;
    if (!file_id(fd, &id)) die("fstat of an own file");
    own_[fd] = id;
  }
  // Reported once; from then on the number is not ours to close.
  bool still_own(int fd, const char* when) {
    if (lost_.count(fd)) return false;
    auto it = own_.find(fd);
    FileId now;
    if (it != own_.end() && file_id(fd, &now) && now == it->second) return true;
    std::fprintf(stderr, "%s: fd %d, a file of the harness's own, was closed or replaced\n", when, fd);
    wrong_++;
    lost_.insert(fd);
    return false;
  }
  void release(int fd) {
    if (still_own(fd, "before its close") && close(fd) != 0) {
      std::perror("close of an own file");
      wrong_++;
    }
    own_.erase(fd);
    lost_.erase(fd);
  }
  void check_own_files(const char* when) {
    for (auto& [fd, id] : own_) still_own(fd, when);
  }

  void make_targets();
  void queue_some(int64_t now);
  void queue_one(int64_t now);
  void take_finished();
  bool outcome_allowed(const nbc::Attempt& a, const Record& r);
  void note_started();
  void close_behind_back(int64_t now);
  void bystanders();
  void open_bystander(int number = -1);
  void cancel_some();
  void run_later(int64_t now);
  void accept_all(int listener);
  int poll_timeout(int64_t now);
  uint64_t pick(uint64_t n) { return rng_() % n; }
  bool chance(uint64_t one_in) { return pick(one_in) == 0; }

  const uint64_t total_;
  std::mt19937_64 rng_;
  const bool tear_down_early_;
  std::vector<Record> records_;
  nbc::Engine engine_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, nbc::Attempt*> in_engine_;  // the engine owns these until finished()
  std::deque<uint64_t> not_started_;
  std::vector<uint64_t> started_;  // may hold finished ids, dropped when picked
  std::map<int, FileId> own_;
  std::set<int> lost_;
  std::vector<int> bystanders_;
  std::vector<Later> later_;
  int dups_open_ = 0;

  uint16_t live_port_ = 0, hole_port_ = 0, refused_port_ = 0;
  int listener_ = -1, hole_ = -1, unix_ = -1;
  std::vector<int> fillers_;
  std::string dir_, unix_path_, missing_path_;

  uint64_t wrong_ = 0, finished_ = 0, sequels_ = 0, closed_behind_ = 0, dups_ = 0, cancels_ = 0;
  uint64_t reused_by_attempt_ = 0, reused_by_ours_ = 0;
  std::map<int, uint64_t> outcomes_;  // by errno
};

void Round::make_targets() {
  listener_ = tcp_listener(4096, &live_port_);
  hole_ = tcp_listener(0, &hole_port_);
  int refused = tcp_listener(1, &refused_port_);
  close(refused);
  // The black hole: its accept queue filled once, it drops every SYN.
  for (int i = 0; i < 4; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(hole_port_);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers_.push_back(fd);
  }
  char dir[] = "/tmp/nbconnect-engine-stress-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp");
  dir_ = dir;
  unix_path_ = dir_ + "/listener";
  missing_path_ = dir_ + "/nothing";
  unix_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un a = unix_address(unix_path_);
  if (unix_ < 0 || bind(unix_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(unix_, 4096) != 0)
    die("unix listener");
  for (int fd : {listener_, hole_, unix_}) adopt(fd);
  for (int fd : fillers_) adopt(fd);
}

void Round::queue_one(int64_t now) {
  const uint64_t id = next_id_++;
  Record& r = records_[id];
  // The first few are black holes with no deadline of ours and TCP_SYNCNT 1:
  // the kernel gives up after about 3 s, and they overlap with the rest.
  static const Target kMix[] = {kLive, kLive, kRefused, kHole, kHole, kUnixLive, kUnixMissing};
  r.target = id <= 4 ? kHoleSynCount : kMix[pick(std::size(kMix))];
  auto a = std::make_unique<nbc::Attempt>();
  a->id = id;
  a->wait = nbc::Wait::kEpoll;
  a->options.linger0 = 1;  // no TIME_WAIT from thousands of closes
  if (r.target == kHoleSynCount) a->options.syn_count = 1;
  a->close_when_connected = chance(2);
  if (r.target == kUnixLive || r.target == kUnixMissing) {
    a->family = AF_UNIX;
    sockaddr_un un = unix_address(r.target == kUnixLive ? unix_path_ : missing_path_);
    std::memcpy(&a->remote, &un, sizeof un);
    a->remote_len = socklen_t(offsetof(sockaddr_un, sun_path) + std::strlen(un.sun_path) + 1);
  } else {
    a->family = AF_INET;
    sockaddr_in in = loopback(r.target == kLive      ? live_port_
                              : r.target == kRefused ? refused_port_
                                                     : hole_port_);
    std::memcpy(&a->remote, &in, sizeof in);
    a->remote_len = sizeof in;
  }
  a->start_ns = now;
  // A black hole never answers: it needs a deadline of ours (or the
  // kernel's, TCP_SYNCNT 1, for the first few).
  switch (pick(8)) {
    case 0:  // timeout: 0
      a->deadline_ns = now;
      break;
    case 1:  // passed before the call was made
      a->deadline_ns = now - int64_t(1 + pick(5)) * kMs;
      break;
    case 2:
    case 3:
      a->deadline_ns = r.target == kHole ? now + int64_t(1 + pick(300)) * kMs : -1;
      break;
    case 4:
    case 5:
      a->deadline_ns = now + int64_t(1 + pick(30)) * kMs;
      break;
    default:
      a->deadline_ns = now + int64_t(30 + pick(300)) * kMs;
      break;
  }
  if (r.target == kHoleSynCount) a->deadline_ns = -1;
  if (chance(4)) a->wait_delay_ns = int64_t(pick(20)) * kMs + 1;
  r.has_deadline = a->deadline_ns >= 0;
  in_engine_[id] = a.get();
  not_started_.push_back(id);
  engine_.queue(std::move(a));
  if (chance(24)) {  // a cancel before the start
    r.cancelled = true;
    cancels_++;
    engine_.cancel(id);
  }
}

void Round::queue_some(int64_t now) {
  uint64_t n = std::min<uint64_t>(1 + pick(48), total_ + 1 - next_id_);
  for (uint64_t i = 0; i < n; i++) queue_one(now);
}

// Attempts leave the queue oldest first: those past the front have started.
void Round::note_started() {
  while (!not_started_.empty()) {
    uint64_t id = not_started_.front();
    auto it = in_engine_.find(id);
    if (it != in_engine_.end() && it->second->engine.stage == nbc::EngineSlot::Stage::kQueued) break;
    not_started_.pop_front();
    if (it != in_engine_.end()) started_.push_back(id);
  }
}

bool Round::outcome_allowed(const nbc::Attempt& a, const Record& r) {
  const int err = a.posix_errno;
  const nbc::Phase phase = a.phase;
  // Whatever the engine does next with a number closed behind its back (a
  // wake, a deadline, a cancel, the end of a wait delay), it must first find
  // that the number is no longer its socket's.
  // A deadline or a cancel settles first (Sequel::kCloseFollows): its
  // verdict stands, and the check comes before the close.
  if (r.closed_behind)
    return err == EBADF || (a.sequel == nbc::Sequel::kCloseFollows &&
                            ((r.cancelled && err == ECANCELED) || (r.has_deadline && err == ETIMEDOUT)));
  if (r.cancelled && err == ECANCELED && phase == nbc::Phase::kAborted) return true;
  if (r.has_deadline && err == ETIMEDOUT && phase == nbc::Phase::kTimeout) return true;
  const bool connected = err == 0 && (a.close_when_connected ? a.fd < 0 : a.fd >= 0);
  switch (r.target) {
    case kLive:
      return connected;
    case kRefused:
      return err == ECONNREFUSED;
    case kHole:
      return false;
    case kHoleSynCount:  // the kernel's own deadline
      return err == ETIMEDOUT && phase == nbc::Phase::kAsync;
    case kUnixLive:  // EAGAIN: its backlog was full
      return connected || (err == EAGAIN && phase == nbc::Phase::kImmediate);
    case kUnixMissing:
      return err == ENOENT;
    case kTargets:
      break;
  }
  return false;
}

void Round::take_finished() {
  auto& done = engine_.finished();
  for (auto& a : done) {
    const uint64_t id = a->id;
    if (a->sequel == nbc::Sequel::kSteps) {
      // The close of one settled first: after its verdict, once.
      if (id == 0 || id >= next_id_ || records_[id].finished != 1 || records_[id].sequels++ != 0) {
        std::fprintf(stderr, "id %llu: a sequel without its verdict, or a second one\n",
                     (unsigned long long)id);
        wrong_++;
      }
      sequels_++;
      continue;
    }
    if (id == 0 || id >= next_id_ || records_[id].finished++ != 0) {
      std::fprintf(stderr, "id %llu finished twice or was never queued\n", (unsigned long long)id);
      wrong_++;
      continue;
    }
    finished_++;
    in_engine_.erase(id);
    const Record& r = records_[id];
    const int err = a->posix_errno;
    outcomes_[err]++;
    if (!outcome_allowed(*a, r)) {
      std::fprintf(stderr, "unexpected: id %llu (%s%s%s%s) errno %d (%s) phase %d fd %d\n",
                   (unsigned long long)id, kTargetNames[r.target], r.has_deadline ? ", deadline" : "",
                   r.cancelled ? ", cancelled" : "", r.closed_behind ? ", closed behind the back" : "", err,
                   std::strerror(err > 0 ? err : 0), int(a->phase), a->fd);
      wrong_++;
    }
    if (a->sequel == nbc::Sequel::kCloseFollows) {
      records_[id].settled_first = true;
      // The socket is still the engine's, to check and close: back it goes,
      // as the binding hands it back once JS has the verdict.
      engine_.adopt_settled(std::move(a));
      continue;
    }
    if (a->fd >= 0) {
      // A connected socket handed over must be the attempt's own.
      uint64_t cookie = 0;
      if (nbc::sys_getsockopt_cookie(a->fd, &cookie) != 0 || cookie != a->cookie) {
        std::fprintf(stderr, "id %llu handed over fd %d, which is not its socket\n", (unsigned long long)id,
                     a->fd);
        wrong_++;
      } else if (close(a->fd) != 0) {
        std::perror("close of a handed-over fd");
        wrong_++;
      }
    }
  }
  done.clear();
}

// Closes the number of a started attempt, perhaps keeping the open file
// through a dup, and lets new attempts or files of our own take the number.
void Round::close_behind_back(int64_t now) {
  for (int tries = 0; tries < 8 && !started_.empty(); tries++) {
    size_t i = pick(started_.size());
    uint64_t id = started_[i];
    auto it = in_engine_.find(id);
    if (it == in_engine_.end()) {
      started_[i] = started_.back();
      started_.pop_back();
      continue;
    }
    nbc::Attempt& a = *it->second;
    Record& r = records_[id];
    if (r.closed_behind || a.fd < 0) continue;
    if (r.target == kHoleSynCount) continue;
    int fd = a.fd;
    uint64_t cookie = 0;
    if (nbc::sys_getsockopt_cookie(fd, &cookie) != 0 || cookie != a.cookie) {
      // Only we close numbers behind its back, and not this one yet.
      std::fprintf(stderr, "id %llu (%s): its fd %d is no longer its socket\n", (unsigned long long)id,
                   kTargetNames[r.target], fd);
      wrong_++;
      return;
    }
    if (dups_open_ < 200 && chance(2)) {
      int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0) die("dup");
      adopt(dup);
      dups_open_++;
      dups_++;
      // The shutdown makes the registration the open file keeps fire, while
      // the attempt is still live or after it finished.
      later_.push_back({Later::kShutdownDup, now + int64_t(pick(400)) * kMs, dup, 0});
    }
    r.closed_behind = true;
    closed_behind_++;
    if (close(fd) != 0) die("close behind the back");
    // With no deadline and no file kept, nothing would ever wake it: the
    // caller's cancel ends it, as an AbortSignal would.
    if (!r.has_deadline) later_.push_back({Later::kCancel, now + int64_t(pick(50)) * kMs, -1, id});
    // The lowest free number is the one just closed: the next socket made
    // takes it, ours or the engine's.
    if (chance(3)) {
      open_bystander(fd);
    } else {
      queue_some(now);
      engine_.start_queued(256);
      take_finished();
      note_started();
    }
    if (own_.count(fd))
      reused_by_ours_++;
    else if (nbc::fd_is_open(fd) == 0)
      reused_by_attempt_++;
    return;
  }
}

// Files of our own, of several kinds, that take freed numbers: a socket, a
// pipe, an eventfd, /dev/null (which epoll refuses with EPERM). At most 64
// at a time: past that, or at random, one is closed.
void Round::bystanders() {
  if (bystanders_.size() >= 64 || (!bystanders_.empty() && chance(2))) {
    size_t i = pick(bystanders_.size());
    release(bystanders_[i]);
    bystanders_[i] = bystanders_.back();
    bystanders_.pop_back();
  } else {
    open_bystander();
  }
}

// `number`, when >= 0, is a free number the new file must take.
void Round::open_bystander(int number) {
  int fds[2] = {-1, -1};
  switch (pick(4)) {
    case 0:
      fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      break;
    case 1:
      if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2");
      break;
    case 2:
      fds[0] = eventfd(0, EFD_CLOEXEC);
      break;
    default:
      fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
      break;
  }
  if (fds[0] < 0) die("a file of our own");
  // A pipe's second end may have taken the number already.
  if (number >= 0 && fds[0] != number && fds[1] != number) {
    if (dup3(fds[0], number, O_CLOEXEC) != number) die("dup3");
    close(fds[0]);
    fds[0] = number;
  }
  for (int fd : fds) {
    if (fd < 0) continue;
    adopt(fd);
    bystanders_.push_back(fd);
  }
}

void Round::cancel_some() {
  // Any id minted so far: queued, parked, watched, or finished already.
  if (next_id_ == 1) return;
  uint64_t id = 1 + pick(next_id_ - 1);
  if (in_engine_.count(id)) records_[id].cancelled = true;
  cancels_++;
  engine_.cancel(id);
}

void Round::run_later(int64_t now) {
  for (size_t i = 0; i < later_.size();) {
    Later l = later_[i];
    if (l.at_ns > now) {
      i++;
      continue;
    }
    later_[i] = later_.back();
    later_.pop_back();
    switch (l.what) {
      case Later::kShutdownDup:
        if (still_own(l.fd, "before the dup's shutdown")) shutdown(l.fd, SHUT_RDWR);
        later_.push_back({Later::kCloseDup, now + int64_t(pick(50)) * kMs, l.fd, 0});
        break;
      case Later::kCloseDup:
        release(l.fd);
        dups_open_--;
        break;
      case Later::kCancel:
        if (in_engine_.count(l.id)) records_[l.id].cancelled = true;
        cancels_++;
        engine_.cancel(l.id);
        break;
    }
  }
}

void Round::accept_all(int listener) {
  for (int n = 0; n < 256; n++) {
    // Closed with a FIN, not a reset: a reset could reach the connecting
    // side before its verdict is read (ECONNRESET). The client's close,
    // with SO_LINGER 0, resets what is left, so no TIME_WAIT piles up.
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    close(fd);
  }
}

int Round::poll_timeout(int64_t now) {
  if (engine_.has_queued() || !engine_.finished().empty()) return 0;
  if (engine_.has_settled()) return 0;
  int64_t next = engine_.next_timer_ns();
  for (const Later& l : later_)
    if (next < 0 || l.at_ns < next) next = l.at_ns;
  // While attempts are still to be made, come back soon to make them.
  if (next_id_ <= total_ && (next < 0 || next > now + 2 * kMs)) next = now + 2 * kMs;
  if (next < 0) next = now + 100 * kMs;
  return nbc::poll_timeout_ms(next, now);
}

int Round::run() {
  const std::vector<int> fds_before = open_fds();
  make_targets();
  if (engine_.open() != 0) die("epoll_create1");

  const int64_t began = nbc::monotonic_ns();
  const int64_t give_up = began + 60000 * kMs;
  // The early teardown comes while hundreds are in flight: 400 ms in, or
  // once the last attempt is queued, whichever comes first.
  uint64_t turns = 0;
  for (;;) {
    int64_t now = nbc::monotonic_ns();
    if (tear_down_early_ && (now >= began + 400 * kMs || next_id_ > total_)) break;
    if (next_id_ > total_ && in_engine_.empty() && later_.empty()) break;
    if (now >= give_up) {
      std::fprintf(stderr, "gave up after 60 s: %zu attempts never finished\n", in_engine_.size());
      wrong_++;
      break;
    }
    turns++;
    if (next_id_ <= total_ && chance(2)) queue_some(now);
    engine_.start_queued(256);  // the idle handle's turn
    take_finished();
    if (engine_.close_settled(64)) take_finished();
    note_started();
    if (chance(3)) close_behind_back(now);
    if (chance(6)) bystanders();
    for (uint64_t n = pick(4); n > 0; n--) cancel_some();
    take_finished();
    run_later(now);
    take_finished();
    if (turns % 16 == 0) check_own_files("during the run");

    engine_.arm_deadline();  // its clock, in the epoll set, as the binding arms it
    pollfd p[3] = {{engine_.epoll_fd(), POLLIN, 0}, {listener_, POLLIN, 0}, {unix_, POLLIN, 0}};
    int n = poll(p, 3, poll_timeout(nbc::monotonic_ns()));
    if (n < 0 && errno != EINTR) die("poll");
    accept_all(listener_);
    accept_all(unix_);
    if (p[0].revents & POLLIN) {  // the uv_poll's turn
      engine_.collect_ready();
      take_finished();
    }
    // The timer's turn: a slice of deadlines at a time, handed over between.
    now = nbc::monotonic_ns();
    while (engine_.expire(now, 64)) take_finished();
    take_finished();
  }

  const uint64_t left = in_engine_.size();
  if (tear_down_early_ && left == 0) {
    std::fprintf(stderr, "nothing was in flight at the teardown: the round proves nothing\n");
    wrong_++;
  }
  if (tear_down_early_) {
    // Teardown with attempts queued, parked, watched and finished but not
    // taken: shutdown() closes what is its own and nothing else.
    engine_.collect_ready();
    engine_.start_queued(256);
    engine_.shutdown();
    in_engine_.clear();
  }
  check_own_files("at the end");
  engine_.shutdown();  // closes the epoll fd (the destructor would too)
  for (const Later& l : later_)
    if (l.what == Later::kShutdownDup || l.what == Later::kCloseDup) release(l.fd);
  later_.clear();
  for (int fd : bystanders_) release(fd);
  for (int fd : fillers_) release(fd);
  for (int fd : {listener_, hole_, unix_}) release(fd);
  unlink(unix_path_.c_str());
  rmdir(dir_.c_str());

  uint64_t queued = next_id_ - 1, never = 0;
  uint64_t never_closed = 0;
  for (uint64_t id = 1; id < next_id_; id++) {
    never += records_[id].finished == 0;
    never_closed += records_[id].settled_first && records_[id].sequels == 0;
  }
  if (!tear_down_early_ && never != 0) {
    std::fprintf(stderr, "%llu attempts never finished\n", (unsigned long long)never);
    wrong_++;
  }
  if (!tear_down_early_ && never_closed != 0) {
    std::fprintf(stderr, "%llu settled before their close never had it\n", (unsigned long long)never_closed);
    wrong_++;
  }
  const std::vector<int> fds_after = open_fds();
  if (fds_after != fds_before) {
    std::fprintf(stderr, "fd table: %zu open at the start, %zu at the end:", fds_before.size(),
                 fds_after.size());
    for (int fd : fds_after)
      if (!std::binary_search(fds_before.begin(), fds_before.end(), fd)) std::fprintf(stderr, " +%d", fd);
    for (int fd : fds_before)
      if (!std::binary_search(fds_after.begin(), fds_after.end(), fd)) std::fprintf(stderr, " -%d", fd);
    std::fprintf(stderr, "\n");
    wrong_++;
  }
  std::string outcomes;
  for (auto [err, n] : outcomes_)
    outcomes += (outcomes.empty() ? "" : ", ") + std::string(err == 0 ? "OK" : strerrorname_np(err)) + " " +
                std::to_string(n);
  std::printf(
      "epoll, %s: %llu queued, %llu finished in %.1f s over %llu turns (%s); %llu numbers closed behind the "
      "engine's back (%llu of them kept open by a dup), %llu of them taken at once by a new attempt and %llu "
      "by a "
      "file of ours; %llu cancels%s; %llu closes after a settle; fds: %zu at the start, %zu at the end; %llu "
      "wrong\n",
      tear_down_early_ ? "torn down with attempts in flight" : "to completion", (unsigned long long)queued,
      (unsigned long long)finished_, double(nbc::monotonic_ns() - began) / 1e9, (unsigned long long)turns,
      outcomes.c_str(), (unsigned long long)closed_behind_, (unsigned long long)dups_,
      (unsigned long long)reused_by_attempt_, (unsigned long long)reused_by_ours_,
      (unsigned long long)cancels_,
      tear_down_early_ ? (", " + std::to_string(left) + " in flight at the teardown").c_str() : "",
      (unsigned long long)sequels_, fds_before.size(), fds_after.size(), (unsigned long long)wrong_);
  return wrong_ == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t total = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  std::printf("engine stress: %llu attempts, seed %llu\n", (unsigned long long)total,
              (unsigned long long)seed);
  int status = 0;
  status |= Round(total, seed, false).run();
  status |= Round(total, seed + 1, true).run();
  return status;
}
