// What `nbconnect scan` prints, in the words nmap users read: a port is
// open (connected), closed (ECONNREFUSED: the host answered with an RST),
// filtered (ETIMEDOUT: no answer before the deadline) or, for any other
// errno (EHOSTUNREACH, ENETUNREACH, EACCES, ...), other, with its code, where
// nmap would fold it into filtered and lose the errno this package is for.
import { serviceName } from './services';

export type PortState = 'open' | 'closed' | 'filtered' | 'other';

/** A port's state from its Outcome's code. */
export function stateOf(code: string): PortState {
  if (code === 'OK') return 'open';
  if (code === 'ECONNREFUSED') return 'closed';
  if (code === 'ETIMEDOUT') return 'filtered';
  return 'other';
}

/** One scanned port: its verdict's code ('OK' when open) and how long the connect took. */
export interface PortResult {
  port: number;
  state: PortState;
  code: string;
  ms: number;
}

/**
 * A port as `--json` prints it, one line: the same keys every time, code
 * null for an open port (no errno), service null where /etc/services
 * names none.
 */
export function portJson(result: PortResult): string {
  const { port, state, code, ms } = result;
  return JSON.stringify({ port, state, service: serviceName(port) ?? null, code: state === 'open' ? null : code, ms: Number(ms.toFixed(3)) });
}

/**
 * More ports than this of one state and code are counted on the "Not shown"
 * line rather than listed (nmap's own cut-off): a firewalled host's 65,535
 * filtered ports are one line, a handful are each named. Closed ports are
 * always counted, never listed, and open ones always listed.
 */
export const MOST_LISTED = 25;

/** Rows as nmap aligns them: each column as wide as its widest cell, one space between. */
function aligned(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join(' ')
      .trimEnd(),
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The scan's table: the "Not shown" line for the ports counted rather than
 * listed, then PORT STATE SERVICE REASON (the errno) for the rest, by
 * port. With `onlyOpen`, the open ports' rows alone, without REASON.
 */
export function scanTable(results: readonly PortResult[], onlyOpen: boolean): string[] {
  const groups = new Map<string, PortResult[]>();
  for (const result of results) {
    const key = `${result.state} ${result.code}`;
    const group = groups.get(key);
    if (group) group.push(result);
    else groups.set(key, [result]);
  }
  const counted = (group: PortResult[]) => group[0].state === 'closed' || (group[0].state !== 'open' && group.length > MOST_LISTED);
  const order: PortState[] = ['open', 'closed', 'filtered', 'other'];
  const sorted = [...groups.values()].sort((a, b) => order.indexOf(a[0].state) - order.indexOf(b[0].state) || a[0].code.localeCompare(b[0].code));
  const lines: string[] = [];
  if (!onlyOpen) {
    const notShown = sorted.filter(counted).map((group) => `${plural(group.length, `${group[0].state} tcp port`)} (${group[0].code})`);
    if (notShown.length) lines.push(`Not shown: ${notShown.join(', ')}`);
  }
  const listed = sorted
    .filter((group) => (onlyOpen ? group[0].state === 'open' : !counted(group)))
    .flat()
    .sort((a, b) => a.port - b.port);
  if (listed.length === 0) return lines;
  // REASON, the errno, only where a listed port has one: open ports alone read as nmap's three columns.
  const withReason = listed.some((r) => r.state !== 'open');
  const rows = listed.map((r) => [`${r.port}/tcp`, r.state, serviceName(r.port) ?? 'unknown', ...(withReason ? [r.state === 'open' ? '' : r.code] : [])]);
  return [...lines, ...aligned([['PORT', 'STATE', 'SERVICE', ...(withReason ? ['REASON'] : [])], ...rows])];
}

/** The last line: what was scanned, how fast, and how many of each state. */
export function scanSummary(total: number, where: string, tookMs: number, results: readonly PortResult[]): string {
  const count = (state: PortState) => results.filter((r) => r.state === state).length;
  // A scan takes at least a microtask; the floor only keeps a division by zero out.
  const rate = Math.round(total / (Math.max(tookMs, 0.001) / 1000));
  const tally = `${count('open')} open, ${count('closed')} closed, ${count('filtered')} filtered, ${count('other')} other`;
  return `scanned ${plural(total, 'port')} on ${where} in ${tookMs.toFixed(0)} ms (${rate} ports/s): ${tally}`;
}
