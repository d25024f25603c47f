// The epoll engine in each environment's libuv loop: its three handles, its
// slice sizes, delivery of finished attempts to the copies of the JS layer,
// and its teardown. engine.cpp decides nothing about libuv; this file
// decides nothing about a connect.

#include <errno.h>
#include <napi.h>
#include <uv.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "binding.h"
#include "engine.h"
#include "posix_connect.h"

namespace nbc::binding {

// ---- the epoll engine, in this environment's libuv loop ---------------------
//
// One uv_poll_t watches the engine's epoll fd, so readiness arrives on the
// JS thread with no thread hop, and so do deadlines: the engine's clock is
// a timerfd in that epoll set (Engine::arm_deadline). One uv_idle_t runs
// queued starts and closes (a slice per turn, so a burst never holds the
// loop for long) and delivers results that came from no wake (immediate
// verdicts, cancels). The poll handle keeps the loop alive while any
// attempt is live.
//
// Teardown (an async cleanup hook, since libuv handles close through the
// loop): close the two handles; when the last one is closed, the engine
// closes every fd it owns and its epoll fd; then the hook is removed and
// the binding deleted. An environment's loop is never closed with one of
// our handles open.

// Starts per turn of the loop: bounds how long a burst holds it.
constexpr size_t kStartSlice = 256;
// Deadlines handed to JS per call: they settle with no syscall (their
// closes come after), and a slice lets the first of a thousand due at once
// settle before the last is decoded.
constexpr size_t kExpirySlice = 64;
// Closes per turn of sockets settled before their close: about 0.6 ms, the
// most a deadline due meanwhile waits for them.
constexpr size_t kCloseSlice = 64;

struct EngineBinding {
  napi_env env = nullptr;
  Addon* addon = nullptr;
  nbc::Engine engine;
  uv_poll_t poll{};
  uv_idle_t idle{};
  int handles_open = 0;
  napi_async_context async_context = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  bool closing = false;  // its handles are closing: teardown runs once
};

void engine_rearm(EngineBinding* b);

// Hands every finished attempt to JS, one batch per copy of the JS layer,
// through MakeCallback so that promise reactions run when it returns, as
// after any I/O callback.
void engine_deliver(EngineBinding* b) {
  auto& done = b->engine.finished();
  if (done.empty()) return;
  std::vector<std::unique_ptr<Attempt>> batch;
  batch.swap(done);
  napi_env env = b->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    // Nothing reaches JS: the connected close here, and the ones settled
    // before their close go back to the engine for it.
    close_connected(batch);
    for (auto& a : batch)
      if (a->sequel == nbc::Sequel::kCloseFollows) b->engine.adopt_settled(std::move(a));
    return;
  }
  std::vector<std::unique_ptr<Attempt>> settled;
  hand_to_clients(
      env, b->addon, batch,
      [](napi_env env, void* context, napi_value on_batch, napi_value results) {
        napi_value receiver, ignored;
        napi_get_global(env, &receiver);  // MakeCallback wants an object
        auto async_context = static_cast<EngineBinding*>(context)->async_context;
        if (napi_make_callback(env, async_context, receiver, on_batch, 1, &results, &ignored) ==
            napi_pending_exception) {
          // onBatch catches what it calls; an exception here is a bug, and it
          // goes where any uncaught one does.
          napi_value error;
          if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
        }
      },
      b, &settled);
  napi_close_handle_scope(env, scope);
  for (auto& a : settled) b->engine.adopt_settled(std::move(a));
}

// One turn: from the idle handle, first close at least as many settled
// sockets as it will start (a retry made from a deadline's handler must
// not find the fd table still full of the sockets it replaces), then start
// a slice of the queue; hand over what finished; then close a slice of
// what settled before its close, its verdict in JS and the promise
// reactions run (MakeCallback runs them before it returns; a reaction's
// abort settles here too), and hand over those steps; rearm.
void engine_turn(EngineBinding* b, bool start) {
  if (start && b->engine.has_queued()) {
    if (b->engine.close_settled(std::max(kCloseSlice, std::min(b->engine.queued_count(), kStartSlice))))
      engine_deliver(b);
    b->engine.start_queued(kStartSlice);
  }
  engine_deliver(b);
  // These closes give way to a deadline due meanwhile (the clock makes the
  // next turn's poll find it); the ones before a slice of starts do not.
  if (b->engine.close_settled(kCloseSlice, true)) engine_deliver(b);
  if (b->addon->engine == b) engine_rearm(b);
}

void engine_rearm(EngineBinding* b) {
  nbc::Engine& e = b->engine;
  if (e.has_queued() || !e.finished().empty() || e.has_settled())
    uv_idle_start(&b->idle, [](uv_idle_t* h) { engine_turn(static_cast<EngineBinding*>(h->data), true); });
  else
    uv_idle_stop(&b->idle);
  e.arm_deadline();
  if (e.live() > 0)
    uv_ref(reinterpret_cast<uv_handle_t*>(&b->poll));
  else
    uv_unref(reinterpret_cast<uv_handle_t*>(&b->poll));
}

void engine_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* b = static_cast<EngineBinding*>(arg);
  // Released early (release_unused), then the environment ended before the
  // handles finished closing: the close callback removes the hook.
  if (b->closing) return;
  b->closing = true;
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
  // Each step names itself, so a failure reports the call that failed.
  const char* call = "epoll_create1";
  int err = b->engine.open();
  uv_loop_t* loop = nullptr;
  if (err == 0 && napi_get_uv_event_loop(env, &loop) != napi_ok) {
    call = "napi_get_uv_event_loop";
    err = -EINVAL;
  }
  if (err == 0 && (err = uv_poll_init(loop, &b->poll, b->engine.epoll_fd())) < 0) call = "uv_poll_init";
  if (err < 0) {
    failure = {err, call};
    delete b;  // the engine closes its epoll fd
    return nullptr;
  }
  uv_idle_init(loop, &b->idle);
  b->poll.data = b->idle.data = b;
  b->handles_open = 2;
  uv_poll_start(&b->poll, UV_READABLE, [](uv_poll_t* h, int, int) {
    auto* b = static_cast<EngineBinding*>(h->data);
    b->engine.collect_ready();
    // Readiness or the clock: what is due now is handed over a slice at a
    // time, each settling in JS before the next is made.
    const int64_t now = nbc::monotonic_ns();
    while (b->engine.expire(now, kExpirySlice) && b->addon->engine == b) engine_deliver(b);
    engine_turn(b, false);
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->poll));
  napi_value name;
  napi_create_string_utf8(env, "nbconnect.engine", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &b->async_context);
  napi_add_async_cleanup_hook(env, engine_teardown, b, &b->cleanup);
  addon->engine = b;
  return b;
}

void engine_queue(EngineBinding* b, std::unique_ptr<Attempt> attempt) { b->engine.queue(std::move(attempt)); }

void engine_queued(EngineBinding* b) { engine_rearm(b); }

void engine_cancel(EngineBinding* b, uint64_t id) {
  b->engine.cancel(id);
  engine_rearm(b);
}

void engine_release(EngineBinding* b) { engine_teardown(b->cleanup, b); }

}  // namespace nbc::binding
