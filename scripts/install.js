#!/usr/bin/env node
// npm's install step for nbconnect. On Linux it is node-gyp-build: the
// build in build/Release or the prebuild for this platform if either
// loads, else a build from source with node-gyp (which fails loudly, as it
// should: on Linux nbconnect is the exact engine or nothing). Elsewhere it
// does nothing: the native code is Linux's (epoll, SO_ERROR as Linux sets
// it), and off Linux the package runs its portable mode, on Node's own net
// and dns, which needs nothing built. So `npm install` never fails there.
'use strict';

if (process.platform === 'linux') {
  // node-gyp-build's own command, run in this process with no arguments.
  require('node-gyp-build/bin.js');
} else {
  process.stderr.write(`nbconnect: nothing to build on ${process.platform}; it runs in its portable mode here (see docs/portable.md)\n`);
}
