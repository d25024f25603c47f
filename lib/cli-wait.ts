// nbconnect wait: waitFor on the command line, with a live line per target
// on a terminal, and optionally a command to run once every target is up.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';

import { WaitTimeoutError } from './errors';
import { EXIT } from './exit-codes';
import { waitFor, WAIT_DEFAULTS, type StatusRange, type WaitAttempt, type WaitOptions, type WaitOutcome } from './wait';

/** Where the command writes. */
export interface WaitIo {
  out: (line: string) => void;
  err: (text: string) => void;
  tty: boolean;
}

export interface WaitSettings {
  targets: string[];
  options: WaitOptions;
  quiet: boolean;
  json: boolean;
  /** Run after every target is up: [file, ...args]. */
  command: string[] | undefined;
}

/** '200-299,404' as status ranges; undefined when the text is not that. */
export function parseStatuses(text: string): StatusRange[] | undefined {
  const out: StatusRange[] = [];
  for (const part of text.split(',')) {
    const m = /^([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) return undefined;
    out.push(m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])]);
  }
  return out;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs the wait; resolves with the exit status. */
export async function runWait(settings: WaitSettings, io: WaitIo): Promise<number> {
  const { targets, quiet, json } = settings;
  const started = performance.now();
  const reverse = settings.options.reverse === true;
  const goal = reverse ? 'down' : 'up';
  const rows = targets.map(() => ({ attempts: 0, last: 'waiting', done: false }));
  const live = io.tty && !quiet && !json;
  const lineOf = (i: number) => {
    const r = rows[i];
    const state = r.done ? goal : r.attempts === 0 ? 'waiting' : `last ${r.last}`;
    return `${targets[i]}  ${state}  (${r.attempts} attempt${r.attempts === 1 ? '' : 's'}, ${seconds(performance.now() - started)})`;
  };
  // On a terminal: one line per target, redrawn in place.
  let drawn = false;
  const draw = () => {
    if (!live) return;
    io.err(`${drawn ? `\x1b[${targets.length}A` : ''}${targets.map((_, i) => `\r\x1b[2K${lineOf(i)}\n`).join('')}`);
    drawn = true;
  };
  draw();
  const ticker = live ? setInterval(draw, 200) : undefined;

  const onAttempt = (outcome: WaitOutcome, { target, index, attempt, startedAt }: WaitAttempt) => {
    const row = rows[index];
    const changed = row.last !== outcome.code;
    row.attempts = attempt;
    row.last = outcome.code;
    row.done = outcome.ok !== reverse;
    if (json) io.out(JSON.stringify({ type: 'attempt', target, attempt, startedAt, outcome }));
    else if (live) draw();
    // Not a terminal: a line when a target's reason changes, not one per attempt.
    else if (!quiet && changed && !row.done) io.err(`${target}: ${outcome.code} (attempt ${attempt}, ${seconds(startedAt)})\n`);
  };

  let status: number;
  try {
    const result = await waitFor(targets, { ...settings.options, onAttempt });
    for (const t of result.targets) {
      if (json) io.out(JSON.stringify({ type: 'result', target: t.target, ready: true, attempts: t.attempts, readyAt: t.readyAt, code: t.outcome.code }));
      else if (!quiet && !live) io.err(`${t.target} ${goal} after ${t.readyAt.toFixed(0)} ms (${t.attempts} attempt${t.attempts === 1 ? '' : 's'})\n`);
    }
    status = EXIT.ok;
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    for (const t of err.targets) {
      if (json) io.out(JSON.stringify({ type: 'result', target: t.target, ready: t.ready, attempts: t.attempts, readyAt: t.readyAt, code: t.code ?? null }));
    }
    if (!quiet && !json) {
      if (live) draw();
      io.err(`nbconnect: ${err.message.split('; ').join('\nnbconnect: ')}\n`);
    }
    status = EXIT.timedOut;
  } finally {
    if (ticker) clearInterval(ticker);
  }
  if (live) draw();
  if (status !== EXIT.ok || settings.command === undefined) return status;
  return runCommand(settings.command);
}

/**
 * Runs the command with this terminal's stdio, passes SIGINT and SIGTERM on
 * to it, and resolves with its exit status (128 + the signal's number when
 * a signal ended it, as a shell reports it).
 */
function runCommand([file, ...args]: string[]): Promise<number> {
  return new Promise((resolve) => {
    // The listeners come first: the command may run, and be signalled by
    // someone who saw its output, before spawn() has returned here; a
    // signal with no listener would end this process instead. A listener
    // runs on a later turn of the loop, once `child` is set.
    const running: { child?: ChildProcess } = {};
    const forward = (signal: NodeJS.Signals) => running.child?.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const child = (running.child = spawn(file, args, { stdio: 'inherit' }));
    const done = (status: number) => {
      process.removeListener('SIGINT', forward);
      process.removeListener('SIGTERM', forward);
      resolve(status);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`nbconnect: ${file}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
      // 127 and 126, as a shell says "not found" and "cannot execute".
      done(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
  });
}

export { WAIT_DEFAULTS };
