// Every program in the README runs as a user would copy it: each ```js block
// with node, each ```ts block type-checked by tsc (strict) and then run,
// from a scratch project whose node_modules holds this package. Where an
// output block follows a program, the program prints those lines (numbers
// aside: ports, times and fds differ from run to run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** The README's fenced blocks in order: { lang, body, line, output? }. */
function snippets() {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
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
    .map((l) => l.trimEnd().replace(/[0-9]+(\.[0-9]+)?/g, '#'));

describe('the README', function () {
  this.timeout(120000);
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nbconnect-readme-'));
    fs.mkdirSync(path.join(scratch, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(scratch, 'node_modules', 'nbconnect'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'undici'), path.join(scratch, 'node_modules', 'undici'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  const list = snippets();
  it('has programs to run, a TypeScript one among them', () => {
    assert.ok(list.filter((s) => s.lang === 'js').length >= 5);
    assert.ok(list.some((s) => s.lang === 'ts'));
  });

  for (const snippet of list) {
    it(`the ${snippet.lang} program at line ${snippet.line} runs${snippet.output ? ' and prints what the README shows' : ''}`, () => {
      let file = path.join(scratch, `line-${snippet.line}.js`);
      fs.writeFileSync(file, snippet.lang === 'js' ? snippet.body : '');
      if (snippet.lang === 'ts') {
        const source = path.join(scratch, `line-${snippet.line}.mts`);
        fs.writeFileSync(source, snippet.body);
        const config = path.join(scratch, `tsconfig-${snippet.line}.json`);
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
        file = path.join(scratch, 'out', `line-${snippet.line}.mjs`);
      }
      const run = spawnSync(process.execPath, [file], { cwd: scratch, encoding: 'utf8', timeout: 30000 });
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      if (snippet.output !== undefined) assert.deepEqual(normalize(run.stdout), normalize(snippet.output));
    });
  }
});
