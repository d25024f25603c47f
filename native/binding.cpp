// The Node-API face of nbconnect. It converts JS values to sockaddrs and
// Attempts, and Attempts back to numbers on the wire (wire.h); every decision
// is made in posix_connect.cpp (the algorithm) or lib/ (validation, errors).
//
// Per environment (the main thread and each worker) the instance data holds
// at most one Waiter for each wait syscall, made on first use, and the set
// of fds handed to JS as open Connections.
//
// Environment teardown, in the order Node runs the cleanup hooks (the
// reverse of their registration):
//   1. each waiter's hook (registered at its first use): shut the waiter
//      down (join its thread, close every fd it still owns), then release
//      its thread-safe function, whose queued calls now see no env;
//   2. the module's hook (registered at load): close every fd still handed
//      to JS. A worker's Connections die with it, as its net.Sockets do;
//      FinalizationRegistry callbacks never run at teardown.
//   3. Node-API deletes the instance data.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <uv.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>

#include "engine.h"
#include "posix_connect.h"
#include "waiter.h"
#include "wire.h"

namespace {

using nbc::Attempt;
using nbc::Wait;

const char* arg_name(nbc::Arg a) { return nbc::wire::kArgNames[int(a)]; }

// poll(2)'s revents bits and epoll's events bits, with their names.
struct EventBit {
  int bit;
  const char* name;
};
const EventBit kPollBits[] = {
    {POLLIN, "POLLIN"},   {POLLPRI, "POLLPRI"},   {POLLOUT, "POLLOUT"}, {POLLERR, "POLLERR"},
    {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"},
#ifdef POLLRDHUP
    {POLLRDHUP, "POLLRDHUP"},
#endif
};
const EventBit kEpollBits[] = {
    {EPOLLIN, "EPOLLIN"},   {EPOLLPRI, "EPOLLPRI"}, {EPOLLOUT, "EPOLLOUT"},
    {EPOLLERR, "EPOLLERR"}, {EPOLLHUP, "EPOLLHUP"}, {EPOLLRDHUP, "EPOLLRDHUP"},
};

Napi::Array revents_names(Napi::Env env, short revents) {
  Napi::Array names = Napi::Array::New(env);
  uint32_t n = 0;
  for (auto& b : kPollBits)
    if (revents & b.bit) names.Set(n++, b.name);
  return names;
}

// ---- JS -> C++ --------------------------------------------------------------

int32_t int_field(const Napi::Object& o, const char* key, int32_t absent) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : absent;
}

// Fills `out` from an IP literal that lib/ validated; false if inet_pton
// disagrees, which lib/ promised cannot happen.
bool ip_sockaddr(const std::string& address, int family, int port, nbc::IpAddr& out, socklen_t& len) {
  std::memset(&out, 0, sizeof out);
  if (family == 4) {
    auto* sin = &out.in4;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(uint16_t(port));
    if (address.empty())
      sin->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1)
      return false;
    len = sizeof *sin;
    return true;
  }
  auto* sin6 = &out.in6;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(uint16_t(port));
  if (address.empty()) {
    sin6->sin6_addr = in6addr_any;
  } else {
    // fe80::1%eth0: the zone is an interface name or index.
    std::string host = address;
    size_t zone = host.find('%');
    if (zone != std::string::npos) {
      std::string name = host.substr(zone + 1);
      host.resize(zone);
      unsigned index = if_nametoindex(name.c_str());
      if (index == 0) index = unsigned(std::strtoul(name.c_str(), nullptr, 10));
      sin6->sin6_scope_id = index;
    }
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) return false;
  }
  len = sizeof *sin6;
  return true;
}

