#!/usr/bin/env bash
# npm run prebuild:arm64: prebuilds/linux-arm64/nbconnect.node, cross-built
# on an x64 Linux with Debian's aarch64 toolchain (installed here when
# missing and this runs as root, as .ci/run does), in a folder of its own
# (build-arm64/) so the x64 build in build/ stays what this machine loads.
# The result is checked by test/67-prebuilds: its symbol table (glibc 2.28)
# and the spec files run under qemu-aarch64 with an arm64 Node from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

TRIPLE=aarch64-linux-gnu
if ! command -v "$TRIPLE-g++" >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "prebuild:arm64 needs $TRIPLE-g++: apt-get install g++-$TRIPLE libc6-arm64-cross libstdc++6-arm64-cross" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "g++-$TRIPLE" libc6-arm64-cross libstdc++6-arm64-cross
fi

OUT=build-arm64
rm -rf "$OUT"
mkdir -p "$OUT"
cp binding.gyp "$OUT/"
cp -r native "$OUT/"
# Through npm, so node-gyp gets npm's configuration (nodedir: Node's own
# headers, the same for every architecture); node-addon-api resolves from
# this package's node_modules, one level up.
(cd "$OUT" && CC="$TRIPLE-gcc" CXX="$TRIPLE-g++" LINK="$TRIPLE-g++" AR="$TRIPLE-ar" \
  npm exec --no -- node-gyp rebuild --arch=arm64 >node-gyp.log 2>&1) || { cat "$OUT/node-gyp.log" >&2; exit 1; }
mkdir -p prebuilds/linux-arm64
"$TRIPLE-strip" --strip-all -o prebuilds/linux-arm64/nbconnect.node "$OUT/build/Release/nbconnect.node"
