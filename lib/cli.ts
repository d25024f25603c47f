// The `nbconnect` command: one connect with its trace, a tcping-style ping,
// a port scan, a wait for services to come up, and a benchmark. Exit
// status: lib/exit-codes.ts (0 connected, 2 usage, one per failure class).
import { closeSync, existsSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { ConnectAnyError } from './connect-any';
import { benchTable, runBench, targetIsLocal, writeSvg, type BenchSettings } from './cli-bench';
import { portJson, scanSummary, scanTable, stateOf, type PortResult } from './cli-scan';
import { parseStatuses, runWait, WAIT_DEFAULTS } from './cli-wait';
import { EXIT, EXIT_HELP, exitCodeOf } from './exit-codes';
import { connectSync, probe } from './connect';
import { lookupAll } from './lookup';
import { type ConnectError, UsageError } from './errors';
import { sleep } from './timers';
import { formatTrace, placeOf } from './format';
import { probeMany } from './probe-many';
import { outcomeOfConnection, outcomeOfError, outcomeOfRaceFailure } from './outcome';
import type { Confirm, ConnectOptions, Outcome, SocketOptionSetting, Target } from './types';
import { parseTarget } from './validate';
import { MODE } from './mode';

/** The plain command's deadline when --timeout is not given: never the kernel's ~127 s of SYN retries. */
export const DEFAULT_TIMEOUT = 5000;

const USAGE = `usage:
  nbconnect <target> [--timeout ms] [--wait epoll|poll|select] [--sync] [--confirm so_error|getpeername|read|reconnect]
                     [--local addr[:port]] [--syn-count n] [socket options] [--quiet] [--json] [--trace]
                     --timeout: the connect's deadline, default ${DEFAULT_TIMEOUT} ms; a failure prints one line on stderr
  nbconnect wait <target>... [--timeout ms] [--attempt-timeout ms] [--interval ms] [--reverse] [--hold ms]
                     [--status codes] [--insecure] [socket options] [--quiet] [--json] [-- command [args...]]
                     --timeout: the whole wait's deadline, default ${WAIT_DEFAULTS.timeout} ms; --attempt-timeout each attempt's,
                     default ${WAIT_DEFAULTS.attemptTimeout} ms; --interval between attempts, default ${WAIT_DEFAULTS.interval} ms; --status e.g. 200-299,404
                     (URLs, default 200-399); --hold ms a connection must stay open; then runs the command, if any
  nbconnect ping <target> [-c count] [-i interval-ms] [--timeout ms] [--wait epoll|poll|select] [socket options] [--json] [--trace]
  nbconnect scan <host> <ports> [--concurrency n] [--timeout ms] [--wait epoll|poll|select] [socket options] [--open] [--json] [--trace]
                     a row per open, filtered (ETIMEDOUT) or other (an errno) port; closed (ECONNREFUSED) ones, and over 25 of a kind, counted;
                     --open: the open ports alone; --json: a line per port {port,state,service,code,ms}
  nbconnect bench <target> [-n count] [-c concurrency] [--reps n] [--timeout ms] [--json] [--svg file] [--i-own-this-host]

  nbconnect --version

  socket options, each a setsockopt before the SYN, in this order:
    --device name   SO_BINDTODEVICE        --tos n    IP_TOS / IPV6_TCLASS     --mark n   SO_MARK
    --mptcp         IPPROTO_MPTCP socket   --mptcp-prefer  MPTCP, else plain TCP
    --sockopt [level:]name=value   any option, e.g. SOL_SOCKET:SO_PRIORITY=6, TCP_CONGESTION=reno (repeatable)

  --trace   each connect's syscall trace (the plain command prints it anyway); with --json, each whole Outcome with its steps

  <target>  host:port, [v6]:port, unix:/path or unix:@abstract (wait: also http:// and https:// URLs)   <ports>  e.g. 1-1024,8080
${EXIT_HELP}
             wait: 0 every target up, 4 the deadline passed; with -- command, the command's own status`;

/** Where the command writes; a test or an embedder may pass its own. */
export interface Io {
  out: (line: string) => void;
  err: (text: string) => void;
  /** stderr is a terminal: draw the scan's progress bar. */
  tty: boolean;
}

const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY === true,
};