// A path of sun_path's size or more cannot be stored with its NUL; an
// abstract name (leading NUL) uses every byte and no terminator.
bool unix_sockaddr(const std::string& path, sockaddr_storage& out, socklen_t& len) {
  std::memset(&out, 0, sizeof out);
  auto* sun = reinterpret_cast<sockaddr_un*>(&out);
  bool abstract = !path.empty() && path[0] == '\0';
  if (path.empty() || path.size() > sizeof sun->sun_path - (abstract ? 0 : 1)) return false;
  sun->sun_family = AF_UNIX;
  std::memcpy(sun->sun_path, path.data(), path.size());
  len = socklen_t(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return true;
}

// family 4, 6 or 0 (AF_UNIX, where `text` is the path) -> sockaddr; false if
// the native side disagrees with what lib/ validated.
bool remote_sockaddr(int family, const std::string& text, int port, sockaddr_storage& out, socklen_t& len) {
  if (family == 0) return unix_sockaddr(text, out, len);
  std::memset(&out, 0, sizeof out);
  return (family == 4 || family == 6) &&
         ip_sockaddr(text, family, port, reinterpret_cast<nbc::IpAddr&>(out), len);
}

// The step-by-step API's { family, address, port, path } -> sockaddr.
bool sockaddr_from(const Napi::Object& spec, sockaddr_storage& out, socklen_t& len) {
  int family = int_field(spec, "family", -1);
  Napi::Value text = spec.Get(family == 0 ? "path" : "address");
  return remote_sockaddr(family, text.As<Napi::String>().Utf8Value(), int_field(spec, "port", 0), out, len);
}

// The spec lib/ packs (see wire.h) plus the address or path, and the local
// address (a string, or undefined).
std::unique_ptr<Attempt> attempt_from(const Napi::Env& env, const double* spec, const Napi::Value& address,
                                      const Napi::Value& local) {
  namespace w = nbc::wire;
  auto a = std::make_unique<Attempt>();
  int family = int(spec[w::kSpecFamily]);
  a->family = family == 0 ? AF_UNIX : family == 6 ? AF_INET6 : AF_INET;
  bool ok = remote_sockaddr(family, address.As<Napi::String>().Utf8Value(), int(spec[w::kSpecPort]),
                            a->remote, a->remote_len);
  if (family != 0) {
    int local_port = int(spec[w::kSpecLocalPort]);
    if (ok && (local.IsString() || local_port >= 0)) {
      // The local family follows the literal; a mismatch is the kernel's to
      // report (EAFNOSUPPORT or EINVAL from bind), and the trace shows it.
      std::string local_text = local.IsString() ? local.As<Napi::String>().Utf8Value() : "";
      int local_family = local_text.empty() ? family : (local_text.find(':') != std::string::npos ? 6 : 4);
      ok = ip_sockaddr(local_text, local_family, local_port < 0 ? 0 : local_port, a->local, a->local_len);
    }
  }
  int confirm = int(spec[w::kSpecConfirm]);
  if (!ok || confirm < 0 || confirm > int(nbc::Confirm::kReconnect)) {
    Napi::RangeError::New(env, "nbconnect: spec rejected by the native layer").ThrowAsJavaScriptException();
    return nullptr;
  }
  a->id = uint64_t(spec[w::kSpecId]);
  int wait = int(spec[w::kSpecWait]);
  a->wait = wait >= 0 && wait < int(Wait::kCount) ? Wait(wait) : Wait::kPoll;
  a->options.no_delay = int(spec[w::kSpecNoDelay]);
  a->options.syn_count = int(spec[w::kSpecSynCount]);
  a->options.user_timeout_ms = int(spec[w::kSpecUserTimeout]);
  a->options.bind_address_no_port = int(spec[w::kSpecBindNoPort]);
  a->options.linger0 = int(spec[w::kSpecLinger0]);
  a->confirm = nbc::Confirm(confirm);
  a->wait_delay_ns = int64_t(spec[w::kSpecWaitDelay] * 1e6);
  a->close_when_connected = spec[w::kSpecCloseWhenConnected] != 0;
  a->start_ns = nbc::monotonic_ns();
  a->deadline_ns = nbc::deadline_after(a->start_ns, spec[w::kSpecTimeout]);
  return a;
}

// ---- C++ -> JS --------------------------------------------------------------

void set_endpoint(Napi::Object& o, const char* address_key, const char* port_key,
                  const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
    port = ntohs(sin.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof text);
    port = ntohs(sin6.sin6_port);
    // As net.Socket reports it: a link-local address with its zone.
    if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr) && sin6.sin6_scope_id != 0) {
      o.Set(address_key, std::string(text) + "%" + nbc::interface_name(sin6.sin6_scope_id));
      o.Set(port_key, port);
      return;
    }
  } else {
    return;
  }
  o.Set(address_key, text);
  o.Set(port_key, port);
}

size_t encoded_size(const Attempt& a) {
  return nbc::wire::kHeaderSlots + a.steps.size() * nbc::wire::kStepSlots;
}

// family, port, the address as four big-endian 32-bit words, the scope id.
void encode_endpoint(double* out, const nbc::IpAddr& addr, socklen_t len) {
  out[0] = 0;
  if (len == 0) return;
  const uint8_t* bytes;
  size_t n;
  if (addr.sa.sa_family == AF_INET) {
    auto& sin = addr.in4;
    out[0] = 4;
    out[1] = ntohs(sin.sin_port);
    bytes = reinterpret_cast<const uint8_t*>(&sin.sin_addr);
    n = 4;
  } else if (addr.sa.sa_family == AF_INET6) {
    auto& sin6 = addr.in6;
    out[0] = 6;
    out[1] = ntohs(sin6.sin6_port);
    out[6] = sin6.sin6_scope_id;
    bytes = sin6.sin6_addr.s6_addr;
    n = 16;
  } else {
    return;
  }
  for (size_t word = 0; word < n / 4; word++)
    out[2 + word] = double((uint32_t(bytes[4 * word]) << 24) | (uint32_t(bytes[4 * word + 1]) << 16) |
                           (uint32_t(bytes[4 * word + 2]) << 8) | bytes[4 * word + 3]);
}

