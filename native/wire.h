// The numeric wire between lib/ and the binding. Values cross as float64
// slots in typed arrays rather than JS objects: building objects through
// Node-API costs more than the connect itself, while JS builds them in
// nanoseconds, and only when they are read.
//
// This file is the one source of truth for the layout and for the names of
// every enum that crosses: the binding exports the tables below
// (convert.cpp's layout_exports) and lib/wire.ts takes its slot numbers and
// names from them at load. It checks both ways: a name lib/ spells that the
// binary lacks, or one the binary has that lib/ does not spell, refuses the
// load. So a slot or a call added here is also spelled in lib/wire.ts.
#pragma once

#include <cstddef>

#include "posix_connect.h"

namespace nbc::wire {

// connectStart / connectSync input: a Float64Array of kSpecSlots, plus the
// address (or unix path) and the local address as string arguments.
enum SpecSlot {
  kSpecClient,  // the copy of the JS layer asking: what init() returned to it
  kSpecFamily,  // 4, 6, or 0 for AF_UNIX
  kSpecPort,
  kSpecLocalPort,  // -1: none
  kSpecWait,       // nbc::Wait
  kSpecTimeout,    // ms, -1: none
  kSpecNoDelay,    // the options: -1 leaves the kernel's default
  kSpecSynCount,
  kSpecUserTimeout,
  kSpecBindNoPort,
  kSpecLinger0,
  kSpecConfirm,    // nbc::Confirm
  kSpecWaitDelay,  // ms
  kSpecCloseWhenConnected,
  kSpecMptcp,  // nbc::Mptcp
  kSpecSlots,
};
constexpr const char* kSpecNames[] = {
    "client",  "family",  "port",      "localPort",          "wait",
    "timeout", "noDelay", "synCount",  "userTimeout",        "bindNoPort",
    "linger0", "confirm", "waitDelay", "closeWhenConnected", "mptcp",
};

// probeStart input, beside one spec for them all: kTargetSlots per target
// in a Float64Array, and the distinct addresses (or unix paths) as an
// array of strings, each converted once however many ports share it.
enum TargetSlot {
  kTargetAddress,  // index into the call's addresses
  kTargetPort,
  kTargetTag,  // the batch's number for it, handed back in the result's kResTag
  kTargetSlots,
};
constexpr const char* kTargetNames[] = {"address", "port", "tag"};

// One result: kHeaderSlots, then kStepSlots per step. A batch is results
// back to back in one Float64Array.
enum ResultSlot {
  kResId,
  kResFd,
  kResPosixErrno,   // positive errno, 0, or -1 for a self-connect
  kResSyscall,      // nbc::Call of the call that reported it
  kResPhase,        // nbc::Phase
  kResWhy,          // nbc::Why
  kResStart,        // ms on CLOCK_MONOTONIC (process.hrtime's clock)
  kResElapsed,      // ms
  kResLocalFamily,  // 0 (none), 4 or 6: getsockname
  kResLocalPort,
  kResLocalWords,                       // 4 slots: the address as big-endian 32-bit words
  kResLocalScope = kResLocalWords + 4,  // IPv6 sin6_scope_id, 0 for none
  kResRemoteFamily,                     // getpeername
  kResRemotePort,
  kResRemoteWords,
  kResRemoteScope = kResRemoteWords + 4,
  kResStepCount,
  kResTcpInfoSlots,  // 0, or kTcpInfoSlots of a probe's TCP_INFO after the steps
  kResSequel,        // nbc::Sequel: a verdict whose close follows, or the steps after one
  kResBatch,         // probeStart's batch number, 0 for connectStart's single attempts
  kResTag,           // the batch's own number for the target (probeStart's kTargetTag)
  kHeaderSlots,
};
// An endpoint's slots, from kResLocalFamily to kResLocalScope: family, port,
// four words, scope (convert.cpp's encode_endpoint).
constexpr int kEndpointSlots = kResLocalScope - kResLocalFamily + 1;
static_assert(kResRemoteScope - kResRemoteFamily + 1 == kEndpointSlots);
// Named by their first slot; the words take four.
constexpr struct {
  const char* name;
  int slot;
} kResultNames[] = {
    {"id", kResId},
    {"fd", kResFd},
    {"posixErrno", kResPosixErrno},
    {"syscall", kResSyscall},
    {"phase", kResPhase},
    {"why", kResWhy},
    {"start", kResStart},
    {"elapsed", kResElapsed},
    {"localFamily", kResLocalFamily},
    {"localPort", kResLocalPort},
    {"localWords", kResLocalWords},
    {"localScope", kResLocalScope},
    {"remoteFamily", kResRemoteFamily},
    {"remotePort", kResRemotePort},
    {"remoteWords", kResRemoteWords},
    {"remoteScope", kResRemoteScope},
    {"stepCount", kResStepCount},
    {"tcpInfoSlots", kResTcpInfoSlots},
    {"sequel", kResSequel},
    {"batch", kResBatch},
    {"tag", kResTag},
    {"headerSlots", kHeaderSlots},
};

enum StepSlot {
  kStepPacked,  // call + kArgUnit * arg + kDetailUnit * detail + the select bits
  kStepRet,
  kStepErrno,
  kStepValue,
  kStepRevents,  // poll: revents; epoll_wait: this fd's events
  kStepAt,       // ms since the attempt began
  kStepOption,   // setsockopt of a listed option: level * 65536 + name
  kStepSlots,
};
constexpr const char* kStepNames[] = {"packed", "ret", "errno", "value", "revents", "at", "option"};

// How kStepPacked packs a step's small fields into one exact float64.
constexpr int kArgUnit = 16;
constexpr int kDetailUnit = 512;
constexpr int kReadableBit = 4096;
constexpr int kWritableBit = 8192;
static_assert(int(Call::kCount) <= kArgUnit, "a call must fit below the arg");
static_assert(int(Arg::kCount) * kArgUnit <= kDetailUnit, "an arg must fit below the detail");
static_assert(8 * kDetailUnit <= kReadableBit, "three detail bits must fit below the sets");

// The enums' names, in their order (JS spells them as users see them).
constexpr const char* kCallNames[] = {
    "socket",    "fcntl",      "setsockopt", "bind",        "connect",     "poll", "select", "epoll_create1",
    "epoll_ctl", "epoll_wait", "getsockopt", "getsockname", "getpeername", "read", "close",
};
// nullptr: a call with no argument worth naming.
constexpr const char* kArgNames[] = {
    nullptr,
    "F_GETFL",
    "F_SETFL",
    "F_SETFD",
    "SO_ERROR",
    "TCP_NODELAY",
    "TCP_SYNCNT",
    "TCP_USER_TIMEOUT",
    "IP_BIND_ADDRESS_NO_PORT",
    "SO_LINGER",
    "SOCK_STREAM|SOCK_CLOEXEC",
    "EPOLL_CTL_ADD",
    "EPOLL_CTL_DEL",
    "option",  // lib/ names it from Step::option and the table below
    "SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_MPTCP",
    "TCP_INFO",
    "SO_COOKIE",
};
constexpr const char* kWaitNames[] = {"poll", "select", "epoll"};
constexpr const char* kConfirmNames[] = {"so_error", "getpeername", "read", "reconnect"};
constexpr const char* kPhaseNames[] = {"immediate", "async", "timeout", "aborted"};
constexpr const char* kWhyNames[] = {nullptr, "fd_setsize", "not_started"};
constexpr const char* kSequelNames[] = {"none", "close_follows", "steps"};

// TCP_INFO's fields as lib/ names them (Node's camelCase), in the order the
// binding writes them, each with where it sits in KernelTcpInfo; a field
// past what the kernel filled is NaN. The two window scales are bitfields
// sharing one byte: the binding writes them after these.
struct TcpInfoField {
  const char* name;
  size_t offset;
  size_t size;  // 1, 4 or 8 bytes, unsigned
};
#define NBC_FIELD(name, field) \
  { name, offsetof(KernelTcpInfo, field), sizeof(KernelTcpInfo::field) }
constexpr TcpInfoField kTcpInfoFields[] = {
    NBC_FIELD("state", state),
    NBC_FIELD("caState", ca_state),
    NBC_FIELD("retransmits", retransmits),
    NBC_FIELD("probes", probes),
    NBC_FIELD("backoff", backoff),
    NBC_FIELD("options", options),
    NBC_FIELD("rto", rto),
    NBC_FIELD("ato", ato),
    NBC_FIELD("sndMss", snd_mss),
    NBC_FIELD("rcvMss", rcv_mss),
    NBC_FIELD("unacked", unacked),
    NBC_FIELD("sacked", sacked),
    NBC_FIELD("lost", lost),
    NBC_FIELD("retrans", retrans),
    NBC_FIELD("lastDataSent", last_data_sent),
    NBC_FIELD("lastDataRecv", last_data_recv),
    NBC_FIELD("lastAckRecv", last_ack_recv),
    NBC_FIELD("pmtu", pmtu),
    NBC_FIELD("rcvSsthresh", rcv_ssthresh),
    NBC_FIELD("rtt", rtt),
    NBC_FIELD("rttVar", rttvar),
    NBC_FIELD("sndSsthresh", snd_ssthresh),
    NBC_FIELD("sndCwnd", snd_cwnd),
    NBC_FIELD("advMss", advmss),
    NBC_FIELD("reordering", reordering),
    NBC_FIELD("rcvRtt", rcv_rtt),
    NBC_FIELD("rcvSpace", rcv_space),
    NBC_FIELD("totalRetrans", total_retrans),
    NBC_FIELD("pacingRate", pacing_rate),
    NBC_FIELD("maxPacingRate", max_pacing_rate),
    NBC_FIELD("bytesAcked", bytes_acked),
    NBC_FIELD("bytesReceived", bytes_received),
    NBC_FIELD("segsOut", segs_out),
    NBC_FIELD("segsIn", segs_in),
    NBC_FIELD("notsentBytes", notsent_bytes),
    NBC_FIELD("minRtt", min_rtt),
    NBC_FIELD("dataSegsIn", data_segs_in),
    NBC_FIELD("dataSegsOut", data_segs_out),
    NBC_FIELD("deliveryRate", delivery_rate),
    NBC_FIELD("busyTime", busy_time),
    NBC_FIELD("rwndLimited", rwnd_limited),
    NBC_FIELD("sndbufLimited", sndbuf_limited),
    NBC_FIELD("delivered", delivered),
    NBC_FIELD("deliveredCe", delivered_ce),
    NBC_FIELD("bytesSent", bytes_sent),
    NBC_FIELD("bytesRetrans", bytes_retrans),
    NBC_FIELD("dsackDups", dsack_dups),
    NBC_FIELD("reordSeen", reord_seen),
    NBC_FIELD("rcvOooPack", rcv_ooopack),
    NBC_FIELD("sndWnd", snd_wnd),
};
#undef NBC_FIELD
constexpr const char* kTcpInfoScaleNames[] = {"sndWscale", "rcvWscale"};
constexpr int kTcpInfoSlots = int(sizeof kTcpInfoFields / sizeof *kTcpInfoFields) + 2;

// The option names lib/ accepts in `setsockopt: [{ level, name }]` and in
// raw.setsockopt, with this system's numbers for them (socket_options.cpp):
// the kernel headers are the one source, and lib/ never spells a number.
struct NamedConstant {
  const char* name;
  int level;  // for an option: its level; for a level: -1
  int number;
};
extern const NamedConstant kSocketLevels[];
extern const size_t kSocketLevelCount;
extern const NamedConstant kSocketOptions[];
extern const size_t kSocketOptionCount;

template <typename E, size_t N>
constexpr bool names_all(const char* const (&)[N]) {
  return N == size_t(E::kCount);
}
static_assert(names_all<Call>(kCallNames));
static_assert(names_all<Arg>(kArgNames));
static_assert(names_all<Wait>(kWaitNames));
static_assert(names_all<Confirm>(kConfirmNames));
static_assert(names_all<Phase>(kPhaseNames));
static_assert(names_all<Why>(kWhyNames));
static_assert(names_all<Sequel>(kSequelNames));
static_assert(sizeof kSpecNames / sizeof *kSpecNames == kSpecSlots);
static_assert(sizeof kStepNames / sizeof *kStepNames == kStepSlots);
static_assert(sizeof kTargetNames / sizeof *kTargetNames == kTargetSlots);

}  // namespace nbc::wire
