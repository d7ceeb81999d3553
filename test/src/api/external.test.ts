import assert from 'node:assert/strict';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { apiHelpers, runPlexusctl as plexusctl } from '../../support/plexus-api';

describe('external networks, router gateways and floating IPs through a real plexusd @slow', function () {
  this.timeout(120_000);
  let p: PlexusdProcess;
  const ids: Record<string, string> = {};

  const { send, problem } = apiHelpers(() => p.url);

  before(async () => {
    p = await PlexusdProcess.start({ memberId: 'm1' });
  });
  after(async () => {
    await p?.destroy();
  });

  it('creates an external network with its physical network, and refuses half of one', async () => {
    const ext = await send<{ id: string; external: boolean; physicalNetwork: string }>('POST', '/v1/networks', { name: 'public', external: true, physicalNetwork: 'physnet1' });
    assert.equal(ext.status, 201, JSON.stringify(ext.body));
    assert.equal(ext.body.external, true);
    assert.equal(ext.body.physicalNetwork, 'physnet1');
    ids['public'] = ext.body.id;
    await problem('POST', '/v1/networks', { name: 'x1', external: true }, 400, /needs "physicalNetwork"/);
    await problem('POST', '/v1/networks', { name: 'x2', physicalNetwork: 'physnet1' }, 400, /only for an external network/);
    await problem('POST', '/v1/networks', { name: 'x3', external: true, physicalNetwork: 'phys:1' }, 400, /physicalNetwork "phys:1" is invalid/);
    assert.equal((await send('POST', '/v1/subnets', { network: 'public', cidr: '198.51.100.0/24' })).status, 201);
    assert.equal((await send('POST', '/v1/networks', { name: 'inside' })).status, 201);
    const s = await send<{ id: string }>('POST', '/v1/subnets', { network: 'inside', cidr: '10.80.1.0/24' });
    ids['inside-subnet'] = s.body.id;
    const e = await send<{ id: string; ips: string[] }>('POST', '/v1/endpoints', { network: 'inside', name: 'web1' });
    assert.equal(e.status, 201);
    ids['web1'] = e.body.id;
  });

  it('gives a router an external gateway with an address of its own, and refuses a network that is not external', async () => {
    assert.equal((await send('POST', '/v1/routers', { name: 'r1' })).status, 201);
    assert.equal((await send('POST', '/v1/routers/r1/interfaces', { subnet: ids['inside-subnet'] })).status, 201);
    await problem('PATCH', '/v1/routers/r1', { externalGateway: { network: 'inside' } }, 400, /network "inside" \(.*\) is not external/);
    const r = await send<{ externalGateway: { network: string; ip: string; snat: boolean } }>('PATCH', '/v1/routers/r1', { externalGateway: { network: 'public' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.externalGateway.network, ids['public']);
    assert.equal(r.body.externalGateway.snat, true);
    assert.equal(r.body.externalGateway.ip, '198.51.100.2', 'the first free address (.1 is the gateway)');
    const again = await send<{ externalGateway: { ip: string; snat: boolean } }>('PATCH', '/v1/routers/r1', { externalGateway: { network: 'public', snat: false } });
    assert.deepEqual([again.body.externalGateway.ip, again.body.externalGateway.snat], ['198.51.100.2', false], 'same network: same address');
    await send('PATCH', '/v1/routers/r1', { externalGateway: { network: 'public' } });
  });

  it('allocates, assigns, shows on the endpoint, releases and deletes a floating IP', async () => {
    await problem('POST', '/v1/floating-ips', { network: 'inside' }, 400, /network "inside" .* is not external: floating IPs .* "external": true/);
    await problem('POST', '/v1/floating-ips', { network: 'public', address: '203.0.113.5' }, 400, /address 203\.0\.113\.5 is in no subnet of external network "public" \(198\.51\.100\.0\/24\)/);
    await problem('POST', '/v1/floating-ips', { network: 'public', address: '198.51.100.2' }, 409, /already used \(by router:/);
    await problem('POST', '/v1/floating-ips', { network: 'public', endpoint: 'web1', fixedIp: '10.80.1.99' }, 400, /fixedIp 10\.80\.1\.99 is not an IPv4 address of endpoint/);
    await problem('POST', '/v1/floating-ips', { network: 'public', endpoint: 'nope' }, 404, /nope/);
    assert.equal((await send('POST', '/v1/networks', { name: 'island' })).status, 201);
    assert.equal((await send('POST', '/v1/subnets', { network: 'island', cidr: '10.80.9.0/24' })).status, 201);
    assert.equal((await send('POST', '/v1/endpoints', { network: 'island', name: 'lonely' })).status, 201);
    await problem('POST', '/v1/floating-ips', { network: 'public', endpoint: 'lonely' }, 409, /external network "public" is not reachable from endpoint .* \(10\.80\.9\.\d+\): subnet 10\.80\.9\.0\/24 is on no router/);
    const f = await send<{ id: string; address: string; endpoint: string; fixedIp: string }>('POST', '/v1/floating-ips', { network: 'public', endpoint: 'web1' });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    assert.equal(f.body.address, '198.51.100.3');
    assert.equal(f.body.endpoint, ids['web1']);
    const shown = await send<{ floatingIps?: { address: string; fixedIp: string }[]; ips: string[] }>('GET', '/v1/endpoints/web1');
    assert.deepEqual(shown.body.floatingIps?.map((x) => [x.address, x.fixedIp]), [['198.51.100.3', shown.body.ips[0]]]);
    const released = await send<{ endpoint: string | null }>('PATCH', `/v1/floating-ips/${f.body.id}`, { endpoint: null });
    assert.equal(released.status, 200);
    assert.equal(released.body.endpoint, null);
    assert.equal((await send<{ floatingIps?: unknown }>('GET', '/v1/endpoints/web1')).body.floatingIps, undefined);
    assert.equal((await send('DELETE', `/v1/floating-ips/${f.body.id}`)).status, 204);
    const again = await send<{ address: string }>('POST', '/v1/floating-ips', { network: 'public' });
    assert.equal(again.body.address, '198.51.100.3', 'the address went back to IPAM');
  });

  it('plexusctl fip creates, assigns, lists and releases; a non-external network is refused with the reason', async () => {
    const created = await plexusctl(p.url, '-o', 'json', 'fip', 'create', '--network', 'public', '--endpoint', 'web1');
    assert.equal(created.code, 0, created.stderr);
    const f = JSON.parse(created.stdout) as { id: string; address: string; endpoint: string };
    assert.equal(f.endpoint, ids['web1']);
    const list = await plexusctl(p.url, 'fip', 'list');
    assert.match(list.stdout, new RegExp(`${f.address.replace(/\./g, '\\.')}\\s+${ids['public']}\\s+${ids['web1']}`));
    const released = await plexusctl(p.url, '-o', 'json', 'fip', 'release', f.id);
    assert.equal((JSON.parse(released.stdout) as { endpoint: null }).endpoint, null);
    const gw = await plexusctl(p.url, 'router', 'update', 'r1', '--external-gateway', 'public', '--no-snat');
    assert.equal(gw.code, 0, gw.stderr);
    assert.match(gw.stdout, /198\.51\.100\.2(?! \(snat\))/);
    const off = await plexusctl(p.url, '-o', 'json', 'router', 'update', 'r1', '--no-external-gateway');
    assert.equal((JSON.parse(off.stdout) as { externalGateway?: unknown }).externalGateway, undefined);
    assert.equal((await send('PATCH', '/v1/routers/r1', { externalGateway: { network: 'public' } })).status, 200);
    assert.equal((await send('POST', '/v1/routers', { name: 'r2' })).status, 201);
    assert.equal((await send('PATCH', '/v1/routers/r2', { externalGateway: { network: 'public' } })).status, 200);
    const r2 = await send<{ externalGateway: { ip: string } }>('GET', '/v1/routers/r2');
    assert.equal((await send('DELETE', '/v1/routers/r2')).status, 204);
    await problem('POST', '/v1/floating-ips', { network: 'public', address: '198.51.100.2' }, 409, /already used/);
    assert.equal((await send('POST', '/v1/floating-ips', { network: 'public', address: r2.body.externalGateway.ip })).status, 201, 'a deleted router gives its gateway address back');
    const net = await plexusctl(p.url, '-o', 'json', 'network', 'create', 'public2', '--external', 'physnet2', '--cidr', '203.0.113.0/24');
    assert.equal(net.code, 0, net.stderr);
    assert.equal((JSON.parse(net.stdout) as { physicalNetwork: string }).physicalNetwork, 'physnet2');
    const bad = await plexusctl(p.url, 'fip', 'create', '--network', 'inside');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not external/);
  });
});