// Writes one result at `out`; returns the slots written.
size_t encode(const Attempt& a, double* out) {
  namespace w = nbc::wire;
  std::fill(out, out + w::kHeaderSlots, 0.0);
  out[w::kResId] = double(a.id);
  out[w::kResFd] = a.fd;
  out[w::kResPosixErrno] = a.posix_errno;
  out[w::kResSyscall] = int(a.syscall);
  out[w::kResPhase] = int(a.phase);
  out[w::kResWhy] = int(a.why);
  out[w::kResStart] = double(a.start_ns) / 1e6;
  out[w::kResElapsed] = double(a.end_ns - a.start_ns) / 1e6;
  encode_endpoint(out + w::kResLocalFamily, a.local_name, a.local_name_len);
  encode_endpoint(out + w::kResRemoteFamily, a.peer_name, a.peer_name_len);
  out[w::kResStepCount] = double(a.steps.size());
  double* step = out + w::kHeaderSlots;
  for (const nbc::Step& s : a.steps) {
    step[w::kStepPacked] = int(s.call) + w::kArgUnit * int(s.arg) + w::kDetailUnit * s.detail +
                           w::kReadableBit * s.readable + w::kWritableBit * s.writable;
    step[w::kStepRet] = s.ret;
    step[w::kStepErrno] = s.err;
    step[w::kStepValue] = s.value;
    step[w::kStepRevents] = s.revents;
    step[w::kStepAt] = double(s.at_ns) / 1e6;
    step += w::kStepSlots;
  }
  return encoded_size(a);
}

// The batch as one Float64Array, through the C API so that every status is
// checked: while an environment is torn down these calls fail, and
// node-addon-api, with C++ exceptions off, turns a failure it cannot throw
// into napi_fatal_error. False: nothing reached JS.
bool encode_all(napi_env env, const std::vector<std::unique_ptr<Attempt>>& list, napi_value* out) {
  size_t total = 0;
  for (auto& a : list) total += encoded_size(*a);
  void* data = nullptr;
  napi_value buffer;
  if (napi_create_arraybuffer(env, total * sizeof(double), &data, &buffer) != napi_ok) return false;
  if (napi_create_typedarray(env, napi_float64_array, total, buffer, 0, out) != napi_ok) return false;
  double* cursor = static_cast<double*>(data);
  for (auto& a : list) cursor += encode(*a, cursor);
  return true;
}

// ---- the waiters ------------------------------------------------------------

struct Addon;
struct WaiterBinding;
void deliver(Napi::Env env, Napi::Function on_batch, WaiterBinding* binding, std::nullptr_t*);
using BatchFunction = Napi::TypedThreadSafeFunction<WaiterBinding, std::nullptr_t, deliver>;

struct WaiterBinding final : nbc::CompletionSink {
  WaiterBinding(Wait wait_kind, Addon* owner) : kind(wait_kind), waiter(wait_kind, this), addon(owner) {}
  void completions_ready() override { tsfn.NonBlockingCall(); }

  const Wait kind;
  nbc::Waiter waiter;
  BatchFunction tsfn;
  Addon* addon;
  uint64_t in_flight = 0;  // JS thread only: while > 0 the loop is kept alive
  std::vector<std::unique_ptr<Attempt>> batch;
};

struct EngineBinding;

struct Addon {
  Napi::FunctionReference on_batch;
  WaiterBinding* waiters[2] = {nullptr, nullptr};
  EngineBinding* engine = nullptr;
  // The fds of connected attempts handed to JS and not yet closed or given
  // away (close(), toSocket(), raw.close). JS thread only.
  std::unordered_set<int> handed_fds;

  // From here on JS owns the fd: the Connection it builds closes it, or
  // step 2 of the teardown does.
  void hand_over(const std::vector<std::unique_ptr<Attempt>>& list) {
    for (auto& a : list)
      if (a->fd >= 0) handed_fds.insert(a->fd);
  }
};

// A batch that cannot reach JS closes its own sockets.
void close_connected(std::vector<std::unique_ptr<Attempt>>& list) {
  for (auto& a : list)
    if (a->fd >= 0) nbc::sys_close(a->fd);
}

void deliver(Napi::Env env, Napi::Function on_batch, WaiterBinding* binding, std::nullptr_t*) {
  if (env == nullptr) return;  // torn down: shutdown() closed what was left
  std::vector<std::unique_ptr<Attempt>>& batch = binding->batch;
  binding->waiter.take_completions(batch);
  if (batch.empty()) return;
  binding->in_flight -= batch.size();
  if (binding->in_flight == 0) binding->tsfn.Unref(env);
  napi_value results;
  if (!encode_all(env, batch, &results)) {
    close_connected(batch);
    batch.clear();
    return;
  }
  binding->addon->hand_over(batch);
  batch.clear();
  napi_value receiver;
  napi_get_undefined(env, &receiver);
  // A failed call (the environment stopping, or onBatch throwing) may have
  // let JS take part of the batch and not the rest: the fds stay recorded as
  // handed over, and the module's teardown closes what JS never took.
  napi_call_function(env, receiver, on_batch, 1, &results, nullptr);
}