const fail = (reason: string): never => {
  throw new UsageError(reason);
};

function integer(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) fail(`${name} must be an integer from ${min} to ${max}, not '${text}'`);
  return value;
}

function waitOf(text: string | undefined): ConnectOptions['wait'] {
  if (text !== undefined && text !== 'epoll' && text !== 'poll' && text !== 'select') fail(`--wait must be epoll, poll or select, not '${text}'`);
  return text as ConnectOptions['wait'];
}

function localOf(text: string | undefined): Pick<ConnectOptions, 'localAddress' | 'localPort'> {
  if (text === undefined) return {};
  const withPort = /^\[([^\]]+)\]:([0-9]+)$/.exec(text) ?? /^([^:]+):([0-9]+)$/.exec(text);
  if (withPort) return { localAddress: withPort[1], localPort: integer('--local port', withPort[2], 0, 65535) };
  return { localAddress: text.replace(/^\[|\]$/g, '') };
}

/** The version in the package.json beside the compiled files. */
function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Checks the target now, so a bad one is a usage error with a one-line reason. */
function targetOf(given: string | undefined, what = '<target>'): string {
  if (given === undefined) return fail(`missing ${what}`);
  // unix:@name is the abstract socket \0name, as ss(8) and socat write it.
  const text = given.startsWith('unix:@') ? `unix:\0${given.slice(6)}` : given;
  try {
    parseTarget(text, what);
  } catch (err) {
    fail((err as Error).message);
  }
  return text;
}

const COMMON = {
  timeout: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Each connect's step trace (formatTrace), or with --json its whole Outcome. */
const TRACE_FLAG = { trace: { type: 'boolean' } } as const;

const SOCKET_FLAGS = {
  device: { type: 'string' },
  tos: { type: 'string' },
  mark: { type: 'string' },
  mptcp: { type: 'boolean' },
  'mptcp-prefer': { type: 'boolean' },
  sockopt: { type: 'string', multiple: true },
} as const;

/**
 * '[level:]name=value' as a setsockopt entry: level and name as constant
 * names or numbers, the value an integer or else the text's bytes
 * (TCP_CONGESTION=reno). The library checks the names.
 */
function sockoptOf(text: string): SocketOptionSetting {
  const m = /^(?:([A-Za-z0-9_]+):)?([A-Za-z0-9_]+)=(.*)$/.exec(text);
  if (!m) return fail(`--sockopt takes [level:]name=value, e.g. SOL_SOCKET:SO_PRIORITY=6, not '${text}'`);
  const constant = (t: string) => (/^[0-9]+$/.test(t) ? Number(t) : t);
  const value = /^-?[0-9]+$/.test(m[3]) ? Number(m[3]) : Buffer.from(m[3]);
  const setting = { name: constant(m[2]), value } as SocketOptionSetting;
  return m[1] === undefined ? setting : { ...setting, level: constant(m[1]) as SocketOptionSetting['level'] };
}

/**
 * The socket options the flags ask for, in the order the flags were
 * given: the library sets them in its options object's order.
 */
function socketOptionsOf(argv: string[], values: Values): ConnectOptions {
  const out: ConnectOptions = {};
  const sockopts = ((values.sockopt as unknown as string[] | undefined) ?? []).map(sockoptOf);
  for (const arg of argv) {
    const flag = /^--([a-z-]+)/.exec(arg)?.[1];
    if (flag === 'device' && !('bindToDevice' in out)) out.bindToDevice = values.device as string;
    else if (flag === 'tos' && !('tos' in out)) out.tos = integer('--tos', values.tos as string, 0, 255);
    else if (flag === 'mark' && !('mark' in out)) out.mark = integer('--mark', values.mark as string, 0, 2 ** 32 - 1);
    else if (flag === 'sockopt' && !('setsockopt' in out)) out.setsockopt = sockopts;
  }
  if (values.mptcp && values['mptcp-prefer']) fail('--mptcp and --mptcp-prefer: give one');
  if (values.mptcp) out.mptcp = true;
  if (values['mptcp-prefer']) out.mptcp = 'prefer';
  return out;
}

/** Runs the command line; resolves with the exit status. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      io.out(version());
      return 0;
    }
    if (argv[0] === 'ping') return await ping(argv.slice(1), io);
    if (argv[0] === 'scan') return await scan(argv.slice(1), io);
    if (argv[0] === 'bench') return await bench(argv.slice(1), io);
    if (argv[0] === 'wait') return await wait(argv.slice(1), io);
    return await connectOnce(argv, io);
  } catch (err) {
    // parseArgs' own errors (ERR_PARSE_ARGS_*) are TypeErrors too.
    if (err instanceof UsageError || err instanceof TypeError || err instanceof RangeError) {
      io.err(`nbconnect: ${err.message.replace(/\s*\n\s*/g, ' ')}\n${USAGE}\n`);
      return EXIT.usage;
    }
    // A flag only the exact engine honours, in the portable mode: a usage error, said plainly.
    if ((err as { code?: unknown }).code === 'ERR_NBCONNECT_NOT_EXACT') {
      io.err(`nbconnect: ${(err as Error).message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: ParseArgsConfig['options']): { values: Values; positionals: string[] } {
  const { values, positionals } = parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  return { values: values, positionals };
}

