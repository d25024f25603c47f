// Conversions: JS values to sockaddrs and Attempts, Attempts to the numeric
// wire (wire.h), and the wire's layout for lib/wire.ts. No decisions here:
// lib/ validated every value, and the algorithm is posix_connect.cpp's.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/un.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <tuple>

#include "binding.h"
#include "wire.h"

namespace nbc::binding {

const char* arg_name(Arg a) { return nbc::wire::kArgNames[int(a)]; }

// poll(2)'s revents bits and epoll's events bits, with their names.
struct EventBit {
  int bit;
  const char* name;
};
const EventBit kPollBits[] = {
    {POLLIN, "POLLIN"},       {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"},
    {POLLERR, "POLLERR"},     {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"},
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

// A spec slot as an int; -1 (none, or invalid) for NaN or a value out of
// range: lib/ never sends one, and a cast of it would be undefined behaviour.
int slot_int(double v) { return v >= -2147483648.0 && v <= 2147483647.0 ? int(v) : -1; }

// The local end a spec asks for (localAddress, localPort), converted once
// for every attempt of the spec. `ok` false if inet_pton disagrees with lib/.
struct LocalEnd {
  nbc::IpAddr addr{};
  socklen_t len = 0;  // 0: no bind()
  bool ok = true;
};

LocalEnd local_end(const double* spec, const Napi::Value& local) {
  namespace w = nbc::wire;
  LocalEnd end;
  int family = slot_int(spec[w::kSpecFamily]);
  int local_port = slot_int(spec[w::kSpecLocalPort]);
  if (family == 0 || !(local.IsString() || local_port >= 0)) return end;
  // The local family follows the literal; a mismatch is the kernel's to
  // report (EAFNOSUPPORT or EINVAL from bind), and the trace shows it.
  std::string local_text = local.IsString() ? local.As<Napi::String>().Utf8Value() : "";
  int local_family = local_text.empty() ? family : (local_text.find(':') != std::string::npos ? 6 : 4);
  end.ok = ip_sockaddr(local_text, local_family, local_port < 0 ? 0 : local_port, end.addr, end.len);
  return end;
}

// Everything an attempt takes from the spec but its remote end (the local end, the options, the
// wait, the deadline). False, a RangeError thrown, if the native side disagrees with lib/.
bool apply_spec(const Napi::Env& env, const double* spec, const LocalEnd& local, const Napi::Value& extra,
                Attempt& a) {
  namespace w = nbc::wire;
  int confirm = slot_int(spec[w::kSpecConfirm]);
  if (!local.ok || confirm < 0 || confirm > int(nbc::Confirm::kReconnect)) {
    Napi::RangeError::New(env, "nbconnect: spec rejected by the native layer").ThrowAsJavaScriptException();
    return false;
  }
  int family = slot_int(spec[w::kSpecFamily]);
  a.family = family == 0 ? AF_UNIX : family == 6 ? AF_INET6 : AF_INET;
  a.local = local.addr;
  a.local_len = local.len;
  const double client = spec[w::kSpecClient];  // checked by the entry point; the binding mints the id
  a.client = client >= 0 && client < 4294967296.0 ? uint32_t(client) : UINT32_MAX;
  int wait = slot_int(spec[w::kSpecWait]);
  a.wait = wait >= 0 && wait < int(Wait::kCount) ? Wait(wait) : Wait::kPoll;
  a.options.no_delay = slot_int(spec[w::kSpecNoDelay]);
  a.options.syn_count = slot_int(spec[w::kSpecSynCount]);
  a.options.user_timeout_ms = slot_int(spec[w::kSpecUserTimeout]);
  a.options.bind_address_no_port = slot_int(spec[w::kSpecBindNoPort]);
  a.options.linger0 = slot_int(spec[w::kSpecLinger0]);
  a.confirm = nbc::Confirm(confirm);
  const int delay_ms = slot_int(spec[w::kSpecWaitDelay]);
  a.wait_delay_ns = delay_ms > 0 ? int64_t(delay_ms) * 1000000 : 0;
  a.close_when_connected = spec[w::kSpecCloseWhenConnected] != 0;
  int mptcp = slot_int(spec[w::kSpecMptcp]);
  a.mptcp = mptcp == 1 ? nbc::Mptcp::kRequire : mptcp == 2 ? nbc::Mptcp::kPrefer : nbc::Mptcp::kOff;
  if (extra.IsBuffer()) {
    auto bytes = extra.As<Napi::Buffer<uint8_t>>();
    a.extra_options.assign(bytes.Data(), bytes.Data() + bytes.Length());
  }
  a.start_ns = nbc::monotonic_ns();
  a.deadline_ns = nbc::deadline_after(a.start_ns, spec[w::kSpecTimeout]);
  return true;
}

// The spec lib/ packs (see wire.h) plus the address or path, and the local
// address (a string, or undefined).
std::unique_ptr<Attempt> attempt_from(const Napi::Env& env, const double* spec, const Napi::Value& address,
                                      const Napi::Value& local, const Napi::Value& extra) {
  namespace w = nbc::wire;
  auto a = std::make_unique<Attempt>();
  if (!remote_sockaddr(slot_int(spec[w::kSpecFamily]), address.As<Napi::String>().Utf8Value(),
                       slot_int(spec[w::kSpecPort]), a->remote, a->remote_len)) {
    Napi::RangeError::New(env, "nbconnect: spec rejected by the native layer").ThrowAsJavaScriptException();
    return nullptr;
  }
  if (!apply_spec(env, spec, local_end(spec, local), extra, *a)) return nullptr;
  return a;
}

// probeStart's targets: one spec (its family for all), the distinct addresses (each converted
// once), kTargetSlots per target. Empty, a RangeError thrown, if the native side disagrees with lib/.
std::vector<std::unique_ptr<Attempt>> attempts_from(const Napi::Env& env, const double* spec,
                                                    const Napi::Array& addresses, const double* targets,
                                                    size_t count, const Napi::Value& local,
                                                    const Napi::Value& extra, uint32_t batch) {
  namespace w = nbc::wire;
  const int family = slot_int(spec[w::kSpecFamily]);
  std::vector<std::pair<sockaddr_storage, socklen_t>> remote(addresses.Length());
  auto rejected = [&env]() {
    Napi::RangeError::New(env, "nbconnect: targets rejected by the native layer")
        .ThrowAsJavaScriptException();
    return std::vector<std::unique_ptr<Attempt>>();
  };
  for (uint32_t i = 0; i < addresses.Length(); i++) {
    Napi::Value text = addresses.Get(i);
    if (!text.IsString() ||
        !remote_sockaddr(family, text.As<Napi::String>().Utf8Value(), 0, remote[i].first, remote[i].second))
      return rejected();
  }
  std::vector<std::unique_ptr<Attempt>> out;
  const LocalEnd local_addr = local_end(spec, local);
  out.reserve(count);
  for (size_t t = 0; t < count; t++) {
    const double* slots = targets + t * w::kTargetSlots;
    const double index = slots[w::kTargetAddress];
    const double port = slots[w::kTargetPort];
    if (!(index >= 0 && index < double(remote.size())) || !(port >= 0 && port <= 65535)) return rejected();
    auto a = std::make_unique<Attempt>();
    std::tie(a->remote, a->remote_len) = remote[size_t(index)];
    const uint16_t net_port = htons(uint16_t(port));
    if (family == 4) reinterpret_cast<sockaddr_in*>(&a->remote)->sin_port = net_port;
    if (family == 6) reinterpret_cast<sockaddr_in6*>(&a->remote)->sin6_port = net_port;
    if (!apply_spec(env, spec, local_addr, extra, *a)) return {};
    a->batch = batch;
    a->tag = slots[w::kTargetTag];
    out.push_back(std::move(a));
  }
  return out;
}

// ---- C++ -> JS --------------------------------------------------------------
size_t tcp_info_slots(const Attempt& a) { return a.tcp_info ? nbc::wire::kTcpInfoSlots : 0; }

size_t encoded_size(const Attempt& a) {
  return nbc::wire::kHeaderSlots + a.steps.size() * nbc::wire::kStepSlots + tcp_info_slots(a);
}

// TCP_INFO in kTcpInfoFields' order; NaN for a field past what the kernel
// filled (`len`). Returns the slots written.
size_t encode_tcp_info(const nbc::KernelTcpInfo& info, socklen_t len, double* out) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&info);
  size_t i = 0;
  for (const auto& field : nbc::wire::kTcpInfoFields) {
    if (field.offset + field.size > len) {
      out[i++] = NAN;
      continue;
    }
    uint64_t value = 0;  // little or big endian alike: read as its own type
    if (field.size == 1) value = bytes[field.offset];
    if (field.size == 4) {
      uint32_t v;
      std::memcpy(&v, bytes + field.offset, 4);
      value = v;
    }
    if (field.size == 8) std::memcpy(&value, bytes + field.offset, 8);
    out[i++] = double(value);
  }
  // The window scales share a byte (offset 6), always filled.
  out[i++] = info.snd_wscale;
  out[i++] = info.rcv_wscale;
  return i;
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

// An address outside a result (getsockname and getpeername of the
// step-by-step API, getaddrinfo's answers) in the same seven slots:
// lib/wire.ts formats every address JS sees, so there is one formatter.
Napi::Value endpoint_slots(Napi::Env env, const sockaddr_storage& ss) {
  nbc::IpAddr addr{};
  socklen_t len = 0;
  if (ss.ss_family == AF_INET) len = sizeof addr.in4;
  if (ss.ss_family == AF_INET6) len = sizeof addr.in6;
  std::memcpy(&addr, &ss, len);
  auto slots = Napi::Float64Array::New(env, nbc::wire::kEndpointSlots);
  encode_endpoint(slots.Data(), addr, len);
  return slots;
}

// Writes one result at `out`; returns the slots written.
size_t encode(const Attempt& a, double* out) {
  namespace w = nbc::wire;
  std::fill(out, out + w::kHeaderSlots, 0.0);
  out[w::kResId] = double(a.id);
  // JS never sees the number of a socket the engine still has to close.
  out[w::kResFd] = a.sequel == nbc::Sequel::kCloseFollows ? -1 : a.fd;
  out[w::kResPosixErrno] = a.posix_errno;
  out[w::kResSyscall] = int(a.syscall);
  out[w::kResPhase] = int(a.phase);
  out[w::kResWhy] = int(a.why);
  out[w::kResStart] = double(a.start_ns) / 1e6;
  out[w::kResElapsed] = double(a.end_ns - a.start_ns) / 1e6;
  encode_endpoint(out + w::kResLocalFamily, a.local_name, a.local_name_len);
  encode_endpoint(out + w::kResRemoteFamily, a.peer_name, a.peer_name_len);
  out[w::kResStepCount] = double(a.steps.size());
  out[w::kResTcpInfoSlots] = double(tcp_info_slots(a));
  out[w::kResSequel] = int(a.sequel);
  out[w::kResBatch] = a.batch;
  out[w::kResTag] = a.tag;
  double* step = out + w::kHeaderSlots;
  for (const nbc::Step& s : a.steps) {
    step[w::kStepPacked] = int(s.call) + w::kArgUnit * int(s.arg) + w::kDetailUnit * s.detail +
                           w::kReadableBit * s.readable + w::kWritableBit * s.writable;
    step[w::kStepRet] = s.ret;
    step[w::kStepErrno] = s.err;
    step[w::kStepValue] = s.value;
    step[w::kStepRevents] = s.revents;
    step[w::kStepAt] = double(s.at_ns) / 1e6;
    step[w::kStepOption] = s.option;
    step += w::kStepSlots;
  }
  if (a.tcp_info) encode_tcp_info(*a.tcp_info, a.tcp_info_len, step);
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

// A batch that cannot reach JS closes its own sockets.
void close_connected(std::vector<std::unique_ptr<Attempt>>& list) {
  // One settled before its close is the engine's to confirm and close.
  for (auto& a : list)
    if (a->fd >= 0 && a->sequel != nbc::Sequel::kCloseFollows) nbc::sys_close(a->fd);
}

// ---- the wire's layout, for lib/wire.ts to read at load -----------------------
template <size_t N>
Napi::Array name_table(Napi::Env env, const char* const (&names)[N]) {
  Napi::Array out = Napi::Array::New(env, N);
  for (uint32_t i = 0; i < N; i++)
    out.Set(i, names[i] ? Napi::Value(Napi::String::New(env, names[i])) : env.Null());
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

Napi::Object layout_exports(Napi::Env env) {
  namespace w = nbc::wire;
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("spec", name_table(env, w::kSpecNames));
  Napi::Object result = Napi::Object::New(env);
  for (auto& r : w::kResultNames) result.Set(r.name, r.slot);
  layout.Set("result", result);
  layout.Set("step", name_table(env, w::kStepNames));
  layout.Set("target", name_table(env, w::kTargetNames));
  Napi::Object packing = Napi::Object::New(env);
  packing.Set("argUnit", w::kArgUnit);
  packing.Set("detailUnit", w::kDetailUnit);
  packing.Set("readableBit", w::kReadableBit);
  packing.Set("writableBit", w::kWritableBit);
  packing.Set("revents", int(nbc::Step::kRevents));
  packing.Set("sets", int(nbc::Step::kSets));
  packing.Set("value", int(nbc::Step::kValue));
  packing.Set("optionBytes", double(nbc::kOptionBytes));
  layout.Set("packing", packing);
  layout.Set("calls", name_table(env, w::kCallNames));
  layout.Set("args", name_table(env, w::kArgNames));
  layout.Set("waits", name_table(env, w::kWaitNames));
  layout.Set("confirms", name_table(env, w::kConfirmNames));
  layout.Set("phases", name_table(env, w::kPhaseNames));
  layout.Set("whys", name_table(env, w::kWhyNames));
  layout.Set("sequels", name_table(env, w::kSequelNames));
  layout.Set("pollEvents", bit_table(env, kPollBits));
  layout.Set("epollEvents", bit_table(env, kEpollBits));
  Napi::Array tcp_info = Napi::Array::New(env, w::kTcpInfoSlots);
  uint32_t slot = 0;
  for (const auto& field : w::kTcpInfoFields) tcp_info.Set(slot++, field.name);
  for (const char* name : w::kTcpInfoScaleNames) tcp_info.Set(slot++, name);
  layout.Set("tcpInfo", tcp_info);
  auto constants = [&](const w::NamedConstant* table, size_t n) {
    Napi::Array out = Napi::Array::New(env, n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Array entry = Napi::Array::New(env, 3);
      entry.Set(0u, table[i].name);
      entry.Set(1u, table[i].level);
      entry.Set(2u, table[i].number);
      out.Set(i, entry);
    }
    return out;
  };
  layout.Set("socketLevels", constants(w::kSocketLevels, w::kSocketLevelCount));
  layout.Set("socketOptions", constants(w::kSocketOptions, w::kSocketOptionCount));
  // TCP_INFO's state, by number (netinet/tcp.h's enum, from 1).
  static const char* const kTcpStates[] = {nullptr,      "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                           "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                           "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
  static_assert(TCP_CLOSING == 11, "netinet/tcp.h's state numbers");
  layout.Set("tcpStates", name_table(env, kTcpStates));
  return layout;
}

}  // namespace nbc::binding
