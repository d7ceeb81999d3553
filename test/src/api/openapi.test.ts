import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi } from '../../../src/api/server';
import { silentLogger } from '../../../src/log';

const ROOT = join(__dirname, '..', '..', '..');

interface OpenApiDoc {
  openapi: string;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme: string }> };
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses: Record<string, { content?: Record<string, unknown> }> }>>;
}

async function generate(): Promise<OpenApiDoc> {
  const app = await buildApi({
    memberId: 'doc',
    version: '0.0.0',
    log: silentLogger(),
    hosts: { list: async () => [], get: async () => undefined, decommission: async () => false },
    readiness: async () => ({ ready: true, checks: {} }),
    model: {} as never,
    tokens: [{ name: 'a', admin: true, sha256: 'a'.repeat(64) }],
  });
  await app.ready();
  const doc = app.swagger() as unknown as OpenApiDoc;
  await app.close();
  return doc;
}

describe('OpenAPI document', () => {
  let doc: OpenApiDoc;
  before(async function () {
    this.timeout(20_000);
    doc = await generate();
  });

  it('names its schemas after their $id, and every operation has a unique operationId', () => {
    const names = Object.keys(doc.components.schemas);
    for (const n of ['Problem', 'Host', 'Tenant', 'Network', 'Subnet', 'Endpoint', 'EndpointDetail']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    assert.ok(!names.some((n) => /^def-\d+$/.test(n)), names.join(', '));
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)), JSON.stringify(ids));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('declares the bearer scheme and types every error as application/problem+json', () => {
    assert.deepEqual(doc.components.securitySchemes['bearer'], { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes['bearer']!['description' as 'type'] });
    assert.deepEqual(doc.paths['/v1/health']!['get']!.security, []);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) >= 400) assert.deepEqual(Object.keys(r.content ?? {}), ['application/problem+json'], `${method} ${path} ${status}`);
        }
      }
    }
  });

  it('passes redocly lint (recommended rules, warnings as errors) @slow', async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'plexus-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc, null, 2));
      const out = await new Promise<{ code: number; text: string }>((resolve) =>
        execFile(
          join(ROOT, 'node_modules', '.bin', 'redocly'),
          ['lint', file, '--config', join(ROOT, '.redocly.yaml'), '--format', 'stylish'],
          { cwd: dir, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, timeout: 100_000 },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
        ),
      );
      assert.equal(out.code, 0, out.text);
      assert.match(out.text, /Your API description is valid/, out.text);
      assert.doesNotMatch(out.text, /\d+ (warning|error)s?\b/, out.text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