async function connectOnce(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    sync: { type: 'boolean' },
    confirm: { type: 'string' },
    local: { type: 'string' },
    'syn-count': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    // The trace is this command's output already: accepted so that --trace
    // means the same on every command that connects.
    ...TRACE_FLAG,
    ...SOCKET_FLAGS,
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 1) fail(`one <target>, not ${positionals.length}: ${positionals.join(' ')}`);
  const target = targetOf(positionals[0]);
  const options: ConnectOptions = {
    timeout: integer('--timeout', values.timeout as string | undefined, 0, 2 ** 31 - 1) ?? DEFAULT_TIMEOUT,
    wait: waitOf(values.wait as string | undefined),
    confirm: values.confirm as Confirm | undefined,
    synCount: integer('--syn-count', values['syn-count'] as string | undefined, 1, 127),
    ...localOf(values.local as string | undefined),
    ...socketOptionsOf(argv, values),
  };
  let outcome: Outcome;
  if (values.sync) {
    try {
      const connection = connectSync(target, options);
      connection.close();
      outcome = outcomeOfConnection(connection);
    } catch (err) {
      outcome = failedSync(err, target);
    }
  } else outcome = await probe(target, options);
  if (values.quiet) return exitCodeOf(outcome);
  io.out(values.json ? JSON.stringify(outcome) : formatTrace(outcome));
  // The trace stays on stdout; a health check's log gets the reason on stderr.
  if (!outcome.ok)
    io.err(`nbconnect: ${outcome.code} ${placeOf(outcome.target)}${outcome.phase === 'timeout' ? ` (no verdict within ${options.timeout} ms)` : ''}\n`);
  return exitCodeOf(outcome);
}

/** What connectSync threw, as the Outcome probe would have resolved with. */
function failedSync(err: unknown, target: Target): Outcome {
  if (err instanceof AggregateError) {
    const { attempts } = err as ConnectAnyError;
    const started = attempts.filter((a) => a.startedAt !== undefined);
    const last = started[started.length - 1];
    const { host, port } = parseTarget(target, '<target>') as { host: string; port: number };
    return outcomeOfRaceFailure(err as ConnectAnyError, { host, port }, last ? last.startedAt! + last.error!.elapsed : 0);
  }
  if ((err as ConnectError).steps === undefined) throw err;
  return outcomeOfError(err as ConnectError);
}

