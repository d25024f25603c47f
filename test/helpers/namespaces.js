'use strict';
const { spawnSync } = require('node:child_process');

/** Why network namespaces cannot be made here (root, unshare -n, ip), or null if they can. */
function namespaceBlocker() {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.error) return 'no unshare(1)';
  if (probe.status !== 0) return `unshare -n failed: ${String(probe.stderr).trim()}`;
  if (spawnSync('ip', ['-V']).error) return 'no ip(8) (iproute2)';
  return null;
}

module.exports = { namespaceBlocker };
