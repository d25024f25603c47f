// Argument checks as Node makes them (lib/internal/validators.js), throwing
// the errors of lib/errors.ts (Node's lib/internal/errors.js): the same
// classes, codes and message shapes, so code that checks
// `err.code === 'ERR_SOCKET_BAD_PORT'` after net.connect works after ours
// too. Every message names the argument and shows the value received.
import { badPort, invalidArgType, invalidArgValue, outOfRange } from './errors';

/** A typed value keeps its type; an unknown one becomes a record to read. */
type ObjectOf<T> = unknown extends T ? Record<string, unknown> : Extract<T, object>;

export function validateObject<T>(value: T, name: string): asserts value is ObjectOf<T> & T {
  if (value === null || typeof value !== 'object') throw invalidArgType(name, 'of type object', value);
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
}

/** An integer in [min, max]. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  return value;
}

/** A number in [min, max] (not NaN); `range` words the limits for the message. */
export function validateNumber(value: unknown, name: string, min: number, max: number, range = `>= ${min}${max < Infinity ? ` and <= ${max}` : ''}`): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (Number.isNaN(value) || value < min || value > max) throw outOfRange(name, range, value);
  return value;
}

/** A finite number in [min, max]: a delay or a backoff, where Infinity means nothing. */
export function validateFiniteNumber(value: unknown, name: string, min: number, max = Infinity): number {
  const range = `a finite number >= ${min}${max < Infinity ? ` and <= ${max}` : ''}`;
  const number = validateNumber(value, name, min, max, range);
  if (!Number.isFinite(number)) throw outOfRange(name, range, value);
  return number;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any callable, as Node's validateFunction takes
type FunctionOf<T> = unknown extends T ? (...args: unknown[]) => unknown : Extract<T, Function>;

export function validateFunction<T>(value: T, name: string): asserts value is FunctionOf<T> & T {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

export function validateArray(value: unknown, name: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw invalidArgType(name, 'an instance of Array', value);
}

/** One of `allowed`, compared with ===. */
export function validateOneOf<T>(value: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T))
    throw invalidArgValue(name, value, `must be one of: ${allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ')}`);
  return value as T;
}

export function validateAbortSignal(value: unknown, name: string): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalidArgType(name, 'an instance of AbortSignal', value);
}

/**
 * A port as Node's validatePort takes it: a number, or a string of one
 * (not blank), an integer from 0 to 65535. Returns the number.
 */
export function validatePort(value: unknown, name: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') throw invalidArgType(name, 'one of type number or string', value);
  const port = Number(value);
  if ((typeof value === 'string' && value.trim().length === 0) || port !== port >>> 0 || port > 0xffff) throw badPort(name, value);
  return port;
}
