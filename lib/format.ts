import { errnoName } from './errors';
import type { Outcome, Step } from './types';

/** One step the way strace would print it: `poll(POLLOUT) = 1 [POLLOUT|POLLERR]`. */
export function formatStep(step: Step): string {
  let line = `${step.call}(${step.arg ?? ''}) = ${step.ret}`;
  if (step.errno !== undefined) line += ` ${step.code ?? errnoName(step.errno)}`;
  if (step.revents) line += ` [${step.revents.join('|') || 'none'}]`;
  if (step.readable !== undefined)
    line += ` [${[step.readable && 'readable', step.writable && 'writable'].filter(Boolean).join(' ') || 'neither'}]`;
  if (step.value !== undefined) line += ` (pending error ${step.value === 0 ? '0' : errnoName(step.value)})`;
  return line;
}

/**
 * A trace, one line per syscall with its time, and the verdict at its own
 * time: a step made after the verdict (the close of a connection that was
 * handed over, then closed) comes after it, so the trace reads forwards.
 */
export function formatTrace(outcome: Pick<Outcome, 'steps' | 'elapsed' | 'code' | 'phase'>): string {
  const line = (at: number, text: string) => `${at.toFixed(3).padStart(9)} ms  ${text}`;
  const verdict = line(outcome.elapsed, `=> ${outcome.code} (phase: ${outcome.phase})`);
  const lines: string[] = [];
  let placed = false;
  for (const step of outcome.steps) {
    if (!placed && step.at > outcome.elapsed) {
      lines.push(verdict);
      placed = true;
    }
    lines.push(line(step.at, formatStep(step)));
  }
  if (!placed) lines.push(verdict);
  return lines.join('\n');
}
