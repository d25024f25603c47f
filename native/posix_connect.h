// The nonblocking connect, as plain POSIX. No Node-API in here or in
// posix_connect.cpp: the binding converts values, the engine and the waiters multiplex, and
// this pair of files is the algorithm the way UNP's connect_nonb spells it,
// each call made through its wrapper in syscalls.h and recorded as a Step.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "syscalls.h"

namespace nbc {

// Every syscall the algorithm makes, in the order it can make them.
enum class Call : uint8_t {
  kSocket,
  kFcntl,
  kSetsockopt,
  kBind,
  kConnect,
  kPoll,
  kSelect,
  kEpollCreate1,  // sync epoll only, and traced only when it fails: not a call on the socket
  kEpollCtl,
  kEpollWait,
  kGetsockopt,
  kGetsockname,
  kGetpeername,
  kRead,
  kClose,
  kCount,
};

enum class Arg : uint8_t {
  kNone,
  kGetFl,    // fcntl F_GETFL
  kSetFl,    // fcntl F_SETFL, flags | O_NONBLOCK
  kSetFd,    // fcntl F_SETFD, FD_CLOEXEC
  kSoError,  // getsockopt SO_ERROR
  kTcpNoDelay,
  kTcpSynCount,
  kTcpUserTimeout,
  kIpBindAddressNoPort,
  kSoLinger,
  kSockStreamCloexec,  // socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)
  kEpollCtlAdd,        // epoll_ctl ADD, EPOLLOUT | EPOLLONESHOT
  kEpollCtlDel,        // epoll_ctl DEL, before a close the attempt decided on
  kOption,             // setsockopt of an option from the caller's list: level and name in Step::option
  kSockStreamMptcp,    // socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP)
  kTcpInfo,            // getsockopt TCP_INFO, the kernel's view right after the verdict
  kSoCookie,           // getsockopt SO_COOKIE: traced only when the number is no longer the attempt's socket
  kCount,
};

enum class Wait : uint8_t { kPoll, kSelect, kEpoll, kCount };

// How the verdict is read after a wake. UNP names four ways; SO_ERROR is the
// one that works everywhere, and the default. The others exist so the
// conformance matrix can show what each says on this kernel.
enum class Confirm : uint8_t {
  kSoError,      // getsockopt(SO_ERROR): 0 or the pending error
  kGetpeername,  // ENOTCONN means failed; SO_ERROR then says why
  kRead,         // read(fd, buf, 0): UNP says it fails with the error
  kReconnect,    // connect() again: EISCONN means connected
  kCount,
};

// Where the verdict came from. Success is 'immediate' (connect() returned 0)
// or 'async' (SO_ERROR was 0 after a wake); failures add 'timeout' (our
// deadline passed) and 'aborted' (the caller cancelled).
enum class Phase : uint8_t { kImmediate, kAsync, kTimeout, kAborted, kCount };

// Extra words for an error's message, written out in lib/wire.ts.
enum class Why : uint8_t { kNone, kFdSetsize, kNotStarted, kCount };

// A verdict the epoll engine reaches without the kernel (a deadline, a
// cancel) goes to JS before the close, which happens right after, in the
// same turn of the loop (engine.h). kCloseFollows marks such a verdict; its
// later kSteps result carries the steps taken after it.
enum class Sequel : uint8_t { kNone, kCloseFollows, kSteps, kCount };

// ESELFCONNECT is not a kernel errno: the kernel said success, we say no.
// A value outside the errno range keeps the two apart.
constexpr int kSelfConnect = -1;

struct Step {
  enum Detail : uint8_t { kRevents = 1, kSets = 2, kValue = 4 };
  Call call;
  Arg arg;
  uint8_t detail;   // which of the optional fields below carry meaning
  bool readable;    // select: in the returned read set
  bool writable;    // select: in the returned write set
  int16_t revents;  // poll: this fd's revents
  int ret;          // what the call returned
  int err;          // positive errno when ret < 0, else 0
  int value;        // getsockopt(SO_ERROR): the pending error; setsockopt: an int value set
  int option;       // Arg::kOption: level << 16 | name
  int64_t at_ns;    // since the attempt began
};

// In an extra option's length: its value is bytes, not an int.
constexpr uint32_t kOptionBytes = 0x80000000u;

// How the socket() call asks for Multipath TCP.
enum class Mptcp : uint8_t {
  kOff,
  kRequire,  // IPPROTO_MPTCP, and its errno if the kernel has none
  kPrefer,   // IPPROTO_MPTCP, then plain TCP if the kernel has none (both traced)
};

// An IPv4 or IPv6 socket address: a fifth of a sockaddr_storage, which
// matters with ten thousand attempts pending.
union IpAddr {
  sockaddr sa;
  sockaddr_in in4;
  sockaddr_in6 in6;
};

// An option is set only when it is >= 0; -1 leaves the kernel's default.
struct SocketOptions {
  int no_delay = -1;
  int syn_count = -1;
  int user_timeout_ms = -1;
  int bind_address_no_port = -1;
  int linger0 = -1;
};

// A timer heap's bookkeeping for one attempt (timer_heap.h). The engine and
// the waiter each keep attempts in a heap: an attempt is in at most one at a
// time (the waiter's parked ones, then its deadlines).
struct TimerSlot {
  int64_t due_ns = 0;           // CLOCK_MONOTONIC; what the heap orders by
  uint64_t seq = 0;             // the heap's count of pushes at its push: equal due_ns fire in that order
  uint32_t index = UINT32_MAX;  // its place in the heap; UINT32_MAX: in none
};

// The epoll engine's own (engine.h); the waiters keep theirs in maps.
struct EngineSlot {
  enum class Stage : uint8_t { kQueued, kParked, kWatched };
  Stage stage = Stage::kQueued;
  bool cancel_requested = false;      // a cancel reached it before its start
  bool unwatch_after_settle = false;  // settled while watched: DEL before the close
};

struct Attempt {
  // What was asked.
  uint64_t id = 0;            // minted by the binding, unique in its environment, never reused
  uint32_t client = 0;        // the copy of the JS layer that asked (binding.h's Addon::clients)
  uint32_t batch = 0;         // probeStart's batch, 0 for a single attempt: JS routes the result by it
  double tag = 0;             // the batch's number for this target, handed back as it came
  int family = AF_UNSPEC;     // AF_INET, AF_INET6 or AF_UNIX
  sockaddr_storage remote{};  // AF_UNIX paths need the room
  socklen_t remote_len = 0;
  IpAddr local{};
  socklen_t local_len = 0;  // 0: no bind()
  SocketOptions options;
  Wait wait = Wait::kPoll;
  Confirm confirm = Confirm::kSoError;
  int64_t wait_delay_ns = 0;          // between connect() and the first wait
  int64_t start_ns = 0;               // CLOCK_MONOTONIC
  int64_t deadline_ns = -1;           // -1: none, the kernel decides
  bool close_when_connected = false;  // probe: the verdict is all we want
  Mptcp mptcp = Mptcp::kOff;
  // The caller's further options, set in the order given after the fixed
  // ones above: records of {int32 level, int32 name, uint32 length, bytes},
  // host byte order, as lib/ packs them; kOptionBytes in the length marks
  // bytes (a name, a struct) rather than an int. Empty for most attempts.
  std::vector<uint8_t> extra_options;

