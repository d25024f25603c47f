// ESM entry: the CommonJS build re-exported by name, so there is one implementation.
export {
  FD_SETSIZE,
  bind,
  close,
  connect,
  constants,
  getFlags,
  getSoError,
  getpeername,
  getsockname,
  poll,
  read,
  select,
  setNonblocking,
  setsockopt,
  socket,
} from '../dist/lib/raw.js';
