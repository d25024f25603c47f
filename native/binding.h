// What the binding's files share: the per-environment Addon, the
// conversions between JS values and Attempts (convert.cpp), and the pieces
// module.cpp assembles into the exports (raw.cpp, the layout).
//
//   module.cpp   the module and each environment: waiters, teardown,
//                the connect entry points
//   engine_binding.cpp  the epoll engine in libuv's loop: its handles,
//                slice sizes, delivery and teardown
//   convert.cpp  JS -> sockaddr and Attempt; Attempt -> the wire; the
//                wire's layout and name tables for lib/wire.ts
//   raw.cpp      the step-by-step API, one syscall per call
//   socket_options.cpp  the socket levels and options lib/ may name, with
//                this system's numbers (declared in wire.h)
//
// Names: C++ functions, entry points included, are snake_case; the JS names
// they are exported under are set in module.cpp and raw.cpp.
#pragma once

#include <napi.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "posix_connect.h"
#include "waiter.h"

namespace nbc::binding {

struct EngineBinding;
struct WaiterBinding;

// One copy of the JS layer. Node caches the addon, but a module registry
// reset (Jest's resetModules, `delete require.cache`) evaluates lib/ again
// over it: each copy is a client with its own onBatch, and gets the results
// of its own attempts only. The reference is strong while the copy has
// attempts in flight and weak otherwise, so a copy nobody uses any more is
// collected and its slot taken by the next.
struct Client {
  Napi::FunctionReference on_batch;
  uint64_t in_flight = 0;
};

// Per environment (the main thread and each worker): its waiters, its
// engine, and the fds handed to JS as open Connections.
struct Addon {
  std::vector<Client> clients;  // by the number init() returned
  // Attempt ids are minted here, never by JS: a second copy of lib/ counting
  // from 1 again must not be able to name another's attempt.
  uint64_t next_attempt_id = 1;
  WaiterBinding* waiters[2] = {nullptr, nullptr};
  EngineBinding* engine = nullptr;
  // The fds of connected attempts handed to JS and not yet closed or given
  // away (close(), toSocket(), raw.close). JS thread only.
  std::unordered_set<int> handed_fds;

  // The environment and the module's exports object both hold the Addon
  // (module.cpp's init_module); the last to let go deletes it.
  int owners = 2;
  void release_owner() {
    if (--owners == 0) delete this;
  }

  // From here on JS owns the fd: the Connection it builds closes it, or
  // step 2 of the teardown does.
  void hand_over(const std::vector<std::unique_ptr<Attempt>>& list) {
    for (auto& a : list)
      if (a->fd >= 0 && a->sequel != nbc::Sequel::kCloseFollows) handed_fds.insert(a->fd);
  }
};

// ---- convert.cpp ----
// The spec lib/ packs (wire.h) plus the address or path and the local
// address; null (with a RangeError thrown) if the native side disagrees.
// TCP_INFO into `out` (wire.h's kTcpInfoSlots), NaN past what the kernel filled.
size_t encode_tcp_info(const nbc::KernelTcpInfo& info, socklen_t len, double* out);
std::unique_ptr<Attempt> attempt_from(const Napi::Env& env, const double* spec, const Napi::Value& address,
                                      const Napi::Value& local, const Napi::Value& extra);
// probeStart's targets, every one made (none started) or none: empty with
// a RangeError thrown if the native side disagrees with lib/.
std::vector<std::unique_ptr<Attempt>> attempts_from(const Napi::Env& env, const double* spec,
                                                    const Napi::Array& addresses, const double* targets,
                                                    size_t count, const Napi::Value& local,
                                                    const Napi::Value& extra, uint32_t batch);
// The step-by-step API's { family, address, port, path } -> sockaddr.
bool sockaddr_from(const Napi::Object& spec, sockaddr_storage& out, socklen_t& len);
// An IPv4 or IPv6 address as a Float64Array of wire.h's kEndpointSlots.
Napi::Value endpoint_slots(Napi::Env env, const sockaddr_storage& ss);
// The batch as one Float64Array; false: nothing reached JS.
bool encode_all(napi_env env, const std::vector<std::unique_ptr<Attempt>>& list, napi_value* out);
// A batch that cannot reach JS closes its own sockets.
void close_connected(std::vector<std::unique_ptr<Attempt>>& list);
const char* arg_name(Arg a);
Napi::Array revents_names(Napi::Env env, short revents);
Napi::Object layout_exports(Napi::Env env);

// ---- raw.cpp ----
Napi::Object raw_exports(Napi::Env env);

// ---- engine_binding.cpp ----
// The engine of this environment, made on first use; null with `failure`
// set when its epoll fd or its poll handle cannot be made.
EngineBinding* engine_for(Napi::Env env, nbc::Waiter::StartError& failure);
// Queues attempts (started in a later turn's slice), then arms the turn
// once for all of them (engine_queued); or cancels one by id.
void engine_queue(EngineBinding* b, std::unique_ptr<Attempt> attempt);
void engine_queued(EngineBinding* b);
void engine_cancel(EngineBinding* b, uint64_t id);
// Teardown ahead of the environment's end (release_unused): the same
// steps as the engine's cleanup hook.
void engine_release(EngineBinding* b);

// ---- module.cpp ----
// Hands finished attempts to the copies of the JS layer that asked for
// them, one call per copy; `call(on_batch, results)` makes the call (a
// MakeCallback for the engine, a plain call from a thread-safe function).
// Results that reach no JS close their own sockets. An attempt settled
// before its close (Sequel::kCloseFollows) is moved to `settled`, whether
// JS got it or not, for the engine to close; the waiters have none.
void hand_to_clients(napi_env env, Addon* addon, std::vector<std::unique_ptr<Attempt>>& batch,
                     void (*call)(napi_env env, void* context, napi_value on_batch, napi_value results),
                     void* context, std::vector<std::unique_ptr<Attempt>>* settled = nullptr);
// close(2) of an fd JS holds; it is no longer one the teardown closes.
int close_held(Napi::Env env, int fd);

}  // namespace nbc::binding
