#!/usr/bin/env node
// npm run lint: fails on an import circle among lib/'s modules. In a circle
// one module is evaluated before another it needs has finished loading, so
// a binding it reads at load is still undefined; and a circle hides which
// layer sits beneath which. The graph is read with the TypeScript compiler
// nbconnect already builds with (no new dependency), from each file's own
// import and export-from declarations. Type-only ones (`import type`, or
// every name marked `type`) are left out: the compiler erases them, so they
// load nothing and cannot make a circle at run time.
//   node scripts/check-imports.js [dir]   (default lib)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'lib'));

/** Every .ts file under `dir` (not .d.ts), as paths relative to `root`. */
function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path.relative(root, full)] : [];
  });
}

/** True when the declaration brings in no value: the compiler drops it. */
function typeOnly(node) {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause;
    if (clause === undefined) return false; // import './x': run for its effects
    if (clause.isTypeOnly) return true;
    if (clause.name) return false;
    const bindings = clause.namedBindings;
    return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
  }
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
}

/** The module a relative specifier names, as a path relative to `root`; undefined when it is outside. */
function resolve(from, specifier) {
  const base = path.join(path.dirname(path.join(root, from)), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate)) return path.relative(root, candidate);
  }
  return undefined;
}

/** file -> the files of `root` it loads at run time. */
function graphOf(files) {
  const graph = new Map();
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const edges = new Set();
    for (const node of source.statements) {
      if (!ts.isImportDeclaration(node) && !ts.isExportDeclaration(node)) continue;
      const spec = node.moduleSpecifier;
      if (spec === undefined || !ts.isStringLiteral(spec) || !spec.text.startsWith('.') || typeOnly(node)) continue;
      const target = resolve(file, spec.text);
      if (target !== undefined) edges.add(target);
    }
    graph.set(file, [...edges].sort());
  }
  return graph;
}

/** Each circle once, as the path that closes it (a -> b -> a), by a depth-first walk. */
function circles(graph) {
  const found = [];
  const seen = new Set();
  const state = new Map(); // 1: on the current path, 2: done
  const stack = [];
  const visit = (file) => {
    state.set(file, 1);
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 1) {
        const circle = [...stack.slice(stack.indexOf(next)), next];
        const key = [...circle.slice(0, -1)].sort().join(' ');
        if (!seen.has(key)) {
          seen.add(key);
          found.push(circle);
        }
      } else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 2);
  };
  for (const file of [...graph.keys()].sort()) if (state.get(file) === undefined) visit(file);
  return found;
}

const graph = graphOf(sources(root));
const found = circles(graph);
const where = path.relative(process.cwd(), root) || '.';
if (found.length > 0) {
  process.stderr.write(`check-imports: ${found.length} import circle${found.length === 1 ? '' : 's'} in ${where}/:\n`);
  for (const circle of found) process.stderr.write(`  ${circle.join(' -> ')}\n`);
  process.exit(1);
}
process.stdout.write(`check-imports: no import circle among the ${graph.size} modules of ${where}/\n`);
