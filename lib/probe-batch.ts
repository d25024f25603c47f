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
import type { Endpoint, Outcome } from './types';
import { literalEndpointAt, type ParsedTarget, type Prepared } from './validate';
import { pack, packTarget, SEQUEL, TARGET_SLOTS, waitName, type Result } from './wire';

// A tag is the batch's number for the address and the port: exact in a
// double while fewer than 2^37 addresses were numbered.
const PORTS = 65536;

/** A finished target: its verdict, and the steps of a close that came after it. */
export class BatchRecord {
  constructor(
    readonly batch: ProbeBatch,
    /** Where it went: a path, or an address and port (family 4 or 6). */
    readonly address: string,
    readonly family: 0 | 4 | 6,
    readonly port: number,
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

/** An address (or path) with attempts out: a scan of many hosts keeps only those. */
interface AddressEntry {
  text: string;
  family: 0 | 4 | 6;
  attempts: number;
}

// Targets of one family pulled and not yet handed over, with the options
// as checked for that kind of target.
type Staged = { prepared: Prepared; addresses: number[]; ports: number[] };

export class ProbeBatch {
  private number = 0;
  /** Targets taken whose last result has not come. */
  inFlight = 0;
  private readonly ids = new Set<number>();
  // A deadline's or a cancel's verdict, until its close's steps come.
  private readonly closing = new Map<number, { verdict: Result; abortedFirst: boolean }>();
  // The addresses with attempts out, numbered in the order first seen (a
  // tag names one); looked up by family, since a unix path may spell what
  // is also an IP address. An address leaves once its last attempt is back.
  private readonly addresses = new Map<number, AddressEntry>();
  private readonly addressNumber = { 0: new Map<string, number>(), 4: new Map<string, number>(), 6: new Map<string, number>() };
  private nextAddress = 0;
  // By family (0 for a unix path).
  private readonly staged = new Map<0 | 4 | 6, Staged>();
  private abortReason: { reason: unknown } | undefined;
  private wait = -1;

  constructor(
    private readonly client: number,
    /** Each finished target, in the order they finish. */
    private readonly onRecord: (record: BatchRecord | Outcome) => void,
  ) {}

  /** A literal target, started at the next flush(), with the options as probe() checked them for its kind. */
  add(target: Extract<ParsedTarget, { kind: 'ip' | 'unix' }>, prepared: Prepared): void {
    const family = target.kind === 'unix' ? 0 : target.family;
    this.wait = prepared.socket.wait;
    const text = target.kind === 'unix' ? target.path : target.address;
    const numbers = this.addressNumber[family];
    let number = numbers.get(text);
    if (number === undefined) {
      number = this.nextAddress++;
      numbers.set(text, number);
      this.addresses.set(number, { text, family, attempts: 0 });
    }
    this.addresses.get(number)!.attempts++;
    let staged = this.staged.get(family);
    if (staged === undefined) this.staged.set(family, (staged = { prepared, addresses: [], ports: [] }));
    staged.addresses.push(number);
    staged.ports.push(target.kind === 'unix' ? 0 : target.port);
    this.inFlight++;
  }

  /** Hands every staged target to the native side: one call per family. */
  flush(): void {
    if (this.staged.size === 0) return;
    const all = [...this.staged];
    this.staged.clear();
    let failed: { error: unknown } | undefined;
    for (const [family, staged] of all) {
      try {
        this.start(family, staged);
      } catch (error) {
        failed ??= { error };
      }
    }
    if (failed) throw failed.error;
  }

  private start(family: 0 | 4 | 6, { prepared, addresses, ports }: Staged): void {
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
        index = callAddresses.push(this.addresses.get(addresses[i])!.text) - 1;
        callIndex.set(addresses[i], index);
      }
      packTarget(targets, i, index, ports[i], addresses[i] * PORTS + ports[i]);
    }
    const { socket, timeout } = prepared;
    let id: ReturnType<typeof addon.probeStart>;
    try {
      id = addon.probeStart(
        pack(socket, this.endpointOf(addresses[0], ports[0]), timeout ?? -1, this.client),
        callAddresses,
        targets,
        socket.localAddress,
        socket.extra?.[family],
        this.number,
      );
    } catch (error) {
      // The native side disagreed with lib/ (a bug): none was started.
      for (let i = 0; i < ports.length; i++) this.back(addresses[i]);
      throw error;
    }
    if (typeof id !== 'number') {
      // Nothing was started: each target gets the Outcome probe() gives then.
      for (let i = 0; i < ports.length; i++) {
        const where = this.endpointOf(addresses[i], ports[i]);
        this.back(addresses[i]);
        this.onRecord(outcomeOfError(startFailed(where, id.errno, id.syscall, waitName(socket.wait))));
      }
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
      // waits for the close's steps, as probe()'s does; whether an abort
      // came first is decided now, at the verdict, as probe() decides it.
      this.closing.set(result.id, { verdict: result, abortedFirst: this.abortedBefore(result) });
      return;
    }
    let verdict = result;
    let close: Result | undefined;
    let abortedFirst: boolean;
    if (result.sequel === SEQUEL.steps) {
      const settled = this.closing.get(result.id)!;
      this.closing.delete(result.id);
      ({ verdict, abortedFirst } = settled);
      close = result;
    } else {
      abortedFirst = this.abortedBefore(result);
    }
    // A probe's socket is closed by the native side; one that was not is
    // closed here, never lost.
    if (verdict.fd >= 0) addon.close(verdict.fd);
    this.ids.delete(result.id);
    const number = Math.floor(verdict.tag / PORTS);
    const { text, family } = this.addresses.get(number)!;
    this.back(number);
    this.onRecord(new BatchRecord(this, text, family, verdict.tag % PORTS, verdict, close, abortedFirst));
  }

  private abortedBefore(verdict: Result): boolean {
    return this.abortReason !== undefined && verdict.phase !== 'aborted';
  }

  /** A target is back (its last result came, or it never started): its address may go, and the batch too. */
  private back(number: number): void {
    const entry = this.addresses.get(number)!;
    if (--entry.attempts === 0) {
      this.addresses.delete(number);
      this.addressNumber[entry.family].delete(entry.text);
    }
    if (--this.inFlight > 0 || this.number === 0) return;
    live.delete(this.number);
    this.number = 0;
  }

  private endpointOf(number: number, port: number): Endpoint {
    const { text, family } = this.addresses.get(number)!;
    return literalEndpointAt(text, family, port);
  }

  /** A record's Outcome, with the fields and key order of probe()'s. */
  outcomeOf({ address, family, port, result: r, close, abortedFirst }: BatchRecord): Outcome {
    const target = literalEndpointAt(address, family, port);
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