// Teardown step 1, per waiter. It was registered after the thread-safe
// function was made, and cleanup hooks run in reverse order, so it runs
// before Node-API tears that function down.
void teardown_waiter(void* arg) {
  auto* binding = static_cast<WaiterBinding*>(arg);
  binding->addon->waiters[int(binding->kind)] = nullptr;
  binding->waiter.shutdown();
  // The finalizer deletes the binding once Node-API is done with it.
  binding->tsfn.Release();
}

// Teardown step 2: the sockets of Connections JS never closed.
void close_handed_fds(void* arg) {
  auto* addon = static_cast<Addon*>(arg);
  for (int fd : addon->handed_fds) nbc::sys_close(fd);
  addon->handed_fds.clear();
}

// The waiter of this environment for `kind`, started on first use; null
// with `failure` set when its eventfd or thread cannot be made.
WaiterBinding* waiter_for(Napi::Env env, Wait kind, nbc::Waiter::StartError& failure) {
  Addon* addon = env.GetInstanceData<Addon>();
  if (WaiterBinding* existing = addon->waiters[int(kind)]) return existing;
  auto* binding = new WaiterBinding(kind, addon);
  failure = binding->waiter.start();
  if (failure.err < 0) {
    delete binding;
    return nullptr;
  }
  binding->tsfn = BatchFunction::New(env, addon->on_batch.Value(), "nbconnect.waiter", 0, 1, binding,
                                     [](Napi::Env, void*, WaiterBinding* done) { delete done; });
  binding->tsfn.Unref(env);
  napi_add_env_cleanup_hook(env, teardown_waiter, binding);
  addon->waiters[int(kind)] = binding;
  return binding;
}

// init(onBatch): the function every batch of async results is handed to.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Addon* addon = info.Env().GetInstanceData<Addon>();
  addon->on_batch = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// ---- the epoll engine, in this environment's libuv loop ---------------------
//
// One uv_poll_t watches the engine's epoll fd, so readiness arrives on the
// JS thread with no thread hop; one uv_timer_t is armed for the heap's
// nearest instant; one uv_idle_t runs queued starts (a slice per turn, so a
// burst never holds the loop for long) and delivers results that came from
// no wake (immediate verdicts, cancels). The poll handle keeps the loop
// alive while any attempt is live; the timer never does on its own.
//
// Teardown (an async cleanup hook, since libuv handles close through the
// loop): close the three handles; when the last one is closed, the engine
// closes every fd it owns and its epoll fd; then the hook is removed and
// the binding deleted. An environment's loop is never closed with one of
// our handles open.

// Starts per turn of the loop: bounds how long a burst holds it.
constexpr size_t kStartSlice = 256;
// Deadlines finished before JS hears of them: each costs an EPOLL_CTL_DEL
// and a close(2) (about 3 us here), so the first of a thousand due at once
// need not wait for the last one's close.
constexpr size_t kExpirySlice = 64;

struct EngineBinding {
  napi_env env = nullptr;
  Addon* addon = nullptr;
  nbc::Engine engine;
  uv_poll_t poll{};
  uv_timer_t timer{};
  uv_idle_t idle{};
  int64_t timer_armed_ns = -1;
  int handles_open = 0;
  napi_async_context async_context = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
};

void engine_rearm(EngineBinding* b);

// Hands every finished attempt to JS in one batch, through MakeCallback so
// that promise reactions run when it returns, as after any I/O callback.
void engine_deliver(EngineBinding* b) {
  auto& done = b->engine.finished();
  if (done.empty()) return;
  std::vector<std::unique_ptr<Attempt>> batch;
  batch.swap(done);
  napi_env env = b->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return close_connected(batch);
  napi_value results, on_batch, receiver, ignored;
  if (!encode_all(env, batch, &results)) {
    close_connected(batch);
  } else {
    b->addon->hand_over(batch);
    batch.clear();
    napi_get_global(env, &receiver);  // MakeCallback wants an object
    on_batch = b->addon->on_batch.Value();
    if (napi_make_callback(env, b->async_context, receiver, on_batch, 1, &results, &ignored) ==
        napi_pending_exception) {
      // onBatch catches what it calls; an exception here is a bug, and it
      // goes where any uncaught one does.
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

// One turn: start a slice of the queue, hand over what finished, rearm.
void engine_turn(EngineBinding* b, bool start) {
  if (start) b->engine.start_queued(kStartSlice);
  engine_deliver(b);
  if (b->addon->engine == b) engine_rearm(b);
}

void engine_rearm(EngineBinding* b) {
  nbc::Engine& e = b->engine;
  if (e.has_queued() || !e.finished().empty())
    uv_idle_start(&b->idle, [](uv_idle_t* h) { engine_turn(static_cast<EngineBinding*>(h->data), true); });
  else
    uv_idle_stop(&b->idle);
  int64_t next = e.next_timer_ns();
  if (next < 0) {
    uv_timer_stop(&b->timer);
    b->timer_armed_ns = -1;
  } else if (next != b->timer_armed_ns) {
    b->timer_armed_ns = next;
    // libuv counts a timer from the loop's cached time, which is as old as
    // this turn: after a long turn (a slice of starts, a batch of
    // deadlines) it would fire early and then late. So the cache is brought
    // to now first, and the wait is in whole ms, rounded up.
    uv_update_time(b->poll.loop);
    uint64_t ms = uint64_t(nbc::poll_timeout_ms(next, nbc::monotonic_ns()));
    uv_timer_start(
        &b->timer,
        [](uv_timer_t* h) {
          auto* b = static_cast<EngineBinding*>(h->data);
          b->timer_armed_ns = -1;
          const int64_t now = nbc::monotonic_ns();
          while (b->engine.expire(now, kExpirySlice) && b->addon->engine == b) engine_deliver(b);
          engine_turn(b, false);
        },
        ms, 0);
  }
  if (e.live() > 0)
    uv_ref(reinterpret_cast<uv_handle_t*>(&b->poll));
  else
    uv_unref(reinterpret_cast<uv_handle_t*>(&b->poll));
}

void engine_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* b = static_cast<EngineBinding*>(arg);
  b->cleanup = handle;
  b->addon->engine = nullptr;
  napi_async_destroy(b->env, b->async_context);
  auto closed = [](uv_handle_t* h) {
    auto* b = static_cast<EngineBinding*>(h->data);
    if (--b->handles_open > 0) return;
    b->engine.shutdown();
    napi_remove_async_cleanup_hook(b->cleanup);
    delete b;
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&b->poll), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->timer), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->idle), closed);
}

