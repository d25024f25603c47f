#!/usr/bin/env bash
# npm run test:sanitize
#  1. the waiter stress harness under ThreadSanitizer;
#  2. the same harness under AddressSanitizer + LeakSanitizer + UBSan;
#  3. the epoll engine's stress harness (its own loop, one thread, so no
#     TSan) under AddressSanitizer + LeakSanitizer + UBSan;
#  4. the addon built with AddressSanitizer + UBSan, and the whole mocha
#     suite run against it.
# NBCONNECT_STRESS scales both harnesses: attempts per producer thread of
# the waiter, and a fifth of the engine's attempts.
# Any report fails the run (halt_on_error, exit codes).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=build-sanitize
mkdir -p "$OUT"
SOURCES="test/native/waiter_stress.cpp native/waiter.cpp native/posix_connect.cpp native/syscalls.cpp native/blocking.cpp"
# GCC's -fsanitize=undefined leaves float-cast-overflow out: a double too
# large for the integer it is converted to (a huge timeout) must be caught.
UBSAN="undefined,float-cast-overflow"
PER_PRODUCER=${NBCONNECT_STRESS:-2000}

echo "== waiter stress, ThreadSanitizer"
g++ -std=c++17 -O1 -g -pthread -fsanitize=thread $SOURCES -o "$OUT/waiter_stress_tsan"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$OUT/waiter_stress_tsan" "$PER_PRODUCER"

echo "== waiter stress, AddressSanitizer + LeakSanitizer + UBSan"
g++ -std=c++17 -O1 -g -pthread -fno-omit-frame-pointer -fsanitize=address,$UBSAN -fno-sanitize-recover=$UBSAN $SOURCES -o "$OUT/waiter_stress_asan"
ASAN_OPTIONS="detect_leaks=1 halt_on_error=1" "$OUT/waiter_stress_asan" "$PER_PRODUCER"

echo "== epoll engine stress, AddressSanitizer + LeakSanitizer + UBSan"
ENGINE_SOURCES="test/native/engine_stress.cpp native/engine.cpp native/posix_connect.cpp native/syscalls.cpp native/blocking.cpp"
g++ -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,$UBSAN -fno-sanitize-recover=$UBSAN $ENGINE_SOURCES -o "$OUT/engine_stress_asan"
ASAN_OPTIONS="detect_leaks=1 halt_on_error=1" "$OUT/engine_stress_asan" $((PER_PRODUCER * 5))

echo "== the addon under AddressSanitizer + UBSan, the whole suite"
ADDON="$OUT/addon"
rm -rf "$ADDON"
mkdir -p "$ADDON"
cp binding.gyp "$ADDON/"
cp -r native "$ADDON/"
FLAGS="-fsanitize=address,$UBSAN -fno-sanitize-recover=$UBSAN -fno-omit-frame-pointer -g"
# Through npm, so node-gyp gets npm's configuration (nodedir: Node's own headers).
(cd "$ADDON" && CFLAGS="$FLAGS" CXXFLAGS="$FLAGS" LDFLAGS="-fsanitize=address,$UBSAN" npm exec --no -- node-gyp rebuild >/dev/null)
LIBASAN=$(g++ -print-file-name=libasan.so)
LIBUBSAN=$(g++ -print-file-name=libubsan.so)
# Node itself is not instrumented, and at exit it leaves allocations on
# purpose, so in this process LeakSanitizer would only report Node; leaks of
# the native code are checked by the harness above, which drives the same
# files. Child processes the tests start inherit all of this.
export NBCONNECT_ADDON="$PWD/$ADDON/build/Release/nbconnect.node"
export LD_PRELOAD="$LIBASAN $LIBUBSAN"
# Short allocation stacks: Node allocates a great deal, and reports need few frames.
export ASAN_OPTIONS="detect_leaks=0 halt_on_error=1 exitcode=86 malloc_context_size=4"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 exitcode=87"
node -e "require('./dist/lib'); if (!process.env.NBCONNECT_ADDON) process.exit(1)"
# Not the runtime test: other runtimes and Node lines cannot load this ASan
# build, and must not inherit these variables (it runs in npm run test:slow).
# Not the portable spec either: it runs without the addon, under
# NBCONNECT_MODE=portable (npm test runs it). Nor the package's and the
# prebuilds' tests: they pack and cross-build the x64 and arm64 binaries
# (under this preload, past their time limits), and check those, not this
# build.
npx mocha --no-config --timeout 30000 --require dist-test/helpers/sanitizer-hooks.js --ignore 'dist-test/66-runtimes.slow.test.js' --ignore 'dist-test/*.portable.test.js' --ignore 'dist-test/67-prebuilds.slow.test.js' --ignore 'dist-test/60-package.slow.test.js' 'dist-test/*.test.js'
