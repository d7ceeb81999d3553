/**
 * /ui serves the bundled web view without a token (the page's own API calls
 * carry one), with a same-origin-only CSP; unknown files are 404 and a
 * missing bundle is a 503 that says how to build it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildUi } from '../../../scripts/build-ui';
import { hashToken } from '../../../src/api/auth';
import { buildApi } from '../../../src/api/server';
import { silentLogger } from '../../../src/log';
import type { ModelStore } from '../../../src/store/model-store';

const ROOT = join(__dirname, '..', '..', '..');

async function start(uiDir: string): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApi({
    memberId: 'test',
    version: '0.0.0-test',
    log: silentLogger(),
    tokens: [{ name: 'ops', admin: true, sha256: hashToken('tok-ui-0123456789') }],
    hosts: { list: async () => [], get: async () => undefined, decommission: async () => false },
    readiness: async () => ({ ready: true, checks: {} }),
    model: {} as ModelStore,
    uiDir,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

describe('GET /ui', () => {
  let built: { app: FastifyInstance; url: string };
  let empty: string;
  let unbuilt: { app: FastifyInstance; url: string };

  before(async function () {
    this.timeout(30_000);
    built = await start(await buildUi(ROOT));
    empty = mkdtempSync(join(tmpdir(), 'plexus-ui-empty-'));
    unbuilt = await start(empty);
  });
  after(async () => {
    await built?.app.close();
    await unbuilt?.app.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('serves the page and its bundle without a token, while the API still wants one', async () => {
    const redirect = await fetch(`${built.url}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/ui/');
    const page = await fetch(`${built.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'; script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="\/ui\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'nothing from a CDN');
    const js = await fetch(`${built.url}/ui/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await js.text(), /\/v1\/events/);
    assert.equal((await fetch(`${built.url}/ui/app.css`)).status, 200);
    assert.equal((await fetch(`${built.url}/v1/hosts`)).status, 401);
  });

  it('answers 404 for files that are not part of the bundle', async () => {
    for (const f of ['secret.txt', '..%2Fpackage.json', 'index.htm']) {
      const res = await fetch(`${built.url}/ui/${f}`);
      assert.equal(res.status, 404, f);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    }
  });

  it('answers 503 with how to build it when the bundle is missing', async () => {
    const res = await fetch(`${unbuilt.url}/ui/`);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { detail: string }).detail, /not built .*index\.html is missing: run npm run build/);
  });
});