// The engine of this environment, made on first use; null with `failure`
// set when its epoll fd cannot be made.
EngineBinding* engine_for(Napi::Env env, nbc::Waiter::StartError& failure) {
  Addon* addon = env.GetInstanceData<Addon>();
  if (addon->engine) return addon->engine;
  auto* b = new EngineBinding();
  b->env = env;
  b->addon = addon;
  int err = b->engine.open();
  uv_loop_t* loop = nullptr;
  if (err == 0 && napi_get_uv_event_loop(env, &loop) != napi_ok) err = -EINVAL;
  if (err == 0) err = uv_poll_init(loop, &b->poll, b->engine.epoll_fd());
  if (err < 0) {
    failure = {err, err == -EINVAL ? "uv_poll_init" : "epoll_create1"};
    delete b;
    return nullptr;
  }
  uv_timer_init(loop, &b->timer);
  uv_idle_init(loop, &b->idle);
  b->poll.data = b->timer.data = b->idle.data = b;
  b->handles_open = 3;
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->timer));
  uv_poll_start(&b->poll, UV_READABLE, [](uv_poll_t* h, int, int) {
    auto* b = static_cast<EngineBinding*>(h->data);
    b->engine.collect_ready();
    engine_turn(b, false);
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->poll));
  napi_value name;
  napi_create_string_utf8(env, "nbconnect.engine", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &b->async_context);
  napi_add_async_cleanup_hook(env, engine_teardown, b, nullptr);
  addon->engine = b;
  return b;
}

// connectSync(spec, address, localAddress): the whole algorithm on this
// thread; returns one encoded result.
Napi::Value ConnectSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto a = attempt_from(env, info[0].As<Napi::Float64Array>().Data(), info[1], info[2]);
  if (!a) return env.Undefined();
  nbc::connect_blocking(*a);
  std::vector<std::unique_ptr<Attempt>> one;
  one.push_back(std::move(a));
  napi_value result;
  if (!encode_all(env, one, &result)) {
    close_connected(one);
    return env.Undefined();
  }
  env.GetInstanceData<Addon>()->hand_over(one);
  return Napi::Value(env, result);
}

// connectStart(spec, address, localAddress): hands the attempt to the
// waiter; the result comes back through onBatch. The syscalls themselves run
// on the waiter thread. Returns undefined, or { errno, syscall } (errno
// positive) when the waiter cannot start: then no attempt was made.
Napi::Value ConnectStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto a = attempt_from(env, info[0].As<Napi::Float64Array>().Data(), info[1], info[2]);
  if (!a) return env.Undefined();
  nbc::Waiter::StartError failure;
  if (a->wait == Wait::kEpoll) {
    if (EngineBinding* b = engine_for(env, failure)) {
      b->engine.queue(std::move(a));
      engine_rearm(b);
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("errno", -failure.err);
    out.Set("syscall", failure.call);
    return out;
  }
  WaiterBinding* binding = waiter_for(env, a->wait, failure);
  if (!binding) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("errno", -failure.err);
    out.Set("syscall", failure.call);
    return out;
  }
  if (binding->in_flight++ == 0) binding->tsfn.Ref(env);
  binding->waiter.submit(std::move(a));
  return env.Undefined();
}

// cancel(wait, id): a message to the waiter; the attempt settles through
// onBatch as aborted, unless its verdict came first.
Napi::Value Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wait kind = Wait(info[0].As<Napi::Number>().Int32Value());
  if (kind == Wait::kEpoll) {
    if (EngineBinding* b = env.GetInstanceData<Addon>()->engine) {
      b->engine.cancel(uint64_t(info[1].As<Napi::Number>().DoubleValue()));
      engine_rearm(b);
    }
    return env.Undefined();
  }
  if (WaiterBinding* binding = env.GetInstanceData<Addon>()->waiters[int(kind)])
    binding->waiter.cancel(uint64_t(info[1].As<Napi::Number>().DoubleValue()));
  return env.Undefined();
}

