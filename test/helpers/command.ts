import { execFile } from 'node:child_process';
import * as path from 'node:path';

import { inNetworkNamespace, type NamespaceListener } from './namespaces';

/** The package's command, as npm links it. */
export const BIN = path.join(__dirname, '..', '..', 'bin', 'nbconnect.js');

/** What a finished process said: its exit status (or the error code that stopped it), stdout and stderr. */
export interface Ran {
  status: number | string | null | undefined;
  stdout: string;
  stderr: string;
}

/** Runs a program in a child, without blocking this event loop (its listeners must answer). */
function run(file: string, args: readonly string[], timeout = 20000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout }, (error, stdout, stderr) => {
      resolve({ status: error ? error.code : 0, stdout, stderr });
    });
  });
}

/** Runs a Node script in a child, without blocking this event loop. */
export const runNode = (script: string, args: readonly string[] = [], timeout?: number) => run(process.execPath, [script, ...args], timeout);

/** Runs the command as a user would. */
export const nbconnect = (...args: string[]) => runNode(BIN, args);

/**
 * Runs the command in a network namespace of its own whose loopback holds
 * only listeners on 127.0.0.1 at `ports` (see inNetworkNamespace), black
 * holes among them if asked: how a scan of a port range runs here.
 */
export const nbconnectInNamespace = (ports: readonly NamespaceListener[], ...args: string[]) => run(...inNetworkNamespace(ports, BIN, args));

/** Runs a Node script as nbconnectInNamespace runs the command. */
export const runNodeInNamespace = (ports: readonly number[], script: string, args: readonly string[] = []) => run(...inNetworkNamespace(ports, script, args));
