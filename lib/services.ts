// Service names for the scan's table, as nmap prints them beside a port:
// the tcp entries of /etc/services (services(5)). The file is read once,
// on the first name asked for, and never trusted: a file that is missing,
// unreadable, not a regular file (a FIFO would block a plain read) or not in
// the format gives no names, never an error; the scan then says 'unknown'.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

export const SERVICES_FILE = '/etc/services';

// netbase's file is about 12 KiB; anything far larger is not a services file.
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * The tcp port → name map of services(5) text: `name port/protocol
 * [aliases...] [# comment]`. The first name given for a port stands, as
 * getservbyport(3) answers; udp lines, comments and lines not in the
 * format are skipped.
 */
export function parseServices(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, portAndProtocol] = line.replace(/#.*/, '').trim().split(/\s+/);
    const m = /^([0-9]{1,5})\/tcp$/i.exec(portAndProtocol ?? '');
    if (!name || !m) continue;
    const port = Number(m[1]);
    if (port >= 1 && port <= 65535 && !names.has(port)) names.set(port, name);
  }
  return names;
}

/** The tcp names of `file`, or none when it cannot be read as a services file. */
export function loadServices(file: string = SERVICES_FILE): Map<number, string> {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_BYTES) return new Map();
    return parseServices(readFileSync(fd, 'utf8'));
  } catch {
    return new Map();
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let loaded: Map<number, string> | undefined;

/** The name /etc/services gives tcp `port`, or undefined; the file is read on the first call. */
export function serviceName(port: number): string | undefined {
  loaded ??= loadServices();
  return loaded.get(port);
}
