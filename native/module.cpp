// The module and each environment: the waiter threads, teardown, and the
// connect entry points; the epoll engine's place in libuv's loop is
// engine_binding.cpp. Conversions live in
// convert.cpp, the step-by-step API in raw.cpp; every decision is made in
// posix_connect.cpp (the algorithm) or lib/ (validation, errors).
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
//   3. Node-API lets go of the instance data (the Addon goes once the
//      exports object has let go too).
// The same steps run earlier, from the exports object's finalizer, when
// every JS copy of this instance of the module is gone (release_unused).
#include <errno.h>
#include <napi.h>
#include <netdb.h>
#include <sys/un.h>
#include <uv.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>

#include "binding.h"
#include "engine.h"
#include "posix_connect.h"
#include "waiter.h"
#include "wire.h"

namespace nbc::binding {

using nbc::Wait;

// ---- the waiters ------------------------------------------------------------

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

// The thread-safe function has no JS function of its own: each batch goes
// to the copies of the JS layer its attempts came from (hand_to_clients).
void deliver(Napi::Env env, Napi::Function, WaiterBinding* binding, std::nullptr_t*) {
  if (env == nullptr) return;  // torn down: shutdown() closed what was left
  std::vector<std::unique_ptr<Attempt>>& batch = binding->batch;
  binding->waiter.take_completions(batch);
  if (batch.empty()) return;
  binding->in_flight -= batch.size();
  if (binding->in_flight == 0) binding->tsfn.Unref(env);
  // A failed call (the environment stopping, or onBatch throwing) may have
  // let JS take part of the batch and not the rest: the fds stay recorded as
  // handed over, and the module's teardown closes what JS never took.
  hand_to_clients(
      env, binding->addon, batch,
      [](napi_env env, void*, napi_value on_batch, napi_value results) {
        napi_value receiver;
        napi_get_undefined(env, &receiver);
        napi_call_function(env, receiver, on_batch, 1, &results, nullptr);
      },
      nullptr);
}

void hand_to_clients(napi_env env, Addon* addon, std::vector<std::unique_ptr<Attempt>>& batch,
                     void (*call)(napi_env env, void* context, napi_value on_batch, napi_value results),
                     void* context, std::vector<std::unique_ptr<Attempt>>* settled) {
  // Usually one copy asked for all of it: one run, no sort.
  auto by_client = [](const std::unique_ptr<Attempt>& x, const std::unique_ptr<Attempt>& y) {
    return x->client < y->client;
  };
  if (!std::is_sorted(batch.begin(), batch.end(), by_client))
    std::stable_sort(batch.begin(), batch.end(), by_client);
  std::vector<std::unique_ptr<Attempt>> some;
  for (size_t from = 0; from < batch.size();) {
    const uint32_t client = batch[from]->client;
    size_t to = from;
    while (to < batch.size() && batch[to]->client == client) to++;
    std::vector<std::unique_ptr<Attempt>>* run = &batch;
    if (from > 0 || to < batch.size()) {
      some.assign(std::make_move_iterator(batch.begin() + from), std::make_move_iterator(batch.begin() + to));
      run = &some;
    }
    from = to;
    Client& c = addon->clients[client];
    // A sequel follows a verdict that already counted its attempt out.
    const size_t verdicts =
        size_t(std::count_if(run->begin(), run->end(), [](const std::unique_ptr<Attempt>& a) {
          return a->sequel != nbc::Sequel::kSteps;
        }));
    c.in_flight -= verdicts;
    // Held in this handle scope before the reference may turn weak.
    Napi::Function on_batch = c.on_batch.Value();
    if (verdicts > 0 && c.in_flight == 0) c.on_batch.Unref();
    napi_value results;
    if (on_batch.IsEmpty() || !encode_all(env, *run, &results)) {
      close_connected(*run);
    } else {
      addon->hand_over(*run);
      call(env, context, on_batch, results);
    }
    if (settled)
      for (auto& a : *run)
        if (a->sequel == nbc::Sequel::kCloseFollows) settled->push_back(std::move(a));
    run->clear();
  }
  batch.clear();
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
  binding->tsfn = BatchFunction::New(env, "nbconnect.waiter", 0, 1, binding,
                                     [](Napi::Env, void*, WaiterBinding* done) { delete done; });
  binding->tsfn.Unref(env);
  napi_add_env_cleanup_hook(env, teardown_waiter, binding);
  addon->waiters[int(kind)] = binding;
  return binding;
}

// init(onBatch): a copy of the JS layer introduces itself; returns its
// client number, which its connectStart calls carry. The copy must keep
// onBatch alive itself: the reference here is weak while nothing is in
// flight. A slot whose copy was collected is taken again.
Napi::Value init_batches(const Napi::CallbackInfo& info) {
  Addon* addon = info.Env().GetInstanceData<Addon>();
  size_t slot = 0;
  while (slot < addon->clients.size() &&
         (addon->clients[slot].in_flight > 0 || !addon->clients[slot].on_batch.Value().IsEmpty()))
    slot++;
  if (slot == addon->clients.size()) addon->clients.emplace_back();
  addon->clients[slot].on_batch = Napi::Weak(info[0].As<Napi::Function>());
  return Napi::Number::New(info.Env(), double(slot));
}

// A spec as lib/wire.ts packs it. lib/ never sends another shape; should
// it, that is refused with a TypeError rather than read out of bounds.
const double* spec_arg(Napi::Env env, const Napi::Value& value) {
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
      value.As<Napi::Float64Array>().ElementLength() >= size_t(nbc::wire::kSpecSlots))
    return value.As<Napi::Float64Array>().Data();
  Napi::TypeError::New(env, "nbconnect: a spec must be a Float64Array of the wire's spec slots")
      .ThrowAsJavaScriptException();
  return nullptr;
}

