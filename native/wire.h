// The numeric wire between lib/ and the binding, mirrored in lib/wire.ts.
// Values cross as float64 slots in typed arrays rather than JS objects:
// building objects through Node-API costs more than the connect itself, while
// JS builds them in nanoseconds, and only when they are read.
#pragma once

namespace nbc::wire {

// connectStart / connectSync input: a Float64Array of kSpecSlots, plus the
// address (or unix path) and the local address as string arguments.
enum SpecSlot {
  kSpecId,
  kSpecFamily,  // 4, 6, or 0 for AF_UNIX
  kSpecPort,
  kSpecLocalPort,  // -1: none
  kSpecWait,       // 0 poll, 1 select
  kSpecTimeout,    // ms, -1: none
  kSpecNoDelay,    // the options: -1 leaves the kernel's default
  kSpecSynCount,
  kSpecUserTimeout,
  kSpecBindNoPort,
  kSpecLinger0,
  kSpecConfirm,    // 0 so_error, 1 getpeername, 2 read, 3 reconnect
  kSpecWaitDelay,  // ms
  kSpecCloseWhenConnected,
  kSpecSlots,
};

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
  kHeaderSlots,
};

enum StepSlot {
  kStepPacked,  // call + 16 * arg + 256 * detail + 2048 * readable + 4096 * writable
  kStepRet,
  kStepErrno,
  kStepValue,
  kStepRevents,
  kStepAt,  // ms since the attempt began
  kStepSlots,
};

}  // namespace nbc::wire
