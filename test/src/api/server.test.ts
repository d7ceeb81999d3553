/**
 * The HTTP layer in process, on a real socket, with no etcd behind it: what is
 * decided before any route touches the model (auth, validation, limits, status
 * codes, the heartbeat, the OpenAPI document). Model behaviour is tested
 * through a real plexusd in service.test.ts.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { hashToken } from '../../../src/api/auth';
import { buildApi, type ApiDeps } from '../../../src/api/server';
import { silentLogger } from '../../../src/log';
import type { ModelStore } from '../../../src/store/model-store';

/** A model that must never be reached by these requests. */
const untouchableModel = new Proxy({}, { get: (_t, prop) => () => Promise.reject(new Error(`model.${String(prop)} must not be called`)) }) as unknown as ModelStore;

function deps(extra: Partial<ApiDeps> = {}): ApiDeps {
  return {
    memberId: 'test',
    version: '0.0.0-test',
    log: silentLogger(),
    hosts: { list: async () => [], get: async () => undefined, decommission: async () => false },
    readiness: async () => ({ ready: true, checks: {} }),
    model: untouchableModel,
    ...extra,
  };
}

async function start(extra: Partial<ApiDeps> = {}): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const app = await buildApi(deps(extra));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return { app, url: `http://127.0.0.1:${port}`, port };
}

/** Raw bytes to the port; resolves with what came back and when the server closed. */
function raw(port: number, chunks: readonly (string | Buffer)[], gapMs = 0, waitMs = 5000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    s.on('data', (d) => (text += d.toString()));
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closedAfterMs: Date.now() - t0 });
    };
    s.on('close', done);
    s.on('error', done);
    setTimeout(done, waitMs);
    let i = 0;
    const sendNext = (): void => {
      if (i >= chunks.length || s.destroyed) return;
      s.write(chunks[i++]!);
      timer = setTimeout(sendNext, gapMs);
    };
    s.on('connect', sendNext);
  });
}

async function problem(res: Response, status: number): Promise<{ title: string; detail: string; status: number; errors?: { field: string; message: string }[] }> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const p = JSON.parse(text);
  assert.equal(p.status, status);
  return p;
}

