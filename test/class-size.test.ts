/**
 * No class in src/, protocols/ or bench/ is longer than MAX_CLASS_LINES (issue 10:
 * "no class over ~250 lines"; a class that grows past it is split by job).
 *
 * A class's length is counted from the line of its `class` keyword (with any
 * `export`/`abstract` before it on that line) to the line of its closing brace,
 * both included; its leading TSDoc is not counted. Class declarations and class
 * expressions are found with the TypeScript parser (syntax only, no type checker).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { listSources } from './support/sources';

const ROOT = join(__dirname, '..');
const SCANNED = ['src', 'protocols', 'bench'];
const MAX_CLASS_LINES = 260;

interface ClassSize {
  /** "path:ClassName", the path relative to the repository. */
  readonly key: string;
  readonly lines: number;
}

/** Every class declaration or expression in one source text, with its length in lines. */
function measureClasses(fileName: string, text: string): ClassSize[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ClassSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ key: `${fileName}:${node.name?.text ?? '(anonymous)'}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function measureRepository(): ClassSize[] {
  return SCANNED.flatMap((dir) => listSources(join(ROOT, dir)))
    .flatMap((path) => measureClasses(relative(ROOT, path), readFileSync(path, 'utf8')));
}

describe('class size (issue 10)', function () {
  this.timeout(20_000);

  it(`no class in ${SCANNED.join(', ')} has more than ${MAX_CLASS_LINES} lines`, () => {
    const offenders = measureRepository()
      .filter((c) => c.lines > MAX_CLASS_LINES)
      .sort((a, b) => b.lines - a.lines)
      .map((c) => `${c.key} ${c.lines} lines`);
    assert.deepEqual(offenders, [], `classes over ${MAX_CLASS_LINES} lines (split them by job):\n${offenders.join('\n')}`);
  });

  it('counts a class from its class line to its closing brace, nested and anonymous ones included', () => {
    const text = [
      '/** doc */',
      'export class Outer {',
      '  m(): unknown {',
      '    return class {',
      '      x = 1;',
      '    };',
      '  }',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(measureClasses('a.ts', text), [
      { key: 'a.ts:Outer', lines: 7 },
      { key: 'a.ts:(anonymous)', lines: 3 },
    ]);
  });
});
