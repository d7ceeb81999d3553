import assert from 'node:assert/strict';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { apiHelpers, runPlexusctl as plexusctl } from '../../support/plexus-api';

describe('routers API and plexusctl router through a real plexusd @slow', function () {
  this.timeout(120_000);
  let p: PlexusdProcess;
  const sub: Record<string, string> = {};

  const { send, problem } = apiHelpers(() => p.url);

  before(async () => {
    p = await PlexusdProcess.start({ memberId: 'm1' });
    assert.equal((await send('POST', '/v1/tenants', { name: 'acme' })).status, 201);
    for (const [net, tenant] of [['web', undefined], ['db', undefined], ['web2', undefined], ['other', 'acme']] as const) {
      assert.equal((await send('POST', '/v1/networks', { name: net, ...(tenant ? { tenant } : {}) })).status, 201);
    }
    const mk = async (name: string, network: string, cidr: string, gateway?: string | null) => {
      const r = await send<{ id: string }>('POST', '/v1/subnets', { network, cidr, ...(gateway !== undefined ? { gateway } : {}) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      sub[name] = r.body.id;
    };
    await mk('web', 'web', '10.70.1.0/24');
    await mk('db', 'db', '10.70.2.0/24');
    await mk('web2', 'web2', '10.70.1.0/25');
    await mk('other', 'other', '10.70.3.0/24');
    await mk('nogw', 'db', '10.70.4.0/24', null);
  });

  after(async () => {
    await p?.destroy();
  });

  it('creates a router, puts it on subnets with their gateways and shows it in the endpoint drill-down', async () => {
    const r = await send<{ id: string; mac: string; interfaces: unknown[] }>('POST', '/v1/routers', { name: 'r1' });
    assert.equal(r.status, 201);
    assert.match(r.body.mac, /^0e(:[0-9a-f]{2}){5}$/);
    const added = await send<{ interfaces: { ip: string; cidr: string }[] }>('POST', '/v1/routers/r1/interfaces', { subnet: sub['web'] });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(added.body.interfaces.map((i) => [i.ip, i.cidr]), [['10.70.1.1', '10.70.1.0/24']]);
    assert.equal((await send('POST', '/v1/routers/r1/interfaces', { subnet: sub['db'] })).status, 201);
    const e = await send<{ id: string }>('POST', '/v1/endpoints', { network: 'web', name: 'w1' });
    const shown = await send<{ routers: { name: string; gateway: string }[] }>('GET', `/v1/endpoints/${e.body.id}`);
    assert.deepEqual(shown.body.routers.map((x) => [x.name, x.gateway]), [['r1', '10.70.1.1']]);
    const cli = await plexusctl(p.url, 'router', 'show', 'r1');
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /10\.70\.1\.1 \(10\.70\.1\.0\/24\)/);
  });

  it('refuses overlapping subnets on one router, another tenant\'s subnet, a subnet already on it', async () => {
    await problem('POST', '/v1/routers/r1/interfaces', { subnet: sub['web2'] }, 409, /10\.70\.1\.0\/25 overlaps subnet .* \(10\.70\.1\.0\/24\) already on router "r1"/, 'overlap');
    await problem('POST', '/v1/routers/r1/interfaces', { subnet: sub['other'] }, 409, /tenant "acme".*must share its tenant/, 'tenant');
    await problem('POST', '/v1/routers/r1/interfaces', { subnet: sub['web'] }, 409, /already has an interface on subnet/, 'duplicate');
  });

  it('refuses a gateway address already used by an endpoint, and one missing on a subnet without gateway', async () => {
    const e = await send<{ id: string }>('POST', '/v1/endpoints', { network: 'db', name: 'holder', ips: ['10.70.4.1'] });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    await send('POST', '/v1/routers', { name: 'r2' });
    await problem('POST', '/v1/routers/r2/interfaces', { subnet: sub['nogw'] }, 400, /has no gateway address: give the router's "ip"/);
    await problem('POST', '/v1/routers/r2/interfaces', { subnet: sub['nogw'], ip: '10.70.4.1' }, 409, new RegExp(`gateway address 10\\.70\\.4\\.1 is already used by endpoint ${e.body.id}`), 'duplicate');
    const ok = await send('POST', '/v1/routers/r2/interfaces', { subnet: sub['nogw'], ip: '10.70.4.254' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    await problem('POST', '/v1/endpoints', { network: 'db', ips: ['10.70.4.254'] }, 409, /already used by endpoint router:/, 'duplicate');
  });

  it('checks static routes: next hop inside a router subnet', async () => {
    await problem('PATCH', '/v1/routers/r1', { routes: [{ destination: '10.99.0.0/16', nexthop: '10.55.0.9' }] }, 409, /next hop 10\.55\.0\.9 is in none of router "r1"'s subnets/, 'outside');
    await problem('PATCH', '/v1/routers/r1', { routes: [{ destination: '10.99.0.5/16', nexthop: '10.70.2.9' }] }, 400, /host bits set: did you mean 10\.99\.0\.0\/16/);
    const ok = await send<{ routes: unknown[] }>('PATCH', '/v1/routers/r1', { routes: [{ destination: '10.99.0.0/16', nexthop: '10.70.2.9' }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await problem('DELETE', `/v1/routers/r1/interfaces/${sub['db']}`, undefined, 409, /static route 10\.99\.0\.0\/16 via 10\.70\.2\.9 .* goes through subnet/, 'in-use');
  });

  it('refuses deleting a router with interfaces, or a subnet a router is on; deletes once they are gone', async () => {
    await problem('DELETE', '/v1/routers/r2', undefined, 409, /router "r2" still has 1 interface\(s\)/, 'in-use');
    await problem('DELETE', `/v1/subnets/${sub['web']}`, undefined, 409, /is on router .*remove the router interface first/, 'in-use');
    assert.equal((await send('DELETE', `/v1/routers/r2/interfaces/${sub['nogw']}`)).status, 200);
    assert.equal((await send('DELETE', '/v1/routers/r2')).status, 204);
    const e = await send('POST', '/v1/endpoints', { network: 'db', ips: ['10.70.4.254'] });
    assert.equal(e.status, 201, 'the address the router held is free again');
  });
});