// close(2) of an fd JS holds; it is no longer one the teardown closes (its
// number may be someone else's by then). 0 or -errno.
int close_held(Napi::Env env, int fd) {
  env.GetInstanceData<Addon>()->handed_fds.erase(fd);
  return nbc::sys_close(fd);
}

// close(fd): 0, or the positive errno.
Napi::Value Close(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), -close_held(info.Env(), info[0].As<Napi::Number>().Int32Value()));
}

// release(fd): JS gave the fd to another owner (a net.Socket), which closes
// it from now on; the teardown must not.
Napi::Value Release(const Napi::CallbackInfo& info) {
  info.Env().GetInstanceData<Addon>()->handed_fds.erase(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// lookupSync(host, family): getaddrinfo on this thread, for connectSync.
// Returns [{ address, family }] or { eai, message }.
Napi::Value LookupSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int family = info[1].As<Napi::Number>().Int32Value();
  addrinfo hints{};
  hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;  // as dns.lookup does
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    Napi::Object failure = Napi::Object::New(env);
    failure.Set("eai", rc);
    failure.Set("message", gai_strerror(rc));
    return failure;
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    Napi::Object entry = Napi::Object::New(env);
    set_endpoint(entry, "address", "port", ss);
    entry.Set("family", ai->ai_family == AF_INET ? 4 : 6);
    out.Set(n++, entry);
  }
  freeaddrinfo(list);
  return out;
}

// interfaceName(index): an IPv6 zone's interface name, for a result's
// link-local address (the wire carries only the scope id).
Napi::Value InterfaceName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), nbc::interface_name(info[0].As<Napi::Number>().Uint32Value()));
}

// ---- the step-by-step API: one syscall per call -----------------------------
// Each returns { ret, errno? } plus its data; errno is positive. lib/raw.ts
// validated every argument, including fd < FD_SETSIZE for select.

Napi::Object raw_result(Napi::Env env, int res) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ret", res < 0 ? -1 : res);
  if (res < 0) o.Set("errno", -res);
  return o;
}

int fd_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

Napi::Value RawSocket(const Napi::CallbackInfo& info) {
  int family = info[0].As<Napi::Number>().Int32Value();
  return raw_result(info.Env(), nbc::sys_socket(family == 0 ? AF_UNIX : family == 6 ? AF_INET6 : AF_INET));
}

