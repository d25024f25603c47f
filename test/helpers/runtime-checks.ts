// The checks test/66-runtimes runs inside another runtime (Bun, Deno, a
// Node line from npm): each with default options unless it names a wait.
// argv: the package root to require, then the targets as JSON (made by the
// mocha process, so Deno needs no --allow-net). Prints one JSON line:
// the runtime, and per check its verdict and what it measured. Every check
// is bounded: the promise races a guard timer, so a hang is a failed check,
// not a stuck run.
import type * as Nbconnect from '../../dist/lib';

interface Targets {
  port: number;
  refusedPort: number;
  blackHole: { host: string; port: number };
  unixPath: string;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  elapsed?: number;
}

const [root, targetsJson] = process.argv.slice(2);
// A path chosen at run time: only require() can load it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nb = require(root) as typeof Nbconnect;
const targets = JSON.parse(targetsJson) as Targets;
const listener = `127.0.0.1:${targets.port}`;
const hole = `${targets.blackHole.host}:${targets.blackHole.port}`;

// Open fds, counted by asking the kernel about each number (fcntl F_GETFL
// answers EBADF for a closed one): Deno grants /proc/self/fd only to
// --allow-all, and the runtimes' own fds all sit below 4096 here.
function fdCount(): number {
  let open = 0;
  for (let fd = 0; fd < 4096; fd++) if (nb.raw.getFlags(fd).code !== 'EBADF') open++;
  return open;
}

