// The step-by-step API (nbconnect/raw): one syscall per call. Each returns
// { ret, errno? } plus its data; errno is positive. lib/raw.ts validated
// every argument, including fd < FD_SETSIZE for select.
#include <fcntl.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>

#include "binding.h"
#include "wire.h"

namespace nbc::binding {
namespace {

Napi::Object raw_result(Napi::Env env, int res) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ret", res < 0 ? -1 : res);
  if (res < 0) o.Set("errno", -res);
  return o;
}

int fd_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

Napi::Value raw_socket(const Napi::CallbackInfo& info) {
  int family = info[0].As<Napi::Number>().Int32Value();
  int protocol = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  return raw_result(info.Env(), nbc::sys_socket(family == 0   ? AF_UNIX
                                                : family == 6 ? AF_INET6
                                                              : AF_INET,
                                                protocol));
}

// fcntl(fd, cmd, arg) for cmd F_GETFL (0), F_SETFL (1), F_SETFD (2).
Napi::Value raw_fcntl(const Napi::CallbackInfo& info) {
  static const int kCmds[] = {F_GETFL, F_SETFL, F_SETFD};
  int cmd = info[1].As<Napi::Number>().Int32Value();
  if (cmd < 0 || cmd > 2) {
    Napi::RangeError::New(info.Env(), "nbconnect: unknown fcntl command").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return raw_result(info.Env(),
                    nbc::sys_fcntl(fd_arg(info, 0), kCmds[cmd], info[2].As<Napi::Number>().Int32Value()));
}

// setsockopt(fd, level, name, value): value an int, or a Buffer of the
// option's own bytes. lib/ turned names into this system's numbers.
Napi::Value raw_setsockopt(const Napi::CallbackInfo& info) {
  int fd = fd_arg(info, 0);
  int level = info[1].As<Napi::Number>().Int32Value();
  int name = info[2].As<Napi::Number>().Int32Value();
  if (info[3].IsBuffer()) {
    auto bytes = info[3].As<Napi::Buffer<uint8_t>>();
    return raw_result(info.Env(),
                      nbc::sys_setsockopt_bytes(fd, level, name, bytes.Data(), socklen_t(bytes.Length())));
  }
  return raw_result(info.Env(),
                    nbc::sys_setsockopt_int(fd, level, name, info[3].As<Napi::Number>().Int32Value()));
}

// getsockopt(fd, level, name, size): { ret, errno?, data } with the bytes
// the kernel wrote (up to `size`, which lib/ bounds).
Napi::Value raw_getsockopt(const Napi::CallbackInfo& info) {
  std::vector<uint8_t> buf(info[3].As<Napi::Number>().Uint32Value());
  socklen_t len = socklen_t(buf.size());
  int res = nbc::sys_getsockopt_bytes(fd_arg(info, 0), info[1].As<Napi::Number>().Int32Value(),
                                      info[2].As<Napi::Number>().Int32Value(), buf.data(), &len);
  Napi::Object o = raw_result(info.Env(), res);
  if (res == 0)
    o.Set("data", Napi::Buffer<uint8_t>::Copy(info.Env(), buf.data(), std::min<size_t>(len, buf.size())));
  return o;
}

// getsockopt(fd, IPPROTO_TCP, TCP_INFO): { ret, errno?, info? }, info in
// wire.h's kTcpInfoFields order.
Napi::Value raw_get_tcp_info(const Napi::CallbackInfo& info) {
  nbc::KernelTcpInfo tcp{};
  socklen_t len;
  int res = nbc::sys_getsockopt_tcp_info(fd_arg(info, 0), &tcp, &len);
  Napi::Object o = raw_result(info.Env(), res);
  if (res < 0) return o;
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), nbc::wire::kTcpInfoSlots);
  encode_tcp_info(tcp, len, out.Data());
  o.Set("info", out);
  return o;
}

Napi::Value raw_address_call(const Napi::CallbackInfo& info, bool is_bind) {
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
Napi::Value raw_bind(const Napi::CallbackInfo& info) { return raw_address_call(info, true); }
Napi::Value raw_connect(const Napi::CallbackInfo& info) { return raw_address_call(info, false); }

// poll(fds, events, timeoutMs): fds and events are parallel arrays.
Napi::Value raw_poll(const Napi::CallbackInfo& info) {
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
Napi::Value raw_select(const Napi::CallbackInfo& info) {
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

Napi::Value raw_get_so_error(const Napi::CallbackInfo& info) {
  int value = 0;
  int res = nbc::sys_getsockopt_so_error(fd_arg(info, 0), &value);
  Napi::Object o = raw_result(info.Env(), res);
  if (res == 0) o.Set("value", value);
  return o;
}

Napi::Value raw_name(const Napi::CallbackInfo& info, bool peer) {
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
  } else if (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) {
    o.Set("family", addr.ss_family == AF_INET6 ? 6 : 4);
    o.Set("endpoint", endpoint_slots(info.Env(), addr));
  }  // another family (an inherited netlink socket): no address to tell
  return o;
}
Napi::Value raw_getsockname(const Napi::CallbackInfo& info) { return raw_name(info, false); }
Napi::Value raw_getpeername(const Napi::CallbackInfo& info) { return raw_name(info, true); }

Napi::Value raw_read(const Napi::CallbackInfo& info) {
  uint32_t n = info[1].As<Napi::Number>().Uint32Value();
  std::vector<char> buf(n ? n : 1);
  int res = nbc::sys_read(fd_arg(info, 0), buf.data(), n);
  Napi::Object o = raw_result(info.Env(), res);
  o.Set("data", Napi::Buffer<char>::Copy(info.Env(), buf.data(), res > 0 ? size_t(res) : 0));
  return o;
}

// A Connection's fd may be closed through the raw API too.
Napi::Value raw_close(const Napi::CallbackInfo& info) {
  return raw_result(info.Env(), close_held(info.Env(), fd_arg(info, 0)));
}

}  // namespace

Napi::Object raw_exports(Napi::Env env) {
  Napi::Object raw = Napi::Object::New(env);
  raw.Set("socket", Napi::Function::New(env, raw_socket, "socket"));
  raw.Set("fcntl", Napi::Function::New(env, raw_fcntl, "fcntl"));
  raw.Set("setsockopt", Napi::Function::New(env, raw_setsockopt, "setsockopt"));
  raw.Set("bind", Napi::Function::New(env, raw_bind, "bind"));
  raw.Set("connect", Napi::Function::New(env, raw_connect, "connect"));
  raw.Set("poll", Napi::Function::New(env, raw_poll, "poll"));
  raw.Set("select", Napi::Function::New(env, raw_select, "select"));
  raw.Set("getSoError", Napi::Function::New(env, raw_get_so_error, "getSoError"));
  raw.Set("getsockopt", Napi::Function::New(env, raw_getsockopt, "getsockopt"));
  raw.Set("getTcpInfo", Napi::Function::New(env, raw_get_tcp_info, "getTcpInfo"));
  raw.Set("getsockname", Napi::Function::New(env, raw_getsockname, "getsockname"));
  raw.Set("getpeername", Napi::Function::New(env, raw_getpeername, "getpeername"));
  raw.Set("read", Napi::Function::New(env, raw_read, "read"));
  raw.Set("close", Napi::Function::New(env, raw_close, "close"));
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("O_NONBLOCK", O_NONBLOCK);
  constants.Set("IPPROTO_MPTCP", int(IPPROTO_MPTCP));
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

}  // namespace nbc::binding
