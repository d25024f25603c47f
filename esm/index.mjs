// ESM entry: the CommonJS build re-exported by name, so there is one implementation.
export {
  ConnectError,
  Connection,
  Connector,
  classify,
  connect,
  connectAny,
  connectChannel,
  connectSync,
  createConnection,
  formatStep,
  formatTrace,
  probe,
  probeMany,
  raw,
  SOCKET_LEVEL_NAMES,
  SOCKET_OPTION_NAMES,
  WAIT_DEFAULTS,
  waitFor,
  WaitTimeoutError,
} from '../dist/lib/index.js';

// The module itself as the default export, as node:net has one:
// import nb from 'nbconnect'.
import nbconnect from '../dist/lib/index.js';
export default nbconnect;
