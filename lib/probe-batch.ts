// probeMany's batch path: many literal targets of one spec handed to the
// native side in one call (probeStart), their results routed back by batch
// number and tag, and each Outcome built only when the loop reads it.
//
// Per target this costs a port check, a few slots in a Float64Array and a
// Set entry: no option validation (the options are checked once per kind
// of target), no promise, no abort listener (one for the batch), no error
// object for the common failures. probe() remains the path of a name, of
// tracing, and of the portable mode.
import { addon } from './binding';
import { errnoName } from './errnos';
import { abortError, errorFromResult, startFailed } from './errors';
import { outcomeOfError } from './outcome';
import type { Endpoint, Outcome, Wait } from './types';
import type { ParsedTarget, Prepared } from './validate';
import { pack, packTarget, SEQUEL, TARGET_SLOTS, WAIT_NUMBER, type Result } from './wire';

// A tag is the batch's address number and the port: exact in a double for
// 2^37 distinct addresses.
const PORTS = 65536;

/** A finished target: its verdict, and the steps of a close that came after it. */
export class BatchRecord {
  constructor(
    readonly batch: ProbeBatch,
    readonly result: Result,
    readonly close: Result | undefined,
    /** The loop was left, or its signal aborted, before this verdict came: as probe() does, the abort wins. */
    readonly abortedFirst: boolean,
  ) {}

  /** The Outcome probe() would resolve with, built now. */
  outcome(): Outcome {
    return this.batch.outcomeOf(this);
  }
}

// Batches with attempts in flight, by number. One is here only while it
// has attempts out, so a loop its consumer forgot can still be collected.
const live = new Map<number, ProbeBatch>();
let lastNumber = 0;

/**
 * A result of probeStart, for its batch (connect.ts's onBatch hands every
 * result whose `batch` is not 0 here). A batch leaves the map only once its
 * last attempt's last result came, so none arrives for a batch not in it.
 */
export function takeBatchResult(result: Result): void {
  const batch = live.get(result.batch);
  if (batch) return batch.take(result);
  // Cannot happen; should it, the socket is closed rather than lost.
  if (result.fd >= 0) addon.close(result.fd);
}

type Staged = { addresses: number[]; ports: number[] };

export class ProbeBatch {
  private number = 0;
  /** Attempts started whose last result has not come. */
  inFlight = 0;
  private readonly ids = new Set<number>();
  private readonly closing = new Map<number, Result>();
  // Every distinct address (or path) the batch was given, with its family,
  // numbered in the order first seen; looked up by family, since a unix
  // path may spell what is also an IP address.
  private readonly addresses: string[] = [];
  private readonly families: (0 | 4 | 6)[] = [];
  private readonly addressNumber = { 0: new Map<string, number>(), 4: new Map<string, number>(), 6: new Map<string, number>() };
  // Targets pulled and not yet handed over, by family (0 for a unix path).
  private readonly staged = new Map<0 | 4 | 6, Staged>();
  private abortReason: { reason: unknown } | undefined;

  // The options as checked for each kind of target (an IPv4 or an IPv6
  // address, a path), with the first target of that kind.
  private readonly kinds = new Map<0 | 4 | 6, Prepared>();
  private wait = -1;

  constructor(
    private readonly client: number,
    /** probe()'s checks of the options, for a target of a kind not seen yet; throws as probe() rejects. */
    private readonly prepareKind: (target: Extract<ParsedTarget, { kind: 'ip' | 'unix' }>) => Prepared,
    /** Each finished target, in the order they finish. */
    private readonly onRecord: (record: BatchRecord | Outcome) => void,
  ) {}

  /** A literal target, started at the next flush(); throws if the options do not fit its kind. */
  add(target: Extract<ParsedTarget, { kind: 'ip' | 'unix' }>): void {
    const family = target.kind === 'unix' ? 0 : target.family;
    if (!this.kinds.has(family)) {
      const prepared = this.prepareKind(target);
      this.kinds.set(family, prepared);
      this.wait = prepared.socket.wait;
    }
    const text = target.kind === 'unix' ? target.path : target.address;
    const numbers = this.addressNumber[family];
    let number = numbers.get(text);
    if (number === undefined) {
      number = this.addresses.push(text) - 1;
      this.families.push(family);
      numbers.set(text, number);
    }
    let staged = this.staged.get(family);
    if (staged === undefined) this.staged.set(family, (staged = { addresses: [], ports: [] }));
    staged.addresses.push(number);
    staged.ports.push(target.kind === 'unix' ? 0 : target.port);
    this.inFlight++;
  }

  /** Hands every staged target to the native side: one call per family. */
  flush(): void {
    for (const [family, staged] of this.staged) {
      this.staged.delete(family);
      this.start(family, staged);
    }
  }

