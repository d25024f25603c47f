// Which engine this process runs, decided once, at load. On Linux the exact
// engine (the native addon) is the only default: exactness is why anyone
// installs nbconnect, so a missing addon is a load error there, never a
// silent fallback. Elsewhere there is no addon to load (the kernel calls
// are Linux's), and the portable mode, built on Node's own net and dns,
// serves the same calls. NBCONNECT_MODE=portable asks for it on Linux too,
// which is how it is tested.
import { assertDenoPermissions } from './runtime';
import { coded, show } from './validators';

/** 'exact': the native addon, every syscall traced. 'portable': Node's net and dns only. */
export type Mode = 'exact' | 'portable';

/** The environment variable that chooses the mode at load. */
export const MODE_VARIABLE = 'NBCONNECT_MODE';

/**
 * The mode for a value of NBCONNECT_MODE on a platform: unset or empty is
 * exact on Linux and portable elsewhere; 'exact' or 'portable' is taken as
 * said ('exact' off Linux then fails to load, saying why).
 */
export function chooseMode(requested: string | undefined, platform: NodeJS.Platform): Mode {
  if (requested === undefined || requested === '') return platform === 'linux' ? 'exact' : 'portable';
  if (requested === 'exact' || requested === 'portable') return requested;
  throw coded(
    new RangeError(
      `The environment variable ${MODE_VARIABLE} must be 'exact' or 'portable' (or unset: exact on Linux, portable elsewhere). Received ${show(requested)}`,
    ),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** This process's mode. */
export const MODE: Mode = chooseMode(readModeVariable(), process.platform);

function readModeVariable(): string | undefined {
  assertDenoPermissions();
  return process.env[MODE_VARIABLE];
}

/** Why this process runs the portable mode, for its errors' messages. */
export function portableBecause(): string {
  return process.env[MODE_VARIABLE] === 'portable'
    ? `${MODE_VARIABLE}=portable is set (unset it on Linux for the exact engine)`
    : `the exact engine runs on Linux only, and this is ${process.platform}`;
}
