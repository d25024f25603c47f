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

/** A trace, one line per syscall with its time, then the verdict. */
export function formatTrace(outcome: Outcome): string {
  const lines = outcome.steps.map((s) => `${s.at.toFixed(3).padStart(9)} ms  ${formatStep(s)}`);
  lines.push(`${outcome.elapsed.toFixed(3).padStart(9)} ms  => ${outcome.code} (phase: ${outcome.phase})`);
  return lines.join('\n');
}