// connectSync(spec, address, localAddress, extraOptions): the whole algorithm on this
// thread; returns one encoded result.
Napi::Value connect_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double* spec = spec_arg(env, info[0]);
  auto a = spec ? attempt_from(env, spec, info[1], info[2], info[3]) : nullptr;
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

// What connectStart returns when the engine or waiter cannot be made: the
// call that failed and its positive errno; no attempt was made.
Napi::Object start_failure(Napi::Env env, const nbc::Waiter::StartError& failure) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", -failure.err);
  out.Set("syscall", failure.call);
  return out;
}

// Where attempts of `wait` go: this environment's engine or its waiter for
// that wait, made on first use; false with `failure` set when it cannot be.
struct Scheduler {
  EngineBinding* engine = nullptr;
  WaiterBinding* waiter = nullptr;
};
bool scheduler_for(Napi::Env env, Wait wait, Scheduler& to, nbc::Waiter::StartError& failure) {
  if (wait == Wait::kEpoll) return (to.engine = engine_for(env, failure)) != nullptr;
  return (to.waiter = waiter_for(env, wait, failure)) != nullptr;
}

// Mints each attempt's id, counts it in flight for its client, and hands it
// over. Returns the first id; the others follow it, one apart.
uint64_t start_all(Napi::Env env, Addon* addon, const Scheduler& to,
                   std::vector<std::unique_ptr<Attempt>>& list) {
  const uint64_t first = addon->next_attempt_id;
  for (auto& a : list) {
    a->id = addon->next_attempt_id++;
    Client& client = addon->clients[a->client];
    if (client.in_flight++ == 0) client.on_batch.Ref();
    if (to.engine) {
      engine_queue(to.engine, std::move(a));
    } else {
      if (to.waiter->in_flight++ == 0) to.waiter->tsfn.Ref(env);
      to.waiter->waiter.submit(std::move(a));
    }
  }
  if (to.engine) engine_queued(to.engine);
  list.clear();
  return first;
}

bool known_client(Napi::Env env, Addon* addon, uint32_t client, const char* call) {
  if (client < addon->clients.size()) return true;
  Napi::RangeError::New(env, std::string("nbconnect: ") + call + " from a client init() never made")
      .ThrowAsJavaScriptException();
  return false;
}

// connectStart(spec, address, localAddress, extraOptions): hands the
// attempt to the engine or a waiter; the result comes back through the
// client's onBatch. Returns the attempt's id (for cancel), or
// start_failure's object when nothing was started.
Napi::Value connect_start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  const double* spec = spec_arg(env, info[0]);
  auto a = spec ? attempt_from(env, spec, info[1], info[2], info[3]) : nullptr;
  if (!a || !known_client(env, addon, a->client, "connectStart")) return env.Undefined();
  Scheduler to;
  nbc::Waiter::StartError failure;
  if (!scheduler_for(env, a->wait, to, failure)) return start_failure(env, failure);
  std::vector<std::unique_ptr<Attempt>> one;
  one.push_back(std::move(a));
  // Exact as a double up to 2^53 attempts.
  return Napi::Number::New(env, double(start_all(env, addon, to, one)));
}

