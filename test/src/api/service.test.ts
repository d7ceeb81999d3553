/**
 * The API as users and operators meet it, through a real plexusd (embedded
 * etcd): bearer tokens and tenant scoping over every resource, and each
 * defect of issues 15 and 18 that needs the model behind the API.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../../../src/api/auth';
import { EtcdCluster } from '../../../src/sandbox/etcd-cluster';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';

const ROOT = join(__dirname, '..', '..', '..');
const TOKENS = { admin: 'tok-admin-0123456789', a: 'tok-tenant-a-0123456789', b: 'tok-tenant-b-0123456789', bad: 'tok-not-configured' };
type Who = keyof typeof TOKENS | 'none';

function configFile(dir: string): string {
  const file = join(dir, 'plexus.yaml');
  writeFileSync(
    file,
    [
      'api-tokens:',
      `  - { name: ops, admin: true, sha256: ${hashToken(TOKENS.admin)} }`,
      `  - { name: ci-a, tenant: ta, sha256: ${hashToken(TOKENS.a)} }`,
      `  - { name: ci-b, tenant: tb, sha256: ${hashToken(TOKENS.b)} }`,
      '',
    ].join('\n'),
  );
  return file;
}

function plexusctl(url: string, token: string | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), join(ROOT, 'src', 'cli', 'plexusctl.ts'), '--url', url, ...args],
      { cwd: ROOT, env: { ...process.env, PLEXUS_URL: '', PLEXUS_TOKEN: token ?? '' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('API service behaviour through a real plexusd @slow', function () {
  this.timeout(180_000);
  let p: PlexusdProcess;
  let dir: string;

  async function call<T = Record<string, unknown>>(who: Who, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${p.url}${path}`, {
      method,
      headers: {
        ...(who === 'none' ? {} : { authorization: `Bearer ${TOKENS[who]}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers, text };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-service-'));
    p = await PlexusdProcess.start({ memberId: 'svc-1', extraArgs: ['--config', configFile(dir)] });
    for (const t of ['ta', 'tb']) assert.equal((await call('admin', 'POST', '/v1/tenants', { name: t })).status, 201);
  });
  after(async () => {
    await p?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('token matrix over every resource: admin all, tenant its own (others 404, writes elsewhere 403), none/bad 401', async () => {
    // Tenant A builds its network, subnet and endpoint with its own token; tenant defaults to the token's.
    const na = await call<{ id: string; tenant: string }>('a', 'POST', '/v1/networks', { name: 'net' });
    assert.equal(na.status, 201, na.text);
    assert.equal(na.body.tenant, 'ta');
    const sa = await call<{ id: string }>('a', 'POST', '/v1/subnets', { network: 'net', cidr: '10.61.0.0/24' });
    assert.equal(sa.status, 201, sa.text);
    const ea = await call<{ id: string }>('a', 'POST', '/v1/endpoints', { network: 'net', name: 'ep' });
    assert.equal(ea.status, 201, ea.text);
    // Tenant B may use the same names in its own tenant.
    assert.equal((await call('b', 'POST', '/v1/networks', { name: 'net' })).status, 201);
    assert.equal((await call('b', 'POST', '/v1/subnets', { network: 'net', cidr: '10.61.0.0/24' })).status, 201);
    const eb = await call<{ id: string }>('b', 'POST', '/v1/endpoints', { network: 'net', name: 'ep' });
    assert.equal(eb.status, 201, eb.text);
    // By name, each tenant finds its own; an admin sees both, so the name is ambiguous.
    assert.equal((await call<{ id: string }>('a', 'GET', '/v1/endpoints/ep')).body.id, ea.body.id);
    assert.equal((await call<{ id: string }>('b', 'GET', '/v1/endpoints/ep')).body.id, eb.body.id);
    const both = await call<{ reason: string; detail: string }>('admin', 'GET', '/v1/endpoints/ep');
    assert.equal(both.status, 409, both.text);
    assert.equal(both.body.reason, 'ambiguous');
    assert.match(both.body.detail, /endpoint name "ep" is used in tenants ta, tb: use the endpoint id/);

    const resources = [`/v1/networks/${na.body.id}`, `/v1/subnets/${sa.body.id}`, `/v1/endpoints/${ea.body.id}`, '/v1/tenants/ta'];
    for (const path of resources) {
      assert.equal((await call('admin', 'GET', path)).status, 200, `admin GET ${path}`);
      assert.equal((await call('a', 'GET', path)).status, 200, `A GET ${path}`);
      assert.equal((await call('b', 'GET', path)).status, 404, `B GET ${path}`);
      assert.equal((await call('b', 'DELETE', path)).status, 404, `B DELETE ${path}`);
      for (const who of ['none', 'bad'] as const) {
        const r = await call(who, 'GET', path);
        assert.equal(r.status, 401, `${who} GET ${path}`);
        assert.match(r.headers.get('content-type') ?? '', /problem\+json/);
      }
    }
    assert.equal((await call('b', 'PATCH', `/v1/networks/${na.body.id}`, { mtu: 1400 })).status, 404);
    assert.equal((await call('b', 'PATCH', `/v1/endpoints/${ea.body.id}`, { name: 'x' })).status, 404);
    // Lists show each tenant its own only; admin sees both.
    for (const [who, n] of [['a', 1], ['b', 1], ['admin', 2]] as const) {
      for (const list of ['/v1/networks', '/v1/subnets', '/v1/endpoints']) {
        const r = await call<{ items: unknown[] }>(who, 'GET', list);
        assert.equal(r.body.items.length, n, `${who} ${list}`);
      }
      assert.equal((await call<{ items: unknown[] }>(who, 'GET', '/v1/tenants')).body.items.length, who === 'admin' ? 3 : 1);
    }
    // Writes outside the own tenant: 403; cluster-wide objects: admin only.
    const cross = await call<{ detail: string }>('a', 'POST', '/v1/networks', { name: 'sneaky', tenant: 'tb' });
    assert.equal(cross.status, 403);
    assert.match(cross.body.detail, /only write in tenant "ta"/);
    assert.equal((await call('a', 'POST', '/v1/tenants', { name: 'tc' })).status, 403);
    assert.equal((await call('a', 'DELETE', '/v1/tenants/ta')).status, 403);
    assert.equal((await call('a', 'GET', '/v1/hosts')).status, 403);
    assert.equal((await call('a', 'GET', '/v1/cluster')).status, 403);
    assert.equal((await call('admin', 'GET', '/v1/cluster')).status, 200);
    // Every write left an audit line naming who did it.
    assert.match(p.logs, /"message":"api write"[^\n]*"who":"ci-a"|"who":"ci-a"[^\n]*"message":"api write"/);
  });

  it('names work wherever ids do (endpoint show <name>), lists sort by name, label selectors filter', async () => {
    assert.equal((await call('admin', 'POST', '/v1/networks', { name: 'zeta' })).status, 201);
    assert.equal((await call('admin', 'POST', '/v1/networks', { name: 'alpha' })).status, 201);
    assert.equal((await call('admin', 'POST', '/v1/subnets', { network: 'alpha', cidr: '10.62.0.0/24' })).status, 201);
    const names = (await call<{ items: { name: string; tenant: string }[] }>('admin', 'GET', '/v1/networks?tenant=default')).body.items.map((n) => n.name);
    assert.deepEqual(names, ['alpha', 'zeta']);
    for (const [name, labels] of [['web-2', { app: 'web', tier: 'front' }], ['db-1', { app: 'db' }], ['web-1', { app: 'web' }]] as const) {
      assert.equal((await call('admin', 'POST', '/v1/endpoints', { network: 'alpha', name, labels })).status, 201);
    }
    const dup = await call<{ reason: string }>('admin', 'POST', '/v1/endpoints', { network: 'alpha', name: 'web-1' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.reason, 'duplicate');
    const byName = await call<{ name: string; network: string }>('admin', 'GET', '/v1/endpoints/web-1');
    assert.equal(byName.status, 200, byName.text);
    assert.equal(byName.body.name, 'web-1');
    const sel = await call<{ items: { name: string }[] }>('admin', 'GET', `/v1/endpoints?network=alpha&labelSelector=${encodeURIComponent('app=web')}`);
    assert.deepEqual(sel.body.items.map((e) => e.name), ['web-1', 'web-2']);
    const notFront = await call<{ items: { name: string }[] }>('admin', 'GET', `/v1/endpoints?network=alpha&labelSelector=${encodeURIComponent('app=web,tier!=front')}`);
    assert.deepEqual(notFront.body.items.map((e) => e.name), ['web-1']);
    const badSel = await call<{ detail: string }>('admin', 'GET', '/v1/endpoints?labelSelector=%3Dweb');
    assert.equal(badSel.status, 400);
    assert.match(badSel.body.detail, /labelSelector/);
    // plexusctl lists show network names, not ids.
    const list = await plexusctl(p.url, TOKENS.admin, 'endpoint', 'list', '--network', 'alpha');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /web-1\s+alpha\s/);
    const show = await plexusctl(p.url, TOKENS.admin, 'endpoint', 'show', 'db-1', '-o', 'json');
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).name, 'db-1');
  });

  it('JSON merge patch merges labels and removes with null; a plain JSON patch replaces them', async () => {
    const e = await call<{ id: string; labels: Record<string, string> }>('admin', 'GET', '/v1/endpoints/web-2');
    const merged = await call<{ labels: Record<string, string> }>('admin', 'PATCH', '/v1/endpoints/web-2', { labels: { tier: null, zone: 'z1' } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(merged.status, 200, merged.text);
    assert.deepEqual(merged.body.labels, { app: 'web', zone: 'z1' });
    const replaced = await call<{ labels: Record<string, string> }>('admin', 'PATCH', `/v1/endpoints/${e.body.id}`, { labels: { only: 'this' } });
    assert.deepEqual(replaced.body.labels, { only: 'this' });
  });

  it('If-Match accepts the ETag as sent by plexusctl; a stale one is 412 without etcd keys', async () => {
    const n = await call<{ revision: string }>('admin', 'GET', '/v1/networks/zeta');
    const etag = n.headers.get('etag')!;
    const cli = await plexusctl(p.url, TOKENS.admin, 'network', 'update', 'zeta', '--mtu', '1400', '--if-match', etag);
    assert.equal(cli.code, 0, cli.stderr);
    const stale = await call<{ detail: string }>('admin', 'PATCH', '/v1/networks/zeta', { mtu: 1300 }, { 'if-match': etag });
    assert.equal(stale.status, 412);
    assert.match(stale.body.detail, /revision \d+, not \d+/);
    assert.doesNotMatch(stale.text, /\/plexus\//);
    const bare = await plexusctl(p.url, TOKENS.admin, 'network', 'update', 'zeta', '--mtu', '1300', '--if-match', n.body.revision);
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /412 Precondition Failed/);
  });

  it('IPAM: one address per family from any subnet with room; existing id is "already exists"; host bits are refused', async () => {
    assert.equal((await call('admin', 'POST', '/v1/networks', { name: 'ipam' })).status, 201);
    assert.equal((await call('admin', 'POST', '/v1/subnets', { network: 'ipam', cidr: '10.5.0.0/30' })).status, 201);
    assert.equal((await call('admin', 'POST', '/v1/subnets', { network: 'ipam', cidr: '10.6.0.0/24' })).status, 201);
    assert.equal((await call('admin', 'POST', '/v1/subnets', { network: 'ipam', cidr: 'fd00:6::/64' })).status, 201);
    const first = await call<{ ips: string[] }>('admin', 'POST', '/v1/endpoints', { network: 'ipam', id: 'ipam-1' });
    assert.deepEqual(first.body.ips, ['10.5.0.2', 'fd00:6::2']);
    const second = await call<{ ips: string[]; detail?: string }>('admin', 'POST', '/v1/endpoints', { network: 'ipam', id: 'ipam-2' });
    assert.equal(second.status, 201, second.text);
    assert.deepEqual(second.body.ips, ['10.6.0.2', 'fd00:6::3']);
    const again = await call<{ reason: string; detail: string }>('admin', 'POST', '/v1/endpoints', { network: 'ipam', id: 'ipam-1' });
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'duplicate');
    assert.match(again.body.detail, /already exists/);
    const hostBits = await call<{ detail: string }>('admin', 'POST', '/v1/subnets', { network: 'ipam', cidr: '10.1.0.5/24' });
    assert.equal(hostBits.status, 400);
    assert.match(hostBits.body.detail, /body\.cidr: "10\.1\.0\.5\/24" has host bits set: did you mean 10\.1\.0\.0\/24\?/);
  });

  it('an id with a lone surrogate commits nothing: no endpoint, no address taken', async () => {
    const before = (await call<{ items: unknown[] }>('admin', 'GET', '/v1/endpoints?network=ipam')).body.items.length;
    const bad = await call<{ detail: string }>('admin', 'POST', '/v1/endpoints', '{"network":"ipam","id":"x\\udc00"}');
    assert.equal(bad.status, 400);
    assert.equal((await call<{ items: unknown[] }>('admin', 'GET', '/v1/endpoints?network=ipam')).body.items.length, before);
    const next = await call<{ ips: string[] }>('admin', 'POST', '/v1/endpoints', { network: 'ipam', id: 'ipam-3' });
    assert.deepEqual(next.body.ips, ['10.6.0.3', 'fd00:6::4']);
  });

  it('plexusctl: a URL without scheme and an unreachable server are one-line errors with exit codes 2 and 3', async () => {
    const noScheme = await plexusctl(`127.0.0.1:${p.ports.api}`, TOKENS.admin, 'network', 'list');
    assert.equal(noScheme.code, 2);
    assert.match(noScheme.stderr, /is not an http:\/\/ or https:\/\/ URL \(did you mean http:\/\/127\.0\.0\.1:\d+\?\)/);
    assert.doesNotMatch(noScheme.stderr, /\n\s+at /);
    const down = await plexusctl('http://127.0.0.1:1', TOKENS.admin, 'network', 'list');
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach plexusd at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    const noToken = await plexusctl(p.url, undefined, 'network', 'list');
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /401 Unauthorized/);
  });

  it('/metrics passes promtool check metrics and has the SPEC §8 set', async () => {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    for (const [name, type] of [
      ['plexus_etcd_request_duration_seconds', 'histogram'],
      ['plexus_mastership_changes_total', 'counter'],
      ['plexus_openflow_sessions', 'gauge'],
      ['plexus_ovsdb_sessions', 'gauge'],
      ['plexus_hosts_connected', 'gauge'],
      ['plexus_flow_mods_total', 'counter'],
      ['plexus_attach_installed_seconds', 'histogram'],
      ['plexus_host_flows_desired', 'gauge'],
      ['plexus_packet_ins_total', 'counter'],
      ['plexus_reconcile_errors_total', 'counter'],
      ['plexus_process_cpu_seconds_total', 'counter'],
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    }
    // The API's own etcd reads were timed.
    assert.match(text, /^plexus_etcd_request_duration_seconds_count\{result="ok"\} [1-9]/m);
    // This single member became master of nothing yet, but its lease made it a member: counter present at 0 or more.
    assert.match(text, /^plexus_mastership_changes_total \d+$/m);
    assert.doesNotMatch(text, /plexus_process_process_/);
    const check = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
      child.stdin!.end(text);
    });
    assert.equal(check.code, 0, check.out);
    assert.equal(check.out.trim(), '', check.out);
  });
});

describe('API during an etcd outage @slow', function () {
  this.timeout(120_000);

  it('answers 503 to every call (also once the client circuit breaker is open), without etcd addresses', async () => {
    const etcd = await EtcdCluster.start(1);
    const p = await PlexusdProcess.start({ memberId: 'outage-1', etcd: etcd.endpoints });
    try {
      assert.equal((await p.api('POST', '/v1/networks', { name: 'o' })).status, 201);
      await etcd.stopMember(0, true);
      const port = etcd.endpoints.split(':').pop()!;
      for (let i = 0; i < 8; i++) {
        const res = await p.api<{ status: number; detail: string }>(i % 2 ? 'GET' : 'POST', i % 2 ? '/v1/networks' : '/v1/networks', i % 2 ? undefined : { name: `o${i}` });
        assert.equal(res.status, 503, `call ${i}: ${JSON.stringify(res.body)}`);
        assert.equal(res.headers.get('retry-after'), '2');
        assert.doesNotMatch(JSON.stringify(res.body), new RegExp(`127\\.0\\.0\\.1|:${port}\\b`));
      }
    } finally {
      await p.destroy();
      await etcd.stop();
    }
  });
});
