import { constants } from 'node:os';

// From the platform's own errno table: util.getSystemErrorName only knows
// libuv's subset, which lacks EINPROGRESS among others.
const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // Linux aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK): the first,
  // canonical name wins.
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);
}

/** The name of a positive POSIX errno, e.g. 115 -> 'EINPROGRESS'. */
export function errnoName(posixErrno: number): string {
  return ERRNO_NAMES.get(posixErrno) ?? `E${posixErrno}`;
}
