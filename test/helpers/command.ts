import { execFile } from 'node:child_process';
import * as path from 'node:path';

/** The package's command, as npm links it. */
export const BIN = path.join(__dirname, '..', '..', 'bin', 'nbconnect.js');

/** What a finished process said: its exit status (or the error code that stopped it), stdout and stderr. */
export interface Ran {
  status: number | string | null | undefined;
  stdout: string;
  stderr: string;
}

/** Runs a Node script in a child, without blocking this event loop (its listeners must answer). */
export function runNode(script: string, args: readonly string[] = [], timeout = 20000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout }, (error, stdout, stderr) => {
      resolve({ status: error ? error.code : 0, stdout, stderr });
    });
  });
}

/** Runs the command as a user would. */
export const nbconnect = (...args: string[]) => runNode(BIN, args);