  // What happened.
  int fd = -1;  // owned: open only on success
  // The socket's identity (SO_COOKIE, Linux >= 4.12), read right after
  // socket(): a number can be closed behind the owner's back and reused at
  // once, so before acting on it the owner checks that it still names this
  // socket. 0: the kernel has no cookies, and the number is trusted.
  uint64_t cookie = 0;
  int posix_errno = 0;            // 0, a positive errno, or kSelfConnect
  Call syscall = Call::kConnect;  // the call that reported posix_errno
  Phase phase = Phase::kImmediate;
  Why why = Why::kNone;
  Sequel sequel = Sequel::kNone;
  std::vector<Step> steps;
  IpAddr local_name{};  // getsockname, on TCP success
  socklen_t local_name_len = 0;
  IpAddr peer_name{};  // getpeername, on TCP success
  socklen_t peer_name_len = 0;
  int64_t end_ns = 0;
  // A probe's TCP_INFO, read right after a TCP success and before the close:
  // the handshake's RTT as the kernel measured it.
  std::unique_ptr<KernelTcpInfo> tcp_info;
  socklen_t tcp_info_len = 0;

  // Each scheduler's bookkeeping, in a struct of its own.
  TimerSlot timer;
  EngineSlot engine;
};

// Steps 1-4 of the algorithm: socket (SOCK_CLOEXEC in the call itself),
// fcntl x2 (F_GETFL, F_SETFL O_NONBLOCK), options, bind, connect.
// Returns true when the handshake is in progress and the caller must wait;
// false when the attempt has its verdict (immediate success or failure).
bool start_connect(Attempt& a);

// Step 6, after every wake whatever the readiness said: getsockopt(SO_ERROR),
// then on success the self-connect check. Finishes the attempt.
void finish_after_wake(Attempt& a);

// The deadline passed or the caller cancelled: close and finish. The
// caller has checked first (confirm_own_socket) that the fd is still ours.
void finish_timeout(Attempt& a);
void finish_aborted(Attempt& a);

// An attempt whose deadline passed before its turn came (queued behind a
// burst, or timeout: 0): it finishes ETIMEDOUT, phase timeout, without a
// single syscall. True if it did.
bool expired_before_start(Attempt& a, int64_t now_ns);

// Whether a.fd still names the socket this attempt made (its SO_COOKIE).
// Something may have closed the number behind the owner's back, and another
// socket, ours or not, may have it now: then it is not ours to watch, read,
// unwatch or close. confirm_own_socket also finishes the attempt when it is
// not: EBADF, the getsockopt traced, the number forgotten and never closed.
bool is_own_socket(const Attempt& a);
bool confirm_own_socket(Attempt& a);

// The wait syscall refused this attempt (poll's EINVAL once nfds passes
// RLIMIT_NOFILE): record the failed call, close the fd, finish with `err`.
void fail_wait(Attempt& a, int err);

// The fd's number is no longer this attempt's: poll said POLLNVAL, or
// select EBADF, because something closed it behind the owner's back. Finish
// with EBADF and never touch the number again (not even to close it: it may
// already name another thread's file).
void finish_fd_lost(Attempt& a);

// The whole algorithm on the calling thread, waiting with a single-fd poll,
// select or epoll under the attempt's deadline (blocking.cpp).
void connect_blocking(Attempt& a);

// The algorithm's own bookkeeping, shared with blocking.cpp. record appends
// the Step of a call from its wrapper's result (ret -1 and the errno on
// failure); fail closes the socket (unless EBADF says the number is no longer
// ours) and finishes with `err`; wait_call is the Call of an attempt's wait.
Step& record(Attempt& a, Call call, Arg arg, int res);
void fail(Attempt& a, int err, Call syscall, Phase phase);
Call wait_call(Wait wait);

// Records a wake from a multiplexed wait on this attempt's trace.
void record_poll_wake(Attempt& a, int ret, short revents);
void record_epoll_wake(Attempt& a, int ret, uint32_t events);

// The epoll engine's two calls on an attempt's socket, traced. watch_epoll
// registers the fd for one EPOLLOUT (EPOLLONESHOT: a connected socket JS
// holds on to never wakes the engine again), with the attempt's id as the
// event's data (never a pointer: a registration can outlive the attempt,
// see engine.h), and returns false when the attempt failed. unwatch_epoll
// removes it before a close the attempt decided on (deadline, cancel),
// after confirm_own_socket: a DEL that succeeds proves nothing, since the
// number may be another socket's now. False: the number is no longer ours,
// and the attempt failed without closing it.
bool watch_epoll(Attempt& a, int epoll_fd);
bool unwatch_epoll(Attempt& a, int epoll_fd);

// The epoll engine's deadline and cancel, settled first: the verdict
// (ETIMEDOUT, phase timeout; ECANCELED, phase aborted) with no syscall and
// the socket still open, marked Sequel::kCloseFollows. close_after_settle,
// once JS has that verdict, confirms the number is still the attempt's own
// socket, unwatches it if `unwatch`, and closes it, each call traced; the
// verdict stands whatever they say. Afterwards the attempt holds only the
// steps taken after the verdict, marked Sequel::kSteps.
void settle_open(Attempt& a, int err, Phase phase);
void close_after_settle(Attempt& a, int epoll_fd, bool unwatch);
void record_select_wake(Attempt& a, int ret, bool readable, bool writable);

// The level and name of an option the algorithm or the step-by-step API sets.
bool option_of(Arg arg, int* level, int* name);

}  // namespace nbc