describe('API server (in process)', () => {
  describe('without tokens', () => {
    let s: Awaited<ReturnType<typeof start>>;
    before(async () => (s = await start({ limits: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } })));
    after(async () => s.app.close());

    it('does not coerce body types: {"name":5} is 400 naming body.name and the type', async () => {
      const p = await problem(await fetch(`${s.url}/v1/networks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":5}' }), 400);
      assert.match(p.detail, /body\.name: must be string, not number/);
      assert.deepEqual(p.errors?.[0]?.field, 'body.name');
    });

    it('names an unknown field and the allowed ones', async () => {
      const p = await problem(await fetch(`${s.url}/v1/networks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a","foo":1}' }), 400);
      assert.match(p.detail, /body\.foo: unknown field \(allowed: id, name, tenant, mtu, external, physicalNetwork\)/);
    });

    it('names the allowed values of an enum and a missing field', async () => {
      const p = await problem(await fetch(`${s.url}/v1/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"pod"}' }), 400);
      assert.match(p.detail, /body\.network: is required/);
      assert.match(p.detail, /body\.kind: must be one of "vm", "container", "other" \(got "pod"\)/);
    });

    it('still coerces query strings (?limit=5 is a number), and names a bad one', async () => {
      const p = await problem(await fetch(`${s.url}/v1/hosts?limit=abc`), 400);
      assert.match(p.detail, /querystring\.limit/);
      assert.equal((await fetch(`${s.url}/v1/hosts?limit=5`)).status, 200);
    });

    it('413 is "Payload Too Large", problem+json', async () => {
      const body = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) });
      const p = await problem(await fetch(`${s.url}/v1/networks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }), 413);
      assert.equal(p.title, 'Payload Too Large');
    });

    it('refuses lone surrogates, NUL and bidi controls in ids before any write (the model is never called)', async () => {
      for (const [body, what] of [
        ['{"network":"n","id":"\\ud800x"}', /lone UTF-16 surrogate/],
        ['{"network":"n","id":"a\\u0000b"}', /U\+0000/],
        ['{"network":"n","name":"ab\\u202egnp.exe"}', /U\+202E/],
      ] as const) {
        const p = await problem(await fetch(`${s.url}/v1/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }), 400);
        assert.match(p.detail, what);
        assert.match(p.detail, /^body\.(id|name)/);
      }
      await problem(await fetch(`${s.url}/v1/endpoints/a%E2%80%AEb`), 400);
    });

    it('PUT on a collection is 405 with Allow, not 404', async () => {
      const res = await fetch(`${s.url}/v1/networks`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
      const p = await problem(res, 405);
      assert.equal(res.headers.get('allow'), 'GET, POST');
      assert.equal(p.title, 'Method Not Allowed');
      await problem(await fetch(`${s.url}/v1/nothing-here`), 404);
    });

    it('414 and 431 are problem+json', async () => {
      const p414 = await problem(await fetch(`${s.url}/v1/networks?next=${'a'.repeat(9000)}`), 414);
      assert.equal(p414.title, 'URI Too Long');
      const big = await raw(s.port, [`GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
      assert.match(big.text, /^HTTP\/1\.1 431 /);
      assert.match(big.text, /content-type: application\/problem\+json/i);
      assert.match(big.text, /"status":431/);
    });

    it('drops a slowloris client once the header timeout passes', async () => {
      const trickle = ['GET /v1/health HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `X-${i}: y\r\n`)];
      const r = await raw(s.port, trickle, 150, 8000);
      assert.ok(r.closedAfterMs < 4000, `connection held ${r.closedAfterMs} ms`);
      assert.doesNotMatch(r.text, /^HTTP\/1\.1 200/);
    });

    it('heartbeat requests leave no listener behind on the server', async () => {
      const before = s.app.server.listenerCount('close');
      for (let i = 0; i < 30; i++) {
        const ctl = new AbortController();
        const res = await fetch(`${s.url}/v1/cluster/heartbeat`, { signal: ctl.signal });
        assert.equal(res.status, 200);
        ctl.abort();
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(s.app.server.listenerCount('close') <= before + 1, `close listeners: ${before} → ${s.app.server.listenerCount('close')}`);
    });
  });

  describe('with tokens', () => {
    const admin = 'admin-secret-1';
    const acme = 'acme-secret-1';
    let s: Awaited<ReturnType<typeof start>>;
    before(async () =>
      (s = await start({
        tokens: [
          { name: 'ops', admin: true, sha256: hashToken(admin) },
          { name: 'acme-ci', tenant: 'acme', sha256: hashToken(acme) },
        ],
      })),
    );
    after(async () => s.app.close());

    it('401 problem+json with WWW-Authenticate for no token and a bad one; health stays public', async () => {
      for (const headers of [{}, { authorization: 'Bearer garbage' }, { authorization: 'Basic abc' }] as Record<string, string>[]) {
        const res = await fetch(`${s.url}/v1/hosts`, { headers });
        await problem(res, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
      assert.equal((await fetch(`${s.url}/v1/health`)).status, 200);
      assert.equal((await fetch(`${s.url}/v1/openapi.json`)).status, 200);
    });

    it('admin reads hosts; a tenant token gets 403 on cluster-wide objects', async () => {
      assert.equal((await fetch(`${s.url}/v1/hosts`, { headers: { authorization: `Bearer ${admin}` } })).status, 200);
      for (const [method, path] of [['GET', '/v1/hosts'], ['DELETE', '/v1/hosts/h1'], ['GET', '/v1/cluster']] as const) {
        const p = await problem(await fetch(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${acme}` } }), 403);
        assert.match(p.detail, /admin token/);
      }
    });
  });
});