// probeStart(spec, addresses, targets, localAddress, extraOptions, batch):
// many attempts of one spec in one call (probeMany's batch path). Each
// result carries `batch` and its target's tag, for JS to route it without
// a record per attempt. Returns the first attempt's id (the rest follow
// it, one apart), or start_failure's object when none was started.
Napi::Value probe_start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  const double* spec = spec_arg(env, info[0]);
  if (!spec) return env.Undefined();
  const Napi::Value targets = info[2];
  const bool shaped = info[1].IsArray() && info[5].IsNumber() && targets.IsTypedArray() &&
                      targets.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
                      targets.As<Napi::Float64Array>().ElementLength() > 0 &&
                      targets.As<Napi::Float64Array>().ElementLength() % nbc::wire::kTargetSlots == 0;
  if (!shaped) {
    Napi::TypeError::New(env, "nbconnect: probeStart takes the addresses, whole targets and a batch number")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto list = attempts_from(env, spec, info[1].As<Napi::Array>(), targets.As<Napi::Float64Array>().Data(),
                            targets.As<Napi::Float64Array>().ElementLength() / nbc::wire::kTargetSlots,
                            info[3], info[4], info[5].As<Napi::Number>().Uint32Value());
  if (list.empty() || !known_client(env, addon, list[0]->client, "probeStart")) return env.Undefined();
  Scheduler to;
  nbc::Waiter::StartError failure;
  if (!scheduler_for(env, list[0]->wait, to, failure)) return start_failure(env, failure);
  return Napi::Number::New(env, double(start_all(env, addon, to, list)));
}

// cancel(wait, id): a message to the waiter; the attempt settles through
// onBatch as aborted, unless its verdict came first.
Napi::Value cancel_attempt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Wait kind = Wait(info[0].As<Napi::Number>().Int32Value());
  if (kind == Wait::kEpoll) {
    if (EngineBinding* b = env.GetInstanceData<Addon>()->engine) {
      engine_cancel(b, uint64_t(info[1].As<Napi::Number>().DoubleValue()));
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
Napi::Value close_fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), -close_held(info.Env(), info[0].As<Napi::Number>().Int32Value()));
}

// release(fd): JS gave the fd to another owner (a net.Socket), which closes
// it from now on; the teardown must not.
Napi::Value release_fd(const Napi::CallbackInfo& info) {
  info.Env().GetInstanceData<Addon>()->handed_fds.erase(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// lookupSync(host, family): getaddrinfo on this thread, for connectSync.
// Returns an endpoint's slots per address (lib/wire.ts's decodeEndpoint)
// or { eai, message }.
Napi::Value lookup_sync(const Napi::CallbackInfo& info) {
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
    out.Set(n++, endpoint_slots(env, ss));
  }
  freeaddrinfo(list);
  return out;
}

// interfaceName(index): an IPv6 zone's interface name, for a result's
// link-local address (the wire carries only the scope id).
Napi::Value interface_name_of(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), nbc::interface_name(info[0].As<Napi::Number>().Uint32Value()));
}

}  // namespace nbc::binding

using namespace nbc::binding;

// Each load of the .node file is an instance of its own, with its own env
// and Addon: Node caches the module, but a tool that empties require.cache
// whole (decache, clear-module, a hot reloader) loads it again. When every
// JS copy of an instance is gone, so is its exports object, and nothing can
// reach its engine, waiters or handed fds any more (an attempt in flight
// holds its client's onBatch strongly, and that holds its copy of lib/,
// which holds the exports; a Connection holds them too): they are torn
// down then, in the environment's own order, instead of at its end.
void release_unused(napi_env env, void* data, void*) {
  auto* addon = static_cast<Addon*>(data);
  for (WaiterBinding* binding : addon->waiters) {
    if (binding == nullptr) continue;
    napi_remove_env_cleanup_hook(env, teardown_waiter, binding);
    teardown_waiter(binding);
  }
  if (EngineBinding* b = addon->engine) engine_release(b);
  napi_remove_env_cleanup_hook(env, close_handed_fds, addon);
  close_handed_fds(addon);
  addon->release_owner();
}

void release_instance_data(Napi::Env, Addon* addon) { addon->release_owner(); }

Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  auto* addon = new Addon();
  // Two owners: the environment (instance data) and the exports object
  // (release_unused); whichever lets go last deletes it.
  env.SetInstanceData<Addon, release_instance_data>(addon);
  napi_add_finalizer(env, exports, addon, release_unused, nullptr, nullptr);
  // Teardown step 2; registered first, so it runs after every waiter's.
  napi_add_env_cleanup_hook(env, close_handed_fds, addon);
  exports.Set("init", Napi::Function::New(env, init_batches, "init"));
  exports.Set("connectSync", Napi::Function::New(env, connect_sync, "connectSync"));
  exports.Set("connectStart", Napi::Function::New(env, connect_start, "connectStart"));
  exports.Set("probeStart", Napi::Function::New(env, probe_start, "probeStart"));
  exports.Set("cancel", Napi::Function::New(env, cancel_attempt, "cancel"));
  exports.Set("close", Napi::Function::New(env, close_fd, "close"));
  exports.Set("release", Napi::Function::New(env, release_fd, "release"));
  exports.Set("lookupSync", Napi::Function::New(env, lookup_sync, "lookupSync"));
  exports.Set("interfaceName", Napi::Function::New(env, interface_name_of, "interfaceName"));
  exports.Set("raw", raw_exports(env));
  exports.Set("layout", layout_exports(env));
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

NODE_API_MODULE(nbconnect, init_module)