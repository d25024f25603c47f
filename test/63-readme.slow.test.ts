// Every program in the README and in docs/*.md runs as a user would copy it:
// each ```js block with node, each ```ts block type-checked by tsc (strict)
// and then run, from a scratch project whose node_modules holds this
// package. Where an output block follows a program, the program prints
// those lines (numbers aside: ports, times and fds differ from run to run).
// The README stays a front door (at most 300 lines), and the command's usage
// quoted in docs/command.md is what `nbconnect --help` prints.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Where programs are: the README, then every page of docs/. */
const PAGES = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** A page's fenced blocks in order: { lang, body, line, output? }. */
function snippets(page: string) {
  const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
  const fence = /^```(\w*)\n([\s\S]*?)^```\n/gm;
  const blocks: { lang: string; body: string; start: number; end: number }[] = [];
  for (let m; (m = fence.exec(text));) blocks.push({ lang: m[1], body: m[2], start: m.index, end: fence.lastIndex });
  const programs: { lang: string; body: string; line: number; output: string | undefined }[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'js' && b.lang !== 'ts') return;
    const next = blocks[i + 1];
    // An output block follows at once, or after one short line ("prints").
    const between = next ? text.slice(b.end, next.start).trim() : '';
    const output = next && next.lang === '' && between.split('\n').filter(Boolean).length <= 1 ? next.body : undefined;
    programs.push({ lang: b.lang, body: b.body, line: text.slice(0, b.start).split('\n').length, output });
  });
  return programs;
}

const normalize = (out: string) =>
  out
    .trimEnd()
    .split('\n')
    // A trace right-aligns its milliseconds: a slower build (a sanitizer's)
    // widens the column, so the padding before a leading figure is not content.
    .map((l) =>
      l
        .trimEnd()
        .replace(/^ +(?=[0-9])/, '')
        .replace(/[0-9]+(\.[0-9]+)?/g, '#'),
    );

describe('the README and docs/', function () {
  this.timeout(120000);
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-readme-'));
    fs.mkdirSync(path.join(scratch, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(scratch, 'node_modules', 'nbconnect'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'undici'), path.join(scratch, 'node_modules', 'undici'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('the README is a front door: at most 300 lines, with programs to run', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.split('\n').length <= 300, `README.md has ${readme.split('\n').length} lines`);
    assert.ok(snippets('README.md').filter((s) => s.lang === 'js' && s.output !== undefined).length >= 5);
  });

  it('docs/ has programs to run, a TypeScript one among them', () => {
    const list = PAGES.filter((p) => p !== 'README.md').flatMap((p) => snippets(p));
    assert.ok(list.filter((s) => s.lang === 'js' && s.output !== undefined).length >= 5);
    assert.ok(list.some((s) => s.lang === 'ts'));
  });

  it("docs/command.md quotes the command's usage as `nbconnect --help` prints it", () => {
    const page = fs.readFileSync(path.join(ROOT, 'docs', 'command.md'), 'utf8');
    const quoted = /`nbconnect --help` prints:\n\n```\n([\s\S]*?)```\n/.exec(page);
    assert.ok(quoted, 'docs/command.md quotes the usage');
    const help = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'nbconnect.js'), '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.equal(quoted[1], help.stdout);
  });

  for (const page of PAGES)
    for (const snippet of snippets(page)) {
      const name = `${page.replace(/\W/g, '-')}-${snippet.line}`;
      it(`${page}: the ${snippet.lang} program at line ${snippet.line} runs${snippet.output ? ' and prints what the page shows' : ''}`, () => {
        let file = path.join(scratch, `${name}.js`);
        fs.writeFileSync(file, snippet.lang === 'js' ? snippet.body : '');
        if (snippet.lang === 'ts') {
          const source = path.join(scratch, `${name}.mts`);
          fs.writeFileSync(source, snippet.body);
          const config = path.join(scratch, `tsconfig-${name}.json`);
          fs.writeFileSync(
            config,
            JSON.stringify({
              compilerOptions: {
                module: 'nodenext',
                moduleResolution: 'nodenext',
                target: 'ES2022',
                strict: true,
                types: ['node'],
                typeRoots: [path.join(ROOT, 'node_modules', '@types')],
                outDir: path.join(scratch, 'out'),
              },
              files: [source],
            }),
          );
          const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { encoding: 'utf8' });
          assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
          file = path.join(scratch, 'out', `${name}.mjs`);
        }
        const run = spawnSync(process.execPath, [file], { cwd: scratch, encoding: 'utf8', timeout: 30000 });
        assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
        if (snippet.output !== undefined) assert.deepEqual(normalize(run.stdout), normalize(snippet.output));
      });
    }
});
