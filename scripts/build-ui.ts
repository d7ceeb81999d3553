/**
 * Bundles the web view (src/ui) into dist/ui with esbuild: app.js (one
 * minified IIFE, no CDN at run time), app.css and index.html. plexusd serves
 * that directory at /ui (src/api/ui.ts). Run before tests, demo, build, bench.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/** The repository root: the nearest directory up from here with a package.json (works from scripts/ and dist/scripts/). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export async function buildUi(root: string = findRoot(__dirname)): Promise<string> {
  const src = join(root, 'src', 'ui');
  const out = join(root, 'dist', 'ui');
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(src, 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'iife',
    target: ['es2022'],
    tsconfig: join(src, 'tsconfig.json'),
    logLevel: 'warning',
  });
  await build({ entryPoints: [join(src, 'style.css')], outfile: join(out, 'app.css'), bundle: true, minify: true, logLevel: 'warning' });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  return out;
}

if (require.main === module) {
  const startedMs = Date.now();
  buildUi().then(
    (out) => process.stdout.write(`web view bundled into ${out} in ${Date.now() - startedMs} ms\n`),
    (err: Error) => {
      process.stderr.write(`build-ui: ${err.message}\n`);
      process.exit(1);
    },
  );
}
