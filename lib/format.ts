import { errnoName } from './errnos';
import type { Outcome, Step, Where } from './types';

/** '127.0.0.1:80', '[::1]:80', a path, or 'name:80' for a name not yet looked up. */
export function placeOf(where: Where): string {
  if ('path' in where) return where.path;
  const host = 'address' in where ? where.address : where.host;
  return host.includes(':') ? `[${host}]:${where.port}` : `${host}:${where.port}`;
}

/** One step the way strace would print it: `poll(POLLOUT) = 1 [POLLOUT|POLLERR]`. */
export function formatStep(step: Step): string {
  // A listed option shows its level and, for an int, the value set.
  const args = step.level !== undefined ? [step.level, step.arg, ...(step.value !== undefined ? [step.value] : [])].join(', ') : (step.arg ?? '');
  let line = `${step.call}(${args}) = ${step.ret}`;
  if (step.errno !== undefined) line += ` ${step.code ?? errnoName(step.errno)}`;
  if (step.revents) line += ` [${step.revents.join('|') || 'none'}]`;
  if (step.events) line += ` [${step.events.join('|') || 'none'}]`;
  if (step.readable !== undefined) line += ` [${[step.readable && 'readable', step.writable && 'writable'].filter(Boolean).join(' ') || 'neither'}]`;
  if (step.value !== undefined && step.arg === 'SO_ERROR') line += ` (pending error ${step.value === 0 ? '0' : errnoName(step.value)})`;
  return line;
}

/**
 * A trace, one line per syscall with its time, and the verdict at its own
 * time: a step made after the verdict (the close of a connection that was
 * handed over, then closed) comes after it, so the trace reads forwards.
 */
export function formatTrace(outcome: Pick<Outcome, 'steps' | 'elapsed' | 'code' | 'phase' | 'attempts'>): string {
  const line = (at: number, text: string) => `${at.toFixed(3).padStart(9)} ms  ${text}`;
  const verdict = (o: Pick<Outcome, 'code' | 'phase'>) => `=> ${o.code} (phase: ${o.phase})`;
  // A race is one timeline: every attempt's steps in time order, each
  // labelled with its address, and each loser's verdict at its time.
  const events: { at: number; text: string }[] = outcome.attempts?.length
    ? outcome.attempts.flatMap((attempt) => {
        const where = placeOf(attempt.target);
        const own = attempt.steps.map((step) => ({ at: step.at, text: `${where}  ${formatStep(step)}` }));
        if (!attempt.ok) own.push({ at: attempt.elapsed, text: `${where}  ${verdict(attempt)}` });
        return own;
      })
    : outcome.steps.map((step) => ({ at: step.at, text: formatStep(step) }));
  // Stable: at equal times the verdict follows the step that made it.
  events.push({ at: outcome.elapsed, text: verdict(outcome) });
  events.sort((a, b) => a.at - b.at);
  return events.map((e) => line(e.at, e.text)).join('\n');
}
