// Which engine this process runs, decided once, at load. On Linux the exact
// engine (the native addon) is the only default: exactness is why anyone
// installs nbconnect, so a missing addon is a load error there, never a
// silent fallback. Elsewhere there is no addon to load (the kernel calls
// are Linux's), and the portable mode, built on Node's own net and dns,
// serves the same calls. NBCONNECT_MODE=portable asks for it on Linux too,
// which is how it is tested.
import { badMode, MODE_VARIABLE } from './errors';
import { assertDenoPermissions } from './runtime';

export { MODE_VARIABLE };

/** 'exact': the native addon, every syscall traced. 'portable': Node's net and dns only. */
export type Mode = 'exact' | 'portable';

/**
 * The mode for a value of NBCONNECT_MODE on a platform: unset or empty is
 * exact on Linux and portable elsewhere; 'exact' or 'portable' is taken as
 * said ('exact' off Linux then fails to load, saying why).
 */
export function chooseMode(requested: string | undefined, platform: NodeJS.Platform): Mode {
  if (requested === undefined || requested === '') return platform === 'linux' ? 'exact' : 'portable';
  if (requested === 'exact' || requested === 'portable') return requested;
  throw badMode(requested);
}

/** This process's mode. */
export const MODE: Mode = chooseMode(readModeVariable(), process.platform);

function readModeVariable(): string | undefined {
  assertDenoPermissions();
  return process.env[MODE_VARIABLE];
}
