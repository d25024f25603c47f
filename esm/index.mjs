// ESM entry: the CommonJS build re-exported by name, so there is one implementation.
export {
  ConnectError,
  Connection,
  Connector,
  classify,
  connect,
  connectAny,
  connectSync,
  createConnection,
  formatStep,
  formatTrace,
  probe,
  probeMany,
  raw,
} from '../dist/lib/index.js';
