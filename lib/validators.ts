// Argument errors as Node makes them (lib/internal/errors.js and
// lib/internal/validators.js): the same classes, codes and message shapes,
// so code that checks `err.code === 'ERR_SOCKET_BAD_PORT'` after
// net.connect works after ours too. Every message names the argument and
// shows the value received.
import { inspect } from 'node:util';

/** A value as a message shows it: short, on one line. */
export function show(value: unknown): string {
  return inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 64 });
}

/** Node's "Received ..." tail: `type number (1)`, `an instance of Object`, `null`. */
export function received(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : show(value);
  }
  return `type ${typeof value} (${show(value)})`;
}

/** An error of Node's shape: `code` as an own key, and `TypeError [CODE]: message` as its string. */
export type NodeError<E extends Error = Error> = E & { code: string };

export function coded<E extends Error>(error: E, code: string): NodeError<E> {
  const e = error as NodeError<E>;
  e.code = code;
  Object.defineProperty(e, 'toString', {
    value(this: Error) {
      return `${this.name} [${code}]: ${this.message}`;
    },
    writable: true,
    configurable: true,
  });
  return e;
}

// Node says "argument" for a parameter and "property" for a field of one.
const noun = (name: string) => (name.includes('.') ? 'property' : 'argument');

/** ERR_INVALID_ARG_TYPE (TypeError): `expected` reads "of type number", "an instance of AbortSignal", ... */
export function invalidArgType(name: string, expected: string, value: unknown): NodeError<TypeError> {
  return coded(new TypeError(`The "${name}" ${noun(name)} must be ${expected}. Received ${received(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/** ERR_OUT_OF_RANGE (RangeError). */
export function outOfRange(name: string, range: string, value: unknown): NodeError<RangeError> {
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${show(value)}`), 'ERR_OUT_OF_RANGE');
}

/**
 * ERR_INVALID_ARG_VALUE: the type is right, the value is not one we take.
 * A TypeError, as Node's; its RangeError form where the value lies outside
 * a domain (too long, a malformed name).
 */
export function invalidArgValue(name: string, value: unknown, reason: string, Base: typeof TypeError | typeof RangeError = TypeError): NodeError {
  return coded(new Base(`The ${noun(name)} '${name}' ${reason}. Received ${show(value)}`), 'ERR_INVALID_ARG_VALUE');
}

/** ERR_SOCKET_BAD_PORT (RangeError). */
export function badPort(name: string, value: unknown): NodeError<RangeError> {
  return coded(new RangeError(`${name} should be >= 0 and < 65536. Received ${received(value)}.`), 'ERR_SOCKET_BAD_PORT');
}

/** ERR_INVALID_IP_ADDRESS (TypeError). */
export function invalidIpAddress(name: string, value: unknown): NodeError<TypeError> {
  return coded(new TypeError(`Invalid IP address in "${name}": ${show(value)}`), 'ERR_INVALID_IP_ADDRESS');
}

/** ERR_FEATURE_UNAVAILABLE_ON_PLATFORM (TypeError), as Node throws for what its host cannot do. */
export function featureUnavailable(message: string): NodeError<TypeError> {
  return coded(new TypeError(message), 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM');
}

/** ERR_MISSING_ARGS (TypeError); unlike Node's, the message shows what came instead. */
export function missingArgs(what: string, value: unknown): NodeError<TypeError> {
  return coded(new TypeError(`The ${what} must be specified. Received ${received(value)}`), 'ERR_MISSING_ARGS');
}

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
