export { connect, connectSync, probe } from './connect';
export { Connection } from './connection';
export { ConnectError } from './errors';
export type { ConnectOptions, Endpoint, Outcome, Phase, Step, Target, Wait, Where } from './types';
export { formatStep, formatTrace } from './format';
export * as raw from './raw';
export type { Confirm } from './types';
export { probeMany, type ProbeManyOptions } from './many';
