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
require('../dist/lib/cli.js')
  .main(process.argv.slice(2))
  .then((status) => {
    process.exitCode = status;
  });