const GUARD_MS = 10000;
function guarded<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no verdict after ${GUARD_MS} ms`)), GUARD_MS);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

const codeOf = (error: unknown) => (error as { code?: string }).code ?? String(error);

async function failsWith(promise: Promise<unknown>, code: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const connection = await guarded(promise);
    (connection as Nbconnect.Connection).close();
    return { ok: false, detail: `connected, expected ${code}` };
  } catch (error) {
    return { ok: codeOf(error) === code, detail: codeOf(error) };
  }
}

async function connects(promise: Promise<Nbconnect.Connection>): Promise<{ ok: boolean; detail: string }> {
  try {
    const connection = await guarded(promise);
    const fd = connection.fd;
    connection.close();
    return { ok: fd >= 0, detail: `fd ${fd}` };
  } catch (error) {
    return { ok: false, detail: codeOf(error) };
  }
}

function connectsSync(run: () => Nbconnect.Connection): { ok: boolean; detail: string } {
  try {
    const connection = run();
    const fd = connection.fd;
    connection.close();
    return { ok: fd >= 0, detail: `fd ${fd}` };
  } catch (error) {
    return { ok: false, detail: codeOf(error) };
  }
}

const hostHasLibuv = process.versions.bun === undefined && (globalThis as { Deno?: unknown }).Deno === undefined;

const checks: Array<[string, () => Promise<{ ok: boolean; detail: string }> | { ok: boolean; detail: string }]> = [
  ['connect to a loopback listener', () => connects(nb.connect(listener))],
  ['connect to a unix path', () => connects(nb.connect(`unix:${targets.unixPath}`))],
  ['ECONNREFUSED', () => failsWith(nb.connect(`127.0.0.1:${targets.refusedPort}`), 'ECONNREFUSED')],
  ['300 ms deadline to a black hole', () => failsWith(nb.connect(hole, { timeout: 300 }), 'ETIMEDOUT')],
  [
    'AbortSignal ends a pending connect',
    () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      return failsWith(nb.connect(hole, { signal: controller.signal }), 'ABORT_ERR');
    },
  ],
  [
    '200 concurrent connects settle once, fds back to baseline',
    async () => {
      // The same burst once before the count: a runtime may make fds of its
      // own the first time. Deno 2.9 opens a pair of sockets (consecutive
      // inodes, not TCP: no connect of ours makes them) during its first
      // burst of 200 and keeps them, the same two however many bursts
      // follow; counted from before that burst they read as a leak.
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          nb.connect(i % 2 === 0 ? listener : hole, i % 2 === 0 ? {} : { timeout: 300 }).then(
            (connection) => connection.close(),
            () => undefined,
          ),
        ),
      );
      // That burst's deadlines settled before their sockets' close, which
      // the epoll engine makes in the turns right after (64 a turn).
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      const baseline = fdCount();
      let settled = 0;
      const all = Array.from({ length: 200 }, (_, i) =>
        nb.connect(i % 2 === 0 ? listener : hole, i % 2 === 0 ? {} : { timeout: 300 }).then(
          (connection) => {
            settled++;
            connection.close();
            return 'connected';
          },
          (error: unknown) => {
            settled++;
            return codeOf(error);
          },
        ),
      );
      const verdicts = await guarded(Promise.all(all));
      const tally: Record<string, number> = {};
      for (const v of verdicts) tally[v] = (tally[v] ?? 0) + 1;
      const connected = tally.connected ?? 0;
      const timedOut = tally.ETIMEDOUT ?? 0;
      let after = fdCount();
      for (let i = 0; i < 50 && after !== baseline; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        after = fdCount();
      }
      return {
        ok: settled === 200 && connected === 100 && timedOut === 100 && after === baseline,
        detail: `${settled} settled ${JSON.stringify(tally)}, fds ${baseline} -> ${after}`,
      };
    },
  ],
  ['connectSync', () => connectsSync(() => nb.connectSync(listener, { timeout: 2000 }))],
  ['probe', async () => ({ ok: (await guarded(nb.probe(listener))).ok, detail: 'ok' })],
  ...(['poll', 'select'] as const).map((wait): [string, () => Promise<{ ok: boolean; detail: string }>] => [
    `wait: '${wait}'`,
    () => connects(nb.connect(listener, { wait })),
  ]),
  [
    "wait: 'epoll'",
    async () => {
      if (hostHasLibuv) return connects(nb.connect(listener, { wait: 'epoll' }));
      try {
        (await nb.connect(listener, { wait: 'epoll' })).close();
        return { ok: false, detail: 'connected without the libuv loop the engine needs' };
      } catch (error) {
        return { ok: codeOf(error) === 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', detail: `${codeOf(error)}: ${(error as Error).message}` };
      }
    },
  ],
  ...(['epoll', 'poll', 'select'] as const).map((wait): [string, () => { ok: boolean; detail: string }] => [
    `connectSync, wait: '${wait}'`,
    () => connectsSync(() => nb.connectSync(listener, { wait, timeout: 2000 })),
  ]),
  [
    'the raw steps',
    () => {
      const fd = nb.raw.socket(4).ret;
      nb.raw.setNonblocking(fd, nb.raw.getFlags(fd).ret);
      const started = nb.raw.connect(fd, listener);
      const polled = nb.raw.poll([{ fd, events: ['POLLOUT'] }], 2000);
      const soError = nb.raw.getSoError(fd);
      const peer = nb.raw.getpeername(fd);
      nb.raw.close(fd);
      const ok = (started.ret === 0 || started.code === 'EINPROGRESS') && polled.ret === 1 && soError.value === 0 && peer.port === targets.port;
      return { ok, detail: `connect ${started.code ?? started.ret}, poll ${polled.ret}, SO_ERROR ${soError.value}` };
    },
  ],
  [
    'probeMany',
    async () => {
      const seen: string[] = [];
      for await (const outcome of nb.probeMany([listener, `127.0.0.1:${targets.refusedPort}`])) seen.push(outcome.code);
      seen.sort();
      return { ok: seen.join() === 'ECONNREFUSED,OK', detail: seen.join() };
    },
  ],
];

async function main(): Promise<void> {
  const results: CheckResult[] = [];
  for (const [name, run] of checks) {
    const startedAt = performance.now();
    try {
      const { ok, detail } = await run();
      results.push({ name, ok, detail, elapsed: performance.now() - startedAt });
    } catch (error) {
      results.push({ name, ok: false, detail: String(error), elapsed: performance.now() - startedAt });
    }
  }
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  const runtime = process.versions.bun ? `Bun ${process.versions.bun}` : deno ? `Deno ${deno.version.deno}` : `Node ${process.versions.node}`;
  process.stdout.write(`${JSON.stringify({ runtime, arch: process.arch, results })}\n`);
}

void main();
