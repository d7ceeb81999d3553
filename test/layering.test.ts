/**
 * The layering rules of .dependency-cruiser.cjs hold for the whole repository, and
 * they do catch a wrong-way import (checked on a small tree made for the test).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** Runs dependency-cruiser (the same Node) in `cwd`; returns its rule violations. */
function cruise(cwd: string, paths: readonly string[]): Violation[] {
  let out: string;
  try {
    out = execFileSync(process.execPath, [DEPCRUISE, ...paths, '--config', CONFIG, '--output-type', 'json'], {
      cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // dependency-cruiser exits non-zero when it finds violations; the report is still on stdout.
    out = (err as { stdout?: string }).stdout ?? '';
    if (out === '') throw err;
  }
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('layering (.dependency-cruiser.cjs) @slow', function () {
  this.timeout(60_000);

  it('the repository has no wrong-way import, no cycle and no orphan module', () => {
    const violations = cruise(ROOT, ['src', 'protocols', 'bench', 'scripts', 'test']);
    assert.deepEqual(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`), []);
  });

  it('catches a store module importing the compiler, and production importing the sandbox', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-layering-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }),
        'src/compiler/compile.ts': 'export const compile = 1;\n',
        'src/store/cache.ts': "import { compile } from '../compiler/compile';\nexport const cached = compile;\n",
        'src/sandbox/processes.ts': 'export const run = 1;\n',
        'src/southbound/host.ts': "import { run } from '../sandbox/processes';\nimport { cached } from '../store/cache';\nexport const h = run + cached;\n",
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const found = cruise(dir, ['src']).map((v) => `${v.from} → ${v.to}`).sort();
      assert.deepEqual(found, [
        'src/southbound/host.ts → src/sandbox/processes.ts',
        'src/store/cache.ts → src/compiler/compile.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
