export { connect, connectSync, probe } from './connect';
export { Connection } from './connection';
export { ConnectError, WaitTimeoutError, type StepSource, type WaitTargetReport } from './errors';
export type {
  ConnectOptions,
  Endpoint,
  Outcome,
  Phase,
  SocketLevelName,
  SocketOptionName,
  SocketOptionSetting,
  Step,
  Target,
  TcpInfo,
  Wait,
  Where,
} from './types';
export { formatStep, formatTrace } from './format';
export { SOCKET_LEVEL_NAMES, SOCKET_OPTION_NAMES } from './vocabulary';
export * as raw from './raw';
export type { Confirm } from './types';
export { probeMany, type ProbeManyOptions } from './probe-many';
export { connectAny, type ConnectAnyError, type ConnectAnyOptions, type ConnectAnyResult, type RaceAttempt } from './connect-any';
export { classify, Connector, type AttemptReport, type ConnectorOptions, type Disposition } from './connector';
export {
  createConnection,
  type ClientConnectOptions,
  type ConnectCallback,
  type CreateConnectionFunction,
  type CreateConnectionOptions,
} from './create-connection';
export { connectChannel, type ConnectTraceContext } from './tracing';
export {
  waitFor,
  WAIT_DEFAULTS,
  type StatusRange,
  type WaitAttempt,
  type WaitOptions,
  type WaitOutcome,
  type WaitReady,
  type WaitResult,
  type WaitTarget,
} from './wait';
