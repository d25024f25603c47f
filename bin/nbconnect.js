#!/usr/bin/env node
'use strict';
// A reader that stops early (nbconnect scan ... | head -1) closes the pipe:
// the command ends there, quietly and successfully, as a Unix filter does,
// rather than dying on the EPIPE of its next write. The kernel closes the
// sockets still in flight when the process exits.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
let cli;
try {
  cli = require('../dist/lib/cli.js');
} catch (err) {
  // What the environment asks of the load itself (a bad NBCONNECT_MODE, an
  // addon that cannot load): one line, not a stack trace. 2 for a value of
  // ours that is wrong, 1 for the rest.
  process.stderr.write(`nbconnect: ${err.message}\n`);
  process.exit(err.code === 'ERR_INVALID_ARG_VALUE' ? 2 : 1);
}
cli.main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