  private start(family: 0 | 4 | 6, { addresses, ports }: Staged): void {
    if (this.number === 0) {
      do lastNumber = (lastNumber % 0xffffffff) + 1;
      while (live.has(lastNumber));
      this.number = lastNumber;
      live.set(this.number, this);
    }
    // The call's own address list: usually the one host of a scan.
    const callAddresses: string[] = [];
    const callIndex = new Map<number, number>();
    const targets = new Float64Array(ports.length * TARGET_SLOTS);
    for (let i = 0; i < ports.length; i++) {
      let index = callIndex.get(addresses[i]);
      if (index === undefined) {
        index = callAddresses.push(this.addresses[addresses[i]]) - 1;
        callIndex.set(addresses[i], index);
      }
      packTarget(targets, i, index, ports[i], addresses[i] * PORTS + ports[i]);
    }
    const { socket, timeout } = this.kinds.get(family)!;
    const first = this.endpointOf(addresses[0] * PORTS + ports[0]);
    const id = addon.probeStart(
      pack(socket, first, timeout ?? -1, this.client),
      callAddresses,
      targets,
      socket.localAddress,
      socket.extra?.[family],
      this.number,
    );
    if (typeof id !== 'number') {
      // Nothing was started: each target gets the Outcome probe() gives then.
      const wait = (Object.keys(WAIT_NUMBER) as Wait[]).find((name) => WAIT_NUMBER[name] === socket.wait)!;
      for (let i = 0; i < ports.length; i++) {
        this.inFlight--;
        this.onRecord(outcomeOfError(startFailed(this.endpointOf(addresses[i] * PORTS + ports[i]), id.errno, id.syscall, wait)));
      }
      this.leaveIfIdle();
      return;
    }
    for (let i = 0; i < ports.length; i++) this.ids.add(id + i);
    if (this.abortReason !== undefined) for (let i = 0; i < ports.length; i++) addon.cancel(this.wait, id + i);
  }

  /** Cancels every attempt in flight: each ends 'aborted' unless its verdict was on its way. */
  abort(reason: unknown): void {
    this.abortReason ??= { reason };
    for (const id of this.ids) addon.cancel(this.wait, id);
  }

  /** One result of this batch, from connect.ts's onBatch. */
  take(result: Result): void {
    if (result.sequel === SEQUEL.close_follows) {
      // A deadline or a cancel, settled before its close: the Outcome
      // waits for the close's steps, as probe()'s does.
      this.closing.set(result.id, result);
      return;
    }
    let verdict = result;
    let close: Result | undefined;
    if (result.sequel === SEQUEL.steps) {
      verdict = this.closing.get(result.id)!;
      this.closing.delete(result.id);
      close = result;
    }
    // A probe's socket is closed by the native side; one that was not is
    // closed here, never lost.
    if (verdict.fd >= 0) addon.close(verdict.fd);
    this.ids.delete(result.id);
    this.inFlight--;
    this.onRecord(new BatchRecord(this, verdict, close, this.abortReason !== undefined && verdict.phase !== 'aborted'));
    this.leaveIfIdle();
  }

  private leaveIfIdle(): void {
    if (this.inFlight > 0 || this.number === 0) return;
    live.delete(this.number);
    this.number = 0;
  }

  /** The endpoint a tag names: as probe() reports a literal target. */
  private endpointOf(tag: number): Endpoint {
    const number = Math.floor(tag / PORTS);
    const text = this.addresses[number];
    const family = this.families[number];
    if (family === 0) return { path: text };
    return { host: text, address: text, port: tag % PORTS, family };
  }

  /** A record's Outcome, with the fields and key order of probe()'s. */
  outcomeOf({ result: r, close, abortedFirst }: BatchRecord): Outcome {
    const target = this.endpointOf(r.tag);
    const steps = close === undefined ? r.steps() : r.steps().concat(close.steps());
    if (abortedFirst || r.phase === 'aborted') return outcomeOfError(abortError(target, r.elapsed, steps, this.abortReason?.reason));
    if (r.posixErrno === 0) {
      const outcome: Outcome = { ok: true, exact: true, code: 'OK', errno: 0, phase: r.phase, elapsed: r.elapsed, steps, target };
      const info = r.tcpInfo();
      if (info !== undefined) outcome.tcpInfo = info;
      return outcome;
    }
    // A self-connect, or an errno with words of its own: the error says it.
    if (r.posixErrno < 0 || r.why !== undefined) return outcomeOfError(errorFromResult(r, target, steps));
    return { ok: false, exact: true, code: errnoName(r.posixErrno), errno: -r.posixErrno, phase: r.phase, elapsed: r.elapsed, steps, target };
  }
}
