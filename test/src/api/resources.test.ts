import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { runPlexusctl as plexusctl } from '../../support/plexus-api';


interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  reason?: string;
  [k: string]: unknown;
}

describe('REST resources and plexusctl through a real plexusd @slow', function () {
  this.timeout(120_000);
  let p: PlexusdProcess;

  /** Sends a request and asserts a problem+json error with `status`. */
  async function problem(method: string, path: string, status: number, body?: unknown, headers: Record<string, string> = {}): Promise<Problem> {
    const res = await fetch(`${p.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${path}: ${text}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const doc = JSON.parse(text) as Problem;
    assert.equal(doc.status, status);
    assert.equal(typeof doc.title, 'string');
    assert.ok(doc.detail.length > 0);
    return doc;
  }

  async function send<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${p.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
  }

  before(async () => {
    p = await PlexusdProcess.start({ memberId: 'api-1' });
  });
  after(async () => {
    await p?.destroy();
  });

  it('creates a network: 201 with id and vni; name unique (409); GET by id or name with an ETag', async () => {
    const res = await send<{ id: string; vni: number; mtu: number; name: string; tenant: string; revision: string }>('POST', '/v1/networks', { name: 'web' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.id, /^[0-9a-f-]{36}$/);
    assert.ok(Number.isInteger(res.body.vni) && res.body.vni >= 1 && res.body.vni <= 16_777_215);
    assert.deepEqual([res.body.name, res.body.tenant, res.body.mtu], ['web', 'default', 1450]);
    const dup = await problem('POST', '/v1/networks', 409, { name: 'web' });
    assert.equal(dup.reason, 'duplicate');
    assert.match(dup.detail, /network "web" already exists/);
    for (const ref of [res.body.id, 'web']) {
      const got = await send<{ id: string; revision: string }>('GET', `/v1/networks/${ref}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.id, res.body.id);
      assert.equal(got.headers.get('etag'), `"${got.body.revision}"`);
    }
    await problem('GET', '/v1/networks/nope', 404);
  });

  it('rejects invalid bodies with problem+json 400', async () => {
    await problem('POST', '/v1/networks', 400, {});
    await problem('POST', '/v1/networks', 400, { name: 'x', extra: 1 });
    await problem('POST', '/v1/networks', 400, { name: 'bad/name' });
    await problem('POST', '/v1/networks', 400, { name: 'x', mtu: 100 });
    await problem('POST', '/v1/networks', 400, '{not json');
    await problem('POST', '/v1/subnets', 400, { network: 'web', cidr: '10.0.0.0/33' });
    await problem('POST', '/v1/subnets', 400, { network: 'web', cidr: '10.0.0.0/24', gateway: '10.9.9.9' });
    await problem('POST', '/v1/endpoints', 400, { network: 'web', kind: 'toaster' });
    await problem('POST', '/v1/endpoints', 400, { network: 'web', mac: 'zz:zz' });
    await problem('PATCH', '/v1/networks/web', 400, {});
  });

  it('creates subnets (201), rejects overlaps (409 naming the other), filters by network', async () => {
    const s = await send<{ id: string; cidr: string; gateway: string; allocationPools: unknown; dhcp: boolean }>('POST', '/v1/subnets', {
      network: 'web',
      cidr: '192.168.200.0/24',
    });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    assert.deepEqual([s.body.cidr, s.body.gateway, s.body.dhcp], ['192.168.200.0/24', '192.168.200.1', true]);
    assert.deepEqual(s.body.allocationPools, [{ start: '192.168.200.2', end: '192.168.200.254' }]);
    const overlap = await problem('POST', '/v1/subnets', 409, { network: 'web', cidr: '192.168.200.128/25' });
    assert.equal(overlap.reason, 'overlap');
    assert.equal(overlap['subnet'], s.body.id);
    await problem('POST', '/v1/subnets', 404, { network: 'nope', cidr: '10.0.0.0/24' });
    const list = await send<{ items: { id: string }[] }>('GET', '/v1/subnets?network=web');
    assert.deepEqual(list.body.items.map((x) => x.id), [s.body.id]);
    await problem('GET', '/v1/subnets?network=nope', 404);
  });

  it('creates endpoints: 201 with id, mac, ips; GET shows status, host, ofport; errors are 404/409', async () => {
    const e = await send<{ id: string; mac: string; ips: string[]; status: string }>('POST', '/v1/endpoints', { network: 'web', name: 'c1', kind: 'container' });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    assert.match(e.body.id, /^[0-9a-f-]{36}$/);
    assert.match(e.body.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(e.body.ips, ['192.168.200.2']);
    const show = await send<Record<string, unknown>>('GET', `/v1/endpoints/${e.body.id}`);
    assert.equal(show.status, 200);
    assert.deepEqual([show.body['status'], show.body['host'], show.body['ofport'], show.body['statusHistory']], ['pending', null, null, []]);
    assert.deepEqual([show.body['name'], show.body['kind'], show.body['mac'], show.body['ips']], ['c1', 'container', e.body.mac, e.body.ips]);
    assert.equal(show.headers.get('etag'), `"${show.body['revision'] as string}"`);

    const given = await send<{ id: string; mac: string; ips: string[] }>('POST', '/v1/endpoints', { network: 'web', id: 'port-1', mac: '02:AA:00:00:00:01', ips: ['192.168.200.77'], kind: 'vm' });
    assert.equal(given.status, 201);
    assert.deepEqual([given.body.id, given.body.mac, given.body.ips], ['port-1', '02:aa:00:00:00:01', ['192.168.200.77']]);
    assert.equal((await problem('POST', '/v1/endpoints', 409, { network: 'web', id: 'port-1' })).reason, 'duplicate');
    assert.equal((await problem('POST', '/v1/endpoints', 409, { network: 'web', mac: '02:aa:00:00:00:01' })).reason, 'duplicate');
    assert.equal((await problem('POST', '/v1/endpoints', 409, { network: 'web', ips: ['192.168.200.77'] })).reason, 'duplicate');
    assert.equal((await problem('POST', '/v1/endpoints', 409, { network: 'web', ips: ['10.1.1.1'] })).reason, 'outside');
    await problem('POST', '/v1/endpoints', 404, { network: 'nope' });
    await problem('GET', '/v1/endpoints/nope', 404);
    await problem('DELETE', '/v1/endpoints/nope', 404);
    const inUse = await problem('DELETE', '/v1/networks/web', 409);
    assert.equal(inUse.reason, 'in-use');
  });

  it('PATCH and DELETE honour If-Match (412 on a stale revision)', async () => {
    const e = await send<{ id: string; revision: string }>('POST', '/v1/endpoints', { network: 'web', name: 'patch-me' });
    const stale = e.body.revision;
    const ok = await send<{ name: string; labels: Record<string, string>; revision: string }>(
      'PATCH',
      `/v1/endpoints/${e.body.id}`,
      { name: 'patched', labels: { tier: 'web' } },
      { 'if-match': `"${stale}"` },
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual([ok.body.name, ok.body.labels], ['patched', { tier: 'web' }]);
    assert.equal(ok.headers.get('etag'), `"${ok.body.revision}"`);
    const p412 = await problem('PATCH', `/v1/endpoints/${e.body.id}`, 412, { name: 'again' }, { 'if-match': `"${stale}"` });
    assert.match(p412.detail, /If-Match/);
    await problem('DELETE', `/v1/endpoints/${e.body.id}`, 412, undefined, { 'if-match': `"${stale}"` });
    const del = await send('DELETE', `/v1/endpoints/${e.body.id}`, undefined, { 'if-match': `"${ok.body.revision}"` });
    assert.equal(del.status, 204);
    const net = await send<{ revision: string }>('GET', '/v1/networks/web');
    await problem('PATCH', '/v1/networks/web', 412, { mtu: 1400 }, { 'if-match': '"1"' });
    const mtu = await send<{ mtu: number }>('PATCH', '/v1/networks/web', { mtu: 1400 }, { 'if-match': net.body.revision });
    assert.equal(mtu.body.mtu, 1400);
    const sub = (await send<{ items: { id: string; revision: string }[] }>('GET', '/v1/subnets?network=web')).body.items[0]!;
    await problem('PATCH', `/v1/subnets/${sub.id}`, 412, { dhcp: false }, { 'if-match': '"1"' });
    const dhcp = await send<{ dhcp: boolean }>('PATCH', `/v1/subnets/${sub.id}`, { dhcp: false, dnsServers: ['192.168.200.53'] }, { 'if-match': `W/"${sub.revision}"` });
    assert.equal(dhcp.status, 200);
    assert.equal(dhcp.body.dhcp, false);
  });

  it('paginates every list with ?limit and next', async () => {
    for (let i = 0; i < 7; i++) assert.equal((await send('POST', '/v1/endpoints', { network: 'web', id: `page-${i}` })).status, 201);
    for (const path of ['/v1/endpoints', '/v1/endpoints?network=web']) {
      const seen: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const res = await send<{ items: { id: string }[]; next?: string }>('GET', `${path}${sep}limit=3${next ? `&next=${encodeURIComponent(next)}` : ''}`);
        assert.equal(res.status, 200);
        assert.ok(res.body.items.length <= 3);
        seen.push(...res.body.items.map((x) => x.id));
        next = res.body.next;
        pages++;
      } while (next);
      assert.equal(seen.length, 9);
      assert.deepEqual(seen, [...seen].sort());
      assert.equal(new Set(seen).size, 9);
      assert.equal(pages, 3);
    }
    for (const path of ['/v1/networks', '/v1/subnets', '/v1/tenants']) {
      const res = await send<{ items: unknown[]; next?: string }>('GET', `${path}?limit=1`);
      assert.equal(res.status, 200);
      assert.equal(res.body.items.length, 1);
    }
    await problem('GET', '/v1/endpoints?limit=0', 400);
    await problem('GET', '/v1/endpoints?bogus=1', 400);
    for (let i = 0; i < 7; i++) assert.equal((await send('DELETE', `/v1/endpoints/page-${i}`)).status, 204);
  });

  it('tenants: create, duplicate 409, network in a tenant, delete in use 409', async () => {
    const t = await send<{ id: string; name: string }>('POST', '/v1/tenants', { name: 'acme' });
    assert.equal(t.status, 201);
    assert.deepEqual([t.body.id, t.body.name], ['acme', 'acme']);
    await problem('POST', '/v1/tenants', 409, { name: 'acme' });
    await problem('POST', '/v1/networks', 404, { name: 'web', tenant: 'nobody' });
    const n = await send<{ tenant: string }>('POST', '/v1/networks', { name: 'web', tenant: 'acme' });
    assert.equal(n.status, 201, 'same name in another tenant');
    assert.equal(n.body.tenant, 'acme');
    assert.equal((await problem('DELETE', '/v1/tenants/acme', 409)).reason, 'in-use');
    assert.deepEqual((await send<{ items: { id: string }[] }>('GET', '/v1/networks?tenant=acme')).body.items.length, 1);
    const byName = await send<{ tenant: string }>('GET', '/v1/networks/web');
    assert.equal(byName.body.tenant, 'default', 'a name in two tenants resolves to the default tenant\'s');
  });

  it('plexusctl: network create with --cidr, endpoint create/show/list/delete in table, json and yaml', async () => {
    const url = p.url;
    const created = await plexusctl(url, '-o', 'json', 'network', 'create', 'cli-net', '--cidr', '10.77.0.0/24', '--gateway', '10.77.0.254');
    assert.equal(created.code, 0, created.stderr);
    const net = JSON.parse(created.stdout) as { id: string; vni: number; subnets: { cidr: string; gateway: string }[] };
    assert.ok(net.vni > 0);
    assert.deepEqual(net.subnets.map((s) => [s.cidr, s.gateway]), [['10.77.0.0/24', '10.77.0.254']]);

    const table = await plexusctl(url, 'network', 'list');
    assert.equal(table.code, 0, table.stderr);
    const header = table.stdout.split('\n')[0]!;
    assert.match(header, /^ID\s+NAME\s+TENANT\s+VNI\s+MTU\s+SUBNETS$/);
    assert.match(table.stdout, new RegExp(`${net.id}\\s+cli-net\\s+default\\s+${net.vni}\\s+1450\\s+10\\.77\\.0\\.0/24`));

    const ep = await plexusctl(url, '-o', 'yaml', 'endpoint', 'create', '--network', 'cli-net', '--id', 'cli-ep', '--kind', 'vm', '--label', 'tier=db');
    assert.equal(ep.code, 0, ep.stderr);
    const doc = yaml.load(ep.stdout) as { id: string; ips: string[]; kind: string; labels: Record<string, string>; mac: string };
    assert.deepEqual([doc.id, doc.ips, doc.kind, doc.labels], ['cli-ep', ['10.77.0.1'], 'vm', { tier: 'db' }]);

    const show = await plexusctl(url, 'endpoint', 'show', 'cli-ep');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^status:\s+pending$/m);
    assert.match(show.stdout, new RegExp(`^mac:\\s+${doc.mac}$`, 'm'));
    assert.match(show.stdout, /^ips:\s+10\.77\.0\.1$/m);

    const list = await plexusctl(url, 'endpoint', 'list', '--network', 'cli-net');
    assert.match(list.stdout.split('\n')[0]!, /^ID\s+NAME\s+NETWORK\s+MAC\s+IPS\s+KIND\s+STATUS\s+HOST\s+OFPORT$/);
    assert.match(list.stdout, /cli-ep .* 10\.77\.0\.1\s+vm\s+pending\s+-\s+-/);

    const upd = await plexusctl(url, '-o', 'json', 'network', 'update', 'cli-net', '--mtu', '1400');
    assert.equal(upd.code, 0, upd.stderr);
    assert.equal((JSON.parse(upd.stdout) as { mtu: number }).mtu, 1400);

    const refused = await plexusctl(url, 'network', 'delete', 'cli-net');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^plexusctl: 409 Conflict: network "cli-net" still has endpoints/);

    const stale = await plexusctl(url, 'endpoint', 'delete', 'cli-ep', '--if-match', '1');
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /412 Precondition Failed/);
    assert.equal((await plexusctl(url, 'endpoint', 'delete', 'cli-ep')).stdout.trim(), 'endpoint cli-ep deleted');
    assert.equal((await plexusctl(url, 'network', 'delete', 'cli-net')).code, 0);

    // A subnet that cannot be created leaves no network behind.
    const bad = await plexusctl(url, 'network', 'create', 'half', '--cidr', '10.0.0.0/33');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /400 Bad Request/);
    assert.equal((await send('GET', '/v1/networks/half')).status, 404);

    const tenants = await plexusctl(url, '-o', 'json', 'tenant', 'list');
    assert.deepEqual((JSON.parse(tenants.stdout) as { id: string }[]).map((t) => t.id), ['acme', 'default']);
    const help = await plexusctl(url, 'network', 'create', '--help');
    assert.match(help.stdout, /plexusctl network create web --cidr 192\.168\.200\.0\/24/);
  });
});