async function ping(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    count: { type: 'string', short: 'c' },
    interval: { type: 'string', short: 'i' },
    ...TRACE_FLAG,
    ...SOCKET_FLAGS,
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 1) fail(`one <target>, not ${positionals.length}: ${positionals.join(' ')}`);
  const target = targetOf(positionals[0]);
  const count = integer('-c', values.count as string | undefined, 1, 1_000_000) ?? 4;
  const interval = integer('-i', values.interval as string | undefined, 0, 3_600_000) ?? 1000;
  const options: ConnectOptions = {
    timeout: integer('--timeout', values.timeout as string | undefined, 0, 2 ** 31 - 1) ?? 2000,
    wait: waitOf(values.wait as string | undefined),
    ...socketOptionsOf(argv, values),
  };

  // Ctrl-C ends the run early, with the summary, as ping does.
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  const times: number[] = [];
  // The kernel's own RTT of each handshake (TCP_INFO's tcpi_rtt), free of
  // event-loop delay; none for AF_UNIX.
  const kernelTimes: number[] = [];
  let sent = 0;
  let where = String(target);
  let lastFailure: Outcome | undefined;
  try {
    for (let seq = 1; seq <= count && !stop.signal.aborted; seq++) {
      const outcome = await probe(target, { ...options, signal: stop.signal });
      if (outcome.code === 'ABORT_ERR') break;
      sent++;
      where = placeOf(outcome.target);
      if (values.json) io.out(JSON.stringify({ seq, ...outcome }));
      else if (outcome.ok) {
        const rtt = outcome.tcpInfo ? ` kernel rtt=${(outcome.tcpInfo.rtt / 1000).toFixed(3)} ms` : '';
        io.out(`connected to ${where}: seq=${seq} time=${outcome.elapsed.toFixed(3)} ms${rtt}`);
      } else io.out(`${outcome.code} from ${where}: seq=${seq} time=${outcome.elapsed.toFixed(3)} ms (${outcome.phase})`);
      if (values.trace && !values.json) io.out(formatTrace(outcome));
      if (outcome.ok) times.push(outcome.elapsed);
      else lastFailure = outcome;
      if (outcome.tcpInfo) kernelTimes.push(outcome.tcpInfo.rtt / 1000);
      if (seq < count) await sleep(interval, stop.signal);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  if (!values.json) {
    const lost = sent - times.length;
    io.out(`--- ${where} nbconnect ping statistics ---`);
    io.out(`${sent} connects, ${times.length} connected, ${lost} failed, ${sent ? ((100 * lost) / sent).toFixed(1) : '0.0'}% loss`);
    const summary = (label: string, xs: number[]) => {
      if (xs.length === 0) return;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const mdev = Math.sqrt(xs.reduce((a, b) => a + b * b, 0) / xs.length - mean * mean);
      const f = (x: number) => x.toFixed(3);
      io.out(`${label} min/avg/max/mdev = ${f(Math.min(...xs))}/${f(mean)}/${f(Math.max(...xs))}/${f(Number.isNaN(mdev) ? 0 : mdev)} ms`);
    };
    summary('handshake', times);
    summary('kernel rtt', kernelTimes);
  }
  // None connected: the class of the last failure, as the plain command exits.
  if (times.length > 0) return EXIT.ok;
  return lastFailure ? exitCodeOf(lastFailure) : EXIT.failed;
}

/** '1-1024,8080' as a bitmap: bounded whatever the text, duplicates once. */
export function parsePorts(text: string): Uint8Array {
  const ports = new Uint8Array(65536);
  for (const part of text.split(',')) {
    const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(part.trim());
    if (!m) fail(`<ports> takes numbers and ranges like 1-1024,8080, not '${part}'`);
    const lo = Number(m![1]);
    const hi = m![2] === undefined ? lo : Number(m![2]);
    if (lo < 1 || hi > 65535 || lo > hi) fail(`port range '${part}' must lie within 1-65535, low to high`);
    ports.fill(1, lo, hi + 1);
  }
  return ports;
}

async function scan(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { concurrency: { type: 'string' }, open: { type: 'boolean' }, ...TRACE_FLAG, ...SOCKET_FLAGS });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length !== 2) fail(`scan takes <host> <ports>, not: ${positionals.join(' ') || '(nothing)'}`);
  const [host, portText] = positionals;
  const parsed = (() => {
    try {
      return parseTarget({ host, port: 0 }, '<host>');
    } catch (err) {
      return fail((err as Error).message);
    }
  })();
  if (parsed.kind === 'unix') fail('scan takes a host, not a path');
  const ports = parsePorts(portText);
  const total = ports.reduce((a, b) => a + b, 0);
  const concurrency = integer('--concurrency', values.concurrency as string | undefined, 1, 65536) ?? 256;
  const options: ConnectOptions = {
    timeout: integer('--timeout', values.timeout as string | undefined, 0, 2 ** 31 - 1) ?? 1000,
    wait: waitOf(values.wait as string | undefined),
    // An RST per open port: a scan leaves no TIME_WAIT behind (the exact
    // engine's SO_LINGER before the SYN; the portable mode cannot set it).
    ...(MODE === 'exact' && { linger0: true }),
    ...socketOptionsOf(argv, values),
  };

  // One lookup for the whole scan, not one per port.
  const started = performance.now();
  let address = parsed.kind === 'ip' ? parsed.address : '';
  if (parsed.kind === 'name') {
    try {
      [{ address }] = await lookupAll(parsed.host, 0, 0, options.timeout, undefined, started);
    } catch (err) {
      io.err(`nbconnect: ${(err as Error).message}\n`);
      return EXIT.notResolved;
    }
  }
  function* targets(): Generator<Target> {
    for (let port = 1; port < 65536; port++) if (ports[port]) yield { host: address, port };
  }

  const onlyOpen = values.open === true;
  const results: PortResult[] = [];
  let open = 0;
  let done = 0;
  let drawn = 0;
  const draw = (force = false) => {
    const now = performance.now();
    if (!io.tty || (!force && now - drawn < 100)) return;
    drawn = now;
    const width = 30;
    const filled = Math.round((width * done) / total);
    io.err(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} open ${open}`);
  };
  for await (const outcome of probeMany(targets(), { ...options, concurrency })) {
    done++;
    const result: PortResult = { port: (outcome.target as { port: number }).port, state: stateOf(outcome.code), code: outcome.code, ms: outcome.elapsed };
    results.push(result);
    if (result.state === 'open') open++;
    // Each port as it completes, so a reader of the stream (| head, jq) sees it at once.
    if (!onlyOpen || result.state === 'open') {
      if (values.json) io.out(values.trace ? JSON.stringify(outcome) : portJson(result));
      else if (values.trace) io.out(`${placeOf(outcome.target)}\n${formatTrace(outcome)}`);
    }
    draw();
  }
  if (io.tty) {
    draw(true);
    io.err('\n');
  }
  if (values.json) return 0;
  const took = performance.now() - started;
  for (const line of scanTable(results, onlyOpen)) io.out(line);
  io.out(scanSummary(total, `${address}${address !== host ? ` (${host})` : ''}`, took, results));
  return 0;
}

/** Why `file` cannot be written (an errno code), or undefined; leaves an existing file as it was. */
function cannotWrite(file: string): string | undefined {
  const existed = existsSync(file);
  try {
    closeSync(openSync(file, 'a'));
    if (!existed) unlinkSync(file);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

async function bench(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    count: { type: 'string', short: 'n' },
    concurrency: { type: 'string', short: 'c' },
    reps: { type: 'string' },
    svg: { type: 'string' },
    'i-own-this-host': { type: 'boolean' },
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 1) fail(`one <target>, not ${positionals.length}: ${positionals.join(' ')}`);
  const target = targetOf(positionals[0]);
  if (values.wait !== undefined) fail('bench runs every wait; --wait does not apply');
  const settings: BenchSettings = {
    target,
    count: integer('-n', values.count as string | undefined, 1, 100_000) ?? 1000,
    concurrency: integer('-c', values.concurrency as string | undefined, 1, 4096) ?? 64,
    reps: integer('--reps', values.reps as string | undefined, 1, 20) ?? 3,
    timeout: integer('--timeout', values.timeout as string | undefined, 1, 60_000) ?? 2000,
    budgetMs: 120_000,
  };
  let local: boolean;
  try {
    local = await targetIsLocal(parseTarget(target));
  } catch (err) {
    io.err(`nbconnect: ${(err as Error).message}\n`);
    return 1;
  }
  if (!local && !values['i-own-this-host'])
    fail(`${target} is not this machine (loopback or a unix path); a benchmark is a burst of connects, so say --i-own-this-host if it is yours`);
  // The chart's path is checked before the run, without truncating a chart
  // already there: a path that cannot be written costs one line now, not
  // the whole run. A write that fails anyway (a full disk) loses the chart,
  // never the report.
  const svg = values.svg as string | undefined;
  const unwritable = svg === undefined ? undefined : cannotWrite(svg);
  if (unwritable !== undefined) {
    io.err(`nbconnect: --svg ${svg}: ${unwritable}, cannot write the chart there\n`);
    return EXIT.usage;
  }
  const report = await runBench(settings);
  let chartFailure: string | undefined;
  if (svg !== undefined) {
    try {
      writeSvg(svg, report);
    } catch (err) {
      chartFailure = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
  }
  if (values.json) {
    io.out(JSON.stringify(report));
  } else {
    io.out(
      `nbconnect bench ${target}: ${settings.count} connects per run, ${settings.concurrency} in flight when concurrent, ${settings.reps} repetitions, RST close`,
    );
    io.out(benchTable(report));
    if (report.truncated) io.out(`stopped at the ${settings.budgetMs / 1000} s cap: some runs made fewer connects`);
    io.out(`took ${report.seconds.toFixed(1)} s${svg !== undefined && chartFailure === undefined ? `; chart: ${svg}` : ''}`);
  }
  if (chartFailure !== undefined) {
    io.err(`nbconnect: --svg ${svg}: ${chartFailure}, the chart was not written (the report stands)\n`);
    return EXIT.failed;
  }
  return report.rows.some((r) => r.metric === 'failed' && r.median > 0) ? EXIT.failed : EXIT.ok;
}

async function wait(argv: string[], io: Io): Promise<number> {
  // Everything after the first '--' is the command to run, untouched.
  const dashes = argv.indexOf('--');
  const own = dashes === -1 ? argv : argv.slice(0, dashes);
  const command = dashes === -1 ? undefined : argv.slice(dashes + 1);
  const { values, positionals } = parse(own, {
    'attempt-timeout': { type: 'string' },
    interval: { type: 'string' },
    reverse: { type: 'boolean' },
    hold: { type: 'string' },
    status: { type: 'string' },
    insecure: { type: 'boolean', short: 'k' },
    quiet: { type: 'boolean', short: 'q' },
    ...SOCKET_FLAGS,
  });
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length === 0) fail('wait takes at least one <target>');
  if (command !== undefined && command.length === 0) fail("'--' must be followed by a command");
  if (values.json && values.quiet) fail('--json and --quiet: give one');
  const statusText = values.status as string | undefined;
  const status = statusText === undefined ? undefined : parseStatuses(statusText);
  if (status === undefined && statusText !== undefined) fail(`--status takes codes and ranges like 200-299,404, not '${statusText}'`);
  const options = {
    timeout: integer('--timeout', values.timeout as string | undefined, 0, 2 ** 31 - 1),
    attemptTimeout: integer('--attempt-timeout', values['attempt-timeout'] as string | undefined, 1, 2 ** 31 - 1),
    interval: integer('--interval', values.interval as string | undefined, 0, 2 ** 31 - 1),
    hold: integer('--hold', values.hold as string | undefined, 0, 2 ** 31 - 1),
    reverse: values.reverse === true,
    status,
    rejectUnauthorized: values.insecure !== true,
    wait: waitOf(values.wait as string | undefined),
    ...socketOptionsOf(own, values),
  };
  // Absent flags are absent options, so waitFor's defaults apply.
  for (const key of Object.keys(options) as (keyof typeof options)[]) if (options[key] === undefined) delete options[key];
  return runWait({ targets: positionals, options, quiet: values.quiet === true, json: values.json === true, command }, io);
}
