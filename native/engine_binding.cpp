// The epoll engine in each environment's libuv loop: its three handles, its
// slice sizes, delivery of finished attempts to the copies of the JS layer,
// and its teardown. engine.cpp decides nothing about libuv; this file
// decides nothing about a connect.

#include <errno.h>
#include <napi.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "binding.h"
#include "engine.h"
#include "posix_connect.h"

namespace nbc::binding {

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
  if (napi_open_handle_scope(env, &scope) != napi_ok) return close_connected(batch);
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
      b);
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
  napi_add_async_cleanup_hook(env, engine_teardown, b, &b->cleanup);
  addon->engine = b;
  return b;
}

void engine_start(EngineBinding* b, std::unique_ptr<Attempt> attempt) {
  b->engine.queue(std::move(attempt));
  engine_rearm(b);
}

void engine_cancel(EngineBinding* b, uint64_t id) {
  b->engine.cancel(id);
  engine_rearm(b);
}

void engine_release(EngineBinding* b) { engine_teardown(b->cleanup, b); }

}  // namespace nbc::binding