// fcntl(fd, cmd, arg) for cmd F_GETFL (0), F_SETFL (1), F_SETFD (2).
Napi::Value RawFcntl(const Napi::CallbackInfo& info) {
  static const int kCmds[] = {F_GETFL, F_SETFL, F_SETFD};
  int cmd = info[1].As<Napi::Number>().Int32Value();
  if (cmd < 0 || cmd > 2) {
    Napi::RangeError::New(info.Env(), "nbconnect: unknown fcntl command").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return raw_result(info.Env(),
                    nbc::sys_fcntl(fd_arg(info, 0), kCmds[cmd], info[2].As<Napi::Number>().Int32Value()));
}

// setsockopt(fd, name, value), name one of the traced option names.
Napi::Value RawSetsockopt(const Napi::CallbackInfo& info) {
  std::string name = info[1].As<Napi::String>().Utf8Value();
  int value = info[2].As<Napi::Number>().Int32Value();
  if (name == "SO_LINGER")
    return raw_result(info.Env(), nbc::sys_setsockopt_linger(fd_arg(info, 0), value ? 1 : 0, 0));
  static const nbc::Arg kOptions[] = {nbc::Arg::kTcpNoDelay, nbc::Arg::kTcpSynCount,
                                      nbc::Arg::kTcpUserTimeout, nbc::Arg::kIpBindAddressNoPort};
  for (nbc::Arg arg : kOptions) {
    int level, optname;
    if (name == arg_name(arg) && nbc::option_of(arg, &level, &optname))
      return raw_result(info.Env(), nbc::sys_setsockopt_int(fd_arg(info, 0), level, optname, value));
  }
  Napi::RangeError::New(info.Env(), "nbconnect: unknown socket option").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value RawAddressCall(const Napi::CallbackInfo& info, bool is_bind) {
  sockaddr_storage addr;
  socklen_t len;
  if (!sockaddr_from(info[1].As<Napi::Object>(), addr, len)) {
    Napi::RangeError::New(info.Env(), "nbconnect: address rejected by the native layer")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  int fd = fd_arg(info, 0);
  return raw_result(info.Env(), is_bind ? nbc::sys_bind(fd, &addr, len) : nbc::sys_connect(fd, &addr, len));
}
Napi::Value RawBind(const Napi::CallbackInfo& info) { return RawAddressCall(info, true); }
Napi::Value RawConnect(const Napi::CallbackInfo& info) { return RawAddressCall(info, false); }

// poll(fds, events, timeoutMs): fds and events are parallel arrays.
Napi::Value RawPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array fds = info[0].As<Napi::Array>();
  Napi::Array events = info[1].As<Napi::Array>();
  std::vector<pollfd> set(fds.Length());
  for (uint32_t i = 0; i < set.size(); i++)
    set[i] = pollfd{fds.Get(i).As<Napi::Number>().Int32Value(),
                    short(events.Get(i).As<Napi::Number>().Int32Value()), 0};
  int res = nbc::poll_fds_until(set.data(), set.size(), info[2].As<Napi::Number>().Int32Value());
  Napi::Object o = raw_result(env, res);
  Napi::Array revents = Napi::Array::New(env, set.size());
  for (uint32_t i = 0; i < set.size(); i++) revents.Set(i, revents_names(env, res > 0 ? set[i].revents : 0));
  o.Set("revents", revents);
  return o;
}

// select(fds, read[], write[], timeoutMs): every fd < FD_SETSIZE (lib/ checked,
// and so does this, since FD_SET past the set writes past the buffer).
Napi::Value RawSelect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array fds = info[0].As<Napi::Array>();
  Napi::Array reads = info[1].As<Napi::Array>();
  Napi::Array writes = info[2].As<Napi::Array>();
  fd_set rset, wset;
  FD_ZERO(&rset);
  FD_ZERO(&wset);
  int maxfd = -1;
  std::vector<int> list(fds.Length());
  for (uint32_t i = 0; i < list.size(); i++) {
    int fd = list[i] = fds.Get(i).As<Napi::Number>().Int32Value();
    if (fd < 0 || fd >= FD_SETSIZE) {
      Napi::RangeError::New(env, "nbconnect: fd out of range for select").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (reads.Get(i).ToBoolean()) FD_SET(fd, &rset);
    if (writes.Get(i).ToBoolean()) FD_SET(fd, &wset);
    maxfd = std::max(maxfd, fd);
  }
  double timeout_ms = info[3].As<Napi::Number>().DoubleValue();
  int res = nbc::select_fds_until(maxfd + 1, &rset, &wset, timeout_ms < 0 ? -1 : int64_t(timeout_ms * 1e6));
  Napi::Object o = raw_result(env, res);
  Napi::Array readable = Napi::Array::New(env, list.size());
  Napi::Array writable = Napi::Array::New(env, list.size());
  for (uint32_t i = 0; i < list.size(); i++) {
    readable.Set(i, res > 0 && FD_ISSET(list[i], &rset));
    writable.Set(i, res > 0 && FD_ISSET(list[i], &wset));
  }
  o.Set("readable", readable);
  o.Set("writable", writable);
  return o;
}

Napi::Value RawGetSoError(const Napi::CallbackInfo& info) {
  int value = 0;
  int res = nbc::sys_getsockopt_so_error(fd_arg(info, 0), &value);
  Napi::Object o = raw_result(info.Env(), res);
  if (res == 0) o.Set("value", value);
  return o;
}

Napi::Value RawName(const Napi::CallbackInfo& info, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int fd = fd_arg(info, 0);
  int res = peer ? nbc::sys_getpeername(fd, &addr, &len) : nbc::sys_getsockname(fd, &addr, &len);
  Napi::Object o = raw_result(info.Env(), res);
  if (res != 0) return o;
  if (addr.ss_family == AF_UNIX) {
    auto& sun = reinterpret_cast<const sockaddr_un&>(addr);
    size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    std::string path(sun.sun_path, n);
    if (!path.empty() && path[0] != '\0') path = path.c_str();  // drop the trailing NUL
    o.Set("family", 0);
    o.Set("path", path);
  } else {
    o.Set("family", addr.ss_family == AF_INET6 ? 6 : 4);
    set_endpoint(o, "address", "port", addr);
  }
  return o;
}
Napi::Value RawGetsockname(const Napi::CallbackInfo& info) { return RawName(info, false); }
Napi::Value RawGetpeername(const Napi::CallbackInfo& info) { return RawName(info, true); }

Napi::Value RawRead(const Napi::CallbackInfo& info) {
  uint32_t n = info[1].As<Napi::Number>().Uint32Value();
  std::vector<char> buf(n ? n : 1);
  int res = nbc::sys_read(fd_arg(info, 0), buf.data(), n);
  Napi::Object o = raw_result(info.Env(), res);
  o.Set("data", Napi::Buffer<char>::Copy(info.Env(), buf.data(), res > 0 ? size_t(res) : 0));
  return o;
}

// A Connection's fd may be closed through the raw API too.
Napi::Value RawClose(const Napi::CallbackInfo& info) {
  return raw_result(info.Env(), close_held(info.Env(), fd_arg(info, 0)));
}

// ---- the wire's layout, for lib/wire.ts to read at load -----------------------

template <size_t N>
Napi::Array name_table(Napi::Env env, const char* const (&names)[N]) {
  Napi::Array out = Napi::Array::New(env, N);
  for (uint32_t i = 0; i < N; i++) out.Set(i, names[i] ? Napi::Value(Napi::String::New(env, names[i])) : env.Null());
  return out;
}

template <size_t N>
Napi::Array bit_table(Napi::Env env, const EventBit (&bits)[N]) {
  Napi::Array out = Napi::Array::New(env, N);
  for (uint32_t i = 0; i < N; i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, bits[i].bit);
    pair.Set(1u, bits[i].name);
    out.Set(i, pair);
  }
  return out;
}

Napi::Object LayoutExports(Napi::Env env) {
  namespace w = nbc::wire;
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("spec", name_table(env, w::kSpecNames));
  Napi::Object result = Napi::Object::New(env);
  for (auto& r : w::kResultNames) result.Set(r.name, r.slot);
  layout.Set("result", result);
  layout.Set("step", name_table(env, w::kStepNames));
  Napi::Object packing = Napi::Object::New(env);
  packing.Set("argUnit", w::kArgUnit);
  packing.Set("detailUnit", w::kDetailUnit);
  packing.Set("readableBit", w::kReadableBit);
  packing.Set("writableBit", w::kWritableBit);
  packing.Set("revents", int(nbc::Step::kRevents));
  packing.Set("sets", int(nbc::Step::kSets));
  packing.Set("value", int(nbc::Step::kValue));
  layout.Set("packing", packing);
  layout.Set("calls", name_table(env, w::kCallNames));
  layout.Set("args", name_table(env, w::kArgNames));
  layout.Set("waits", name_table(env, w::kWaitNames));
  layout.Set("confirms", name_table(env, w::kConfirmNames));
  layout.Set("phases", name_table(env, w::kPhaseNames));
  layout.Set("whys", name_table(env, w::kWhyNames));
  layout.Set("pollEvents", bit_table(env, kPollBits));
  layout.Set("epollEvents", bit_table(env, kEpollBits));
  return layout;
}

Napi::Object RawExports(Napi::Env env) {
  Napi::Object raw = Napi::Object::New(env);
  raw.Set("socket", Napi::Function::New(env, RawSocket, "socket"));
  raw.Set("fcntl", Napi::Function::New(env, RawFcntl, "fcntl"));
  raw.Set("setsockopt", Napi::Function::New(env, RawSetsockopt, "setsockopt"));
  raw.Set("bind", Napi::Function::New(env, RawBind, "bind"));
  raw.Set("connect", Napi::Function::New(env, RawConnect, "connect"));
  raw.Set("poll", Napi::Function::New(env, RawPoll, "poll"));
  raw.Set("select", Napi::Function::New(env, RawSelect, "select"));
  raw.Set("getSoError", Napi::Function::New(env, RawGetSoError, "getSoError"));
  raw.Set("getsockname", Napi::Function::New(env, RawGetsockname, "getsockname"));
  raw.Set("getpeername", Napi::Function::New(env, RawGetpeername, "getpeername"));
  raw.Set("read", Napi::Function::New(env, RawRead, "read"));
  raw.Set("close", Napi::Function::New(env, RawClose, "close"));
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("O_NONBLOCK", O_NONBLOCK);
  constants.Set("POLLIN", POLLIN);
  constants.Set("POLLPRI", POLLPRI);
  constants.Set("POLLOUT", POLLOUT);
  constants.Set("POLLERR", POLLERR);
  constants.Set("POLLHUP", POLLHUP);
  constants.Set("POLLNVAL", POLLNVAL);
#ifdef POLLRDHUP
  constants.Set("POLLRDHUP", POLLRDHUP);
#endif
  raw.Set("constants", constants);
  return raw;
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  auto* addon = new Addon();
  env.SetInstanceData<Addon>(addon);
  // Teardown step 2; registered first, so it runs after every waiter's.
  napi_add_env_cleanup_hook(env, close_handed_fds, addon);
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("connectSync", Napi::Function::New(env, ConnectSync, "connectSync"));
  exports.Set("connectStart", Napi::Function::New(env, ConnectStart, "connectStart"));
  exports.Set("cancel", Napi::Function::New(env, Cancel, "cancel"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("lookupSync", Napi::Function::New(env, LookupSync, "lookupSync"));
  exports.Set("interfaceName", Napi::Function::New(env, InterfaceName, "interfaceName"));
  exports.Set("raw", RawExports(env));
  exports.Set("layout", LayoutExports(env));
  exports.Set("FD_SETSIZE", Napi::Number::New(env, FD_SETSIZE));
  exports.Set("socketCalls", Napi::Function::New(
                                 env,
                                 [](const Napi::CallbackInfo& info) {
                                   return Napi::Number::New(info.Env(), double(nbc::socket_calls()));
                                 },
                                 "socketCalls"));
  exports.Set("SUN_PATH_SIZE", Napi::Number::New(env, sizeof(sockaddr_un::sun_path)));
  return exports;
}

NODE_API_MODULE(nbconnect, InitModule)
