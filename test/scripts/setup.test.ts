/**
 * A fresh machine has only Node: every external program the code runs (daemon,
 * tests, demo, benchmarks) must be installed by scripts/setup.sh. Once, a green CI
 * on a machine that already had `tcpdump` hid the missing install step.
 *
 * The scan reads the TypeScript sources (syntax only, no type checker) and collects
 * string literals passed where a program is expected:
 *  - the first argument of `child_process` `spawn`/`spawnSync`/`execFile`/`execFileSync`;
 *  - the argument in the position of a parameter named `cmd`, `command`, `binary` or
 *    `program` of any function or method declared in the sources (wrappers such as
 *    `run`, `nsRun`, `NsProcess.spawn`), matched by callee name;
 *  - the first element of an array destructured into `[cmd, ...]`, and the default of
 *    `x ?? 'prog'` in one of those positions.
 * setup.sh declares each program it provides with a `want <program> <package>` line.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { listSources } from '../support/sources';

const ROOT = join(__dirname, '..', '..');
const SCANNED = ['src', 'protocols', 'bench', 'scripts', 'test'];
const CHILD_PROCESS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync']);
const PROGRAM_PARAMS = new Set(['cmd', 'command', 'binary', 'program']);
/** Not programs from a package: the running Node itself is passed as process.execPath. */
const PROGRAM_NAME = /^[a-z][a-z0-9._+-]*$/;

interface Use {
  readonly program: string;
  readonly where: string;
}

function calleeName(expr: ts.Expression): string | undefined {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr)) return expr.name.text;
  return undefined;
}

/** The literal a program argument stands for: `'x'`, or the default of `y ?? 'x'`. */
function literalOf(node: ts.Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (ts.isStringLiteralLike(node)) return node.text;
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) return literalOf(node.right);
  if (ts.isParenthesizedExpression(node)) return literalOf(node.expression);
  return undefined;
}

/** Every function/method in `files` with a parameter that names a program: name → parameter indexes. */
export function collectWrappers(files: readonly ts.SourceFile[]): Map<string, Set<number>> {
  const wrappers = new Map<string, Set<number>>();
  const visit = (node: ts.Node): void => {
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name && ts.isIdentifier(node.name)) {
      node.parameters.forEach((p, i) => {
        if (ts.isIdentifier(p.name) && PROGRAM_PARAMS.has(p.name.text)) {
          const name = (node.name as ts.Identifier).text;
          if (!wrappers.has(name)) wrappers.set(name, new Set());
          wrappers.get(name)!.add(i);
        }
      });
    }
    ts.forEachChild(node, visit);
  };
  files.forEach(visit);
  return wrappers;
}

/** The programs `files` run (see the header for what counts). */
export function collectPrograms(files: readonly ts.SourceFile[]): Use[] {
  const wrappers = collectWrappers(files);
  const uses: Use[] = [];
  for (const file of files) {
    const note = (node: ts.Node | undefined): void => {
      const program = literalOf(node);
      if (program === undefined || !PROGRAM_NAME.test(program)) return;
      const line = file.getLineAndCharacterOfPosition(node!.getStart(file)).line + 1;
      uses.push({ program, where: `${relative(ROOT, file.fileName)}:${line}` });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const name = calleeName(node.expression);
        if (name !== undefined && CHILD_PROCESS.has(name)) note(node.arguments[0]);
        for (const i of (name !== undefined && wrappers.get(name)) || []) note(node.arguments[i]);
      }
      if (ts.isVariableDeclaration(node) && ts.isArrayBindingPattern(node.name) && node.initializer) {
        const first = node.name.elements[0];
        if (first && ts.isBindingElement(first) && ts.isIdentifier(first.name) && PROGRAM_PARAMS.has(first.name.text)) {
          const arrays = ts.isConditionalExpression(node.initializer)
            ? [node.initializer.whenTrue, node.initializer.whenFalse]
            : [node.initializer];
          for (const a of arrays) if (ts.isArrayLiteralExpression(a)) note(a.elements[0]);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return uses;
}

/** `want <program> <package>` lines of setup.sh: program → package. */
export function readProvided(setupScript: string): Map<string, string> {
  const provided = new Map<string, string>();
  for (const m of setupScript.matchAll(/^\s*want\s+(\S+)\s+(\S+)\s*$/gm)) provided.set(m[1]!, m[2]!);
  return provided;
}

function parse(path: string, text = readFileSync(path, 'utf8')): ts.SourceFile {
  // No parent pointers: the scan walks down from the root and passes the file to getStart.
  return ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, false);
}

const wordsRe = (words: Iterable<string>): RegExp => new RegExp(`\\b(${[...words].join('|')})\\b`);

/**
 * The sources that can matter, parsed: a file declares a wrapper or a `[cmd, ...]` tuple
 * only if it names such a parameter, and runs a program only if it names a child_process
 * function or a wrapper. Skipping the others keeps this test fast (most files are neither).
 */
function parseRelevant(paths: readonly string[]): ts.SourceFile[] {
  const texts = paths.map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
  const declaring = texts.filter((t) => wordsRe(PROGRAM_PARAMS).test(t.text)).map((t) => parse(t.path, t.text));
  const names = wordsRe([...CHILD_PROCESS, ...PROGRAM_PARAMS, ...collectWrappers(declaring).keys()]);
  return texts.filter((t) => names.test(t.text)).map((t) => parse(t.path, t.text));
}

describe('scripts/setup.sh provides every program the code runs', () => {
  it('finds programs through child_process, wrappers by parameter name, and [cmd, args] tuples', () => {
    const file = parse(join(ROOT, 'fixture.ts'), `
      import { spawn } from 'node:child_process';
      function nsRun(ns: string, cmd: string, args: string[]) { return spawn('ip', ['netns', 'exec', ns, cmd, ...args]); }
      nsRun('h1', 'tcpdump', []);
      const [cmd, args] = fast ? ['iperf3', []] : ['ping', []];
      spawn(options.binary ?? 'etcd', []);
      spawn(process.execPath, []);
      /x/.exec(text);`);
    assert.deepEqual(collectPrograms([file]).map((u) => u.program).sort(), ['etcd', 'ip', 'iperf3', 'ping', 'tcpdump']);
  });

  it('every program found in the sources has a want line in scripts/setup.sh', () => {
    const files = parseRelevant(SCANNED.flatMap((d) => listSources(join(ROOT, d))));
    const uses = collectPrograms(files);
    const provided = readProvided(readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8'));
    // The scan sees the programs it must (a sanity floor: it is not reading nothing).
    for (const known of ['ovs-vswitchd', 'ovsdb-server', 'etcd', 'ip', 'tcpdump']) {
      assert.ok(uses.some((u) => u.program === known), `scan did not find ${known}`);
    }
    const missing = uses.filter((u) => !provided.has(u.program));
    assert.deepEqual(missing, [], `programs run but not installed by scripts/setup.sh (add "want <program> <package>"):\n${
      missing.map((u) => `  ${u.program} at ${u.where}`).join('\n')}`);
  });
});
