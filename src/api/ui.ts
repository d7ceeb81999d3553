/**
 * The web view at /ui: the static bundle scripts/build-ui.ts wrote to dist/ui
 * (index.html, app.js, app.css). Loading the page needs no token; the page's
 * own API calls carry the one the user enters. A missing bundle is a 503 that
 * says how to build it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './problems';

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Same-origin only: no inline script, nothing from elsewhere. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** dist/ui under the repository root (the nearest package.json up from this module, run from sources or from dist/). */
export function findUiDir(from: string = __dirname): string | undefined {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'ui');
  }
  return undefined;
}

export function registerUiRoutes(app: FastifyInstance, uiDir: string | undefined = findUiDir()): void {
  const serve = async (file: string): Promise<{ body: Buffer; type: string }> => {
    const type = FILES[file];
    if (!type) throw new ApiError(404, 'Not Found', `no file ${file} in the web view`);
    if (!uiDir) throw new ApiError(503, 'Service Unavailable', 'the web view is not installed with this plexusd');
    const body = await readFile(join(uiDir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new ApiError(503, 'Service Unavailable', `the web view is not built (${join(uiDir, file)} is missing: run npm run build)`);
      throw err;
    });
    return { body, type };
  };
  app.get('/ui', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    const f = await serve('index.html');
    return reply.type(f.type).header('content-security-policy', CSP).header('cache-control', 'no-cache').send(f.body);
  });
  app.get('/ui/:file', { config: { public: true }, schema: { hide: true } }, async (req, reply) => {
    const f = await serve((req.params as { file: string }).file);
    return reply.type(f.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(f.body);
  });
}
