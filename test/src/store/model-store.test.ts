import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { ConflictError } from '../../../src/store/collection';
import { AddressError } from '../../../src/store/ipam';
import { Keys } from '../../../src/store/keys';
import type { Binding } from '../../../src/store/model';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError, type ConflictReason } from '../../../src/store/model-errors';
import { ModelStore } from '../../../src/store/model-store';
import { TestEtcd } from '../../support/test-etcd';

/** Asserts a 409 with the given reason and a message matching `re`. */
async function rejects409(p: Promise<unknown>, reason: ConflictReason, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ResourceConflictError, `expected ResourceConflictError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.match(err.message, re);
    return true;
  });
}

async function rejects404(p: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ResourceNotFoundError && err.kind === kind);
}

async function rejects412(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ConflictError && /If-Match/.test(err.message));
}

describe('ModelStore against a real etcd @slow', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let c1: Etcd3;
  let c2: Etcd3;
  let keys: Keys;
  let store: ModelStore;
  let store2: ModelStore;

  before(async () => {
    etcd = await TestEtcd.start('model-store');
    c1 = etcd.client();
    c2 = etcd.client();
    keys = new Keys('/plexus-test/');
    store = new ModelStore(c1, keys);
    // A second member: its own client and store, same etcd.
    store2 = new ModelStore(c2, keys);
  });

  after(async () => {
    await etcd?.stop();
  });

  describe('tenants', () => {
    it('creates, lists (with the implicit default), renames with If-Match, refuses duplicates and deleting one in use', async () => {
      const t = await store.createTenant({ name: 'acme' });
      assert.equal(t.value.id, 'acme');
      await rejects409(store.createTenant({ name: 'acme' }), 'duplicate', /tenant "acme" already exists/);
      assert.deepEqual((await store.listTenants()).map((x) => x.value.id), ['acme', 'default']);
      await rejects412(store.updateTenant('acme', { name: 'Acme' }, '1'));
      const renamed = await store.updateTenant('acme', { name: 'Acme' }, t.revision);
      assert.equal(renamed.value.name, 'Acme');
      const n = await store.createNetwork({ name: 'web', tenant: 'acme' });
      await rejects409(store.deleteTenant('acme'), 'in-use', /still has networks/);
      await store.deleteNetwork(n.value.id);
      await store.deleteTenant('acme');
      await rejects404(store.getTenant('acme'), 'tenant');
      await rejects409(store.deleteTenant('default'), 'in-use', /cannot be deleted/);
      await assert.rejects(store.createTenant({ name: 'no/slash' }), InvalidRequestError);
    });
  });

  describe('networks', () => {
    it('allocates a VNI, defaults the MTU, reserves the name per tenant', async () => {
      const n = await store.createNetwork({ name: 'net-a' });
      assert.ok(n.value.vni >= 1 && n.value.vni <= 16_777_215);
      assert.equal(n.value.mtu, 1450);
      assert.equal(n.value.tenant, 'default');
      assert.equal((await c1.get(keys.vni(n.value.vni)).string()), n.value.id);
      await rejects409(store.createNetwork({ name: 'net-a' }), 'duplicate', /network "net-a" already exists in tenant "default"/);
      await rejects409(store2.createNetwork({ name: 'net-a', mtu: 9000 }), 'duplicate', /already exists/);
      await rejects404(store.createNetwork({ name: 'net-a', tenant: 'nobody' }), 'tenant');
      await assert.rejects(store.createNetwork({ name: 'x', mtu: 100 }), InvalidRequestError);
    });

    it('takes a client id (as plexus-docker does) and refuses a second network with it', async () => {
      const n = await store.createNetwork({ id: 'docker-0123abcd', name: 'chosen' });
      assert.equal(n.value.id, 'docker-0123abcd');
      assert.equal((await store.resolveNetwork('docker-0123abcd')).value.name, 'chosen');
      await rejects409(store2.createNetwork({ id: 'docker-0123abcd', name: 'other' }), 'duplicate', /network "docker-0123abcd" already exists/);
      await rejects404(store.resolveNetwork('other'), 'network');
      await assert.rejects(store.createNetwork({ id: 'no/slash', name: 'x' }), InvalidRequestError);
      await store.deleteNetwork(n.value.id);
    });

    it('gives 50 networks created at once on two members 50 distinct VNIs', async () => {
      const created = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? store : store2).createNetwork({ name: `many-${i}` })),
      );
      assert.equal(new Set(created.map((n) => n.value.vni)).size, 50);
      await Promise.all(created.map((n) => store.deleteNetwork(n.value.id)));
    });

    it('lets only one of two concurrent creates with one name win', async () => {
      const results = await Promise.allSettled([store.createNetwork({ name: 'race' }), store2.createNetwork({ name: 'race' })]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      await store.deleteNetwork('race');
    });

    it('resolves by id or name; names are per tenant; ambiguity is a 409', async () => {
      await store.createTenant({ name: 't1' });
      await store.createTenant({ name: 't2' });
      const a = await store.createNetwork({ name: 'shared', tenant: 't1' });
      assert.equal((await store.resolveNetwork('shared')).value.id, a.value.id, 'unique name in some tenant');
      const b2 = await store.createNetwork({ name: 'shared', tenant: 't2' });
      await rejects409(store.resolveNetwork('shared'), 'ambiguous', /t1, t2/);
      assert.equal((await store.resolveNetwork('shared', 't2')).value.id, b2.value.id);
      assert.equal((await store.resolveNetwork(a.value.id)).value.id, a.value.id);
      const d = await store.createNetwork({ name: 'shared' });
      assert.equal((await store.resolveNetwork('shared')).value.id, d.value.id, 'the default tenant wins');
      await rejects404(store.resolveNetwork('nope'), 'network');
      for (const n of [a, b2, d]) await store.deleteNetwork(n.value.id);
    });

    it('updates name and MTU with If-Match (412 on a stale revision), moving the name index', async () => {
      const n = await store.createNetwork({ name: 'old-name' });
      await store.createNetwork({ name: 'taken' });
      await rejects412(store.updateNetwork('old-name', { mtu: 1400 }, String(BigInt(n.revision) - 1n)));
      await rejects409(store.updateNetwork('old-name', { name: 'taken' }), 'duplicate', /"taken" already exists/);
      const u = await store.updateNetwork('old-name', { name: 'new-name', mtu: 1400 }, n.revision);
      assert.deepEqual([u.value.name, u.value.mtu, u.value.vni], ['new-name', 1400, n.value.vni]);
      await rejects404(store.resolveNetwork('old-name'), 'network');
      assert.equal((await store.resolveNetwork('new-name')).value.id, n.value.id);
      await rejects412(store.updateNetwork('new-name', { mtu: 1300 }, n.revision));
      await rejects412(store.deleteNetwork('new-name', n.revision));
      // The old name is free again.
      const again = await store.createNetwork({ name: 'old-name' });
      await store.deleteNetwork(again.value.id);
      await store.deleteNetwork('new-name', u.revision);
      await store.deleteNetwork('taken');
    });

    it('loses no update when two members patch one network at once', async () => {
      const n = await store.createNetwork({ name: 'patched' });
      await Promise.all([store.updateNetwork(n.value.id, { mtu: 1400 }), store2.updateNetwork(n.value.id, { name: 'patched-2' })]);
      const got = await store.resolveNetwork(n.value.id);
      assert.deepEqual([got.value.name, got.value.mtu], ['patched-2', 1400]);
      await store.deleteNetwork(n.value.id);
    });
  });

  describe('subnets', () => {
    it('validates CIDR, gateway and pools; rejects overlaps naming the other subnet', async () => {
      const n = await store.createNetwork({ name: 'sub-net' });
      const s = await store.createSubnet({ network: 'sub-net', cidr: '10.10.0.7/24' });
      assert.deepEqual([s.value.cidr, s.value.gateway, s.value.ipVersion, s.value.dhcp], ['10.10.0.0/24', '10.10.0.1', 4, true]);
      assert.deepEqual(s.value.allocationPools, [{ start: '10.10.0.2', end: '10.10.0.254' }]);
      await rejects409(store.createSubnet({ network: n.value.id, cidr: '10.10.0.128/25' }), 'overlap', new RegExp(`overlaps subnet ${s.value.id} \\(10\\.10\\.0\\.0/24\\)`));
      await assert.rejects(store.createSubnet({ network: n.value.id, cidr: '10.11.0.0/24', gateway: '10.12.0.1' }), (e: unknown) => e instanceof AddressError && /outside/.test(e.message));
      await assert.rejects(store.createSubnet({ network: n.value.id, cidr: '10.11.0.0/24', gateway: '10.11.0.255' }), /broadcast/);
      await assert.rejects(store.createSubnet({ network: n.value.id, cidr: '10.11.0.0/24', gateway: '10.11.0.0' }), /network address/);
      await assert.rejects(store.createSubnet({ network: n.value.id, cidr: '10.11.0.0/33' }), AddressError);
      await assert.rejects(
        store.createSubnet({ network: n.value.id, cidr: '10.11.0.0/24', allocationPools: [{ start: '10.11.1.1', end: '10.11.1.9' }] }),
        /not inside/,
      );
      await rejects404(store.createSubnet({ network: 'missing', cidr: '10.11.0.0/24' }), 'network');
      const v6 = await store.createSubnet({ network: n.value.id, cidr: '2001:DB8:1::/64', dnsServers: ['2001:4860:4860:0:0:0:0:8888'] });
      assert.deepEqual([v6.value.cidr, v6.value.gateway, v6.value.ipVersion, v6.value.dnsServers], ['2001:db8:1::/64', '2001:db8:1::1', 6, ['2001:4860:4860::8888']]);
      // Same CIDR in another network is fine.
      const other = await store.createNetwork({ name: 'sub-net-2' });
      await store.createSubnet({ network: other.value.id, cidr: '10.10.0.0/24' });
      assert.equal((await store.listSubnets({ network: 'sub-net' })).length, 2);
      // Deleting the network deletes its subnets.
      await store.deleteNetwork(other.value.id);
      assert.equal((await store.listSubnets()).filter((x) => x.value.network === other.value.id).length, 0);
    });

    it('never lets two members add overlapping subnets at once', async () => {
      const n = await store.createNetwork({ name: 'overlap-race' });
      const results = await Promise.allSettled([
        store.createSubnet({ network: n.value.id, cidr: '10.20.0.0/16' }),
        store2.createSubnet({ network: n.value.id, cidr: '10.20.5.0/24' }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      await store.deleteNetwork(n.value.id);
    });

    it('updates dhcp/dns/routes with If-Match and refuses deleting a subnet with allocated addresses', async () => {
      const n = await store.createNetwork({ name: 'sub-upd' });
      const s = await store.createSubnet({ network: n.value.id, cidr: '10.30.0.0/24' });
      await rejects412(store.updateSubnet(s.value.id, { dhcp: false }, '999999'));
      const u = await store.updateSubnet(s.value.id, { dhcp: false, routes: [{ destination: '10.99.0.9/16', nexthop: '10.30.0.1' }] }, s.revision);
      assert.deepEqual([u.value.dhcp, u.value.routes], [false, [{ destination: '10.99.0.0/16', nexthop: '10.30.0.1' }]]);
      const e = await store.createEndpoint({ network: n.value.id });
      await rejects409(store.deleteSubnet(s.value.id), 'in-use', /still has allocated addresses/);
      await rejects409(store.deleteNetwork(n.value.id), 'in-use', /still has endpoints/);
      await store.deleteEndpoint(e.value.id);
      await rejects412(store.deleteSubnet(s.value.id, s.revision));
      await store.deleteSubnet(s.value.id, u.revision);
      await rejects404(store.getSubnet(s.value.id), 'subnet');
      await store.deleteNetwork(n.value.id);
    });
  });

  describe('endpoints', () => {
    let netId: string;
    let v4: string;
    let v6: string;
    before(async () => {
      netId = (await store.createNetwork({ name: 'ep-net' })).value.id;
      v4 = (await store.createSubnet({ network: netId, cidr: '192.168.200.0/24' })).value.id;
      v6 = (await store.createSubnet({ network: netId, cidr: 'fd00:200::/64' })).value.id;
    });

    it('allocates one v4 and one v6 address and a MAC; keeps the index keys', async () => {
      const e = await store.createEndpoint({ network: 'ep-net', name: 'c1', kind: 'container' });
      assert.deepEqual(e.value.ips, ['192.168.200.2', 'fd00:200::2']);
      assert.match(e.value.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      assert.equal(parseInt(e.value.mac.slice(0, 2), 16) & 0x03, 0x02);
      // An address key is only "taken": the endpoint record says by whom (model-reads.ts addressHolder).
      assert.equal(await c1.get(keys.ip(v4, '192.168.200.2')).string(), '');
      assert.equal(await c1.get(keys.ip(v6, 'fd00:200::2')).string(), '');
      await rejects409(store2.createEndpoint({ network: 'ep-net', ips: ['192.168.200.2'] }), 'duplicate', new RegExp(`address 192\\.168\\.200\\.2 is already used by endpoint ${e.value.id}$`));
      await rejects409(store2.deleteSubnet(v4), 'in-use', new RegExp(`e\\.g\\. 192\\.168\\.200\\.2 of endpoint ${e.value.id}\\)`));
      assert.equal(await c1.get(keys.mac(e.value.mac)).string(), e.value.id);
      assert.equal(await c1.get(keys.endpointNetwork(e.value.id)).string(), netId);
      const got = await store.getEndpoint(e.value.id);
      assert.equal(got.binding, undefined);
      assert.deepEqual(got.value, e.value);
      await store.deleteEndpoint(e.value.id);
    });

    it('takes a client id, MAC and addresses; refuses duplicates, outside and reserved addresses', async () => {
      const e = await store.createEndpoint({ network: netId, id: 'port-1', mac: '02:AA:00:00:00:01', ips: ['192.168.200.77'] });
      assert.deepEqual([e.value.id, e.value.mac, e.value.ips], ['port-1', '02:aa:00:00:00:01', ['192.168.200.77']]);
      await rejects409(store2.createEndpoint({ network: netId, id: 'port-1' }), 'duplicate', /endpoint "port-1" already exists/);
      await rejects409(store.createEndpoint({ network: netId, mac: '02:aa:00:00:00:01' }), 'duplicate', /MAC 02:aa:00:00:00:01 is already used by endpoint port-1/);
      await rejects409(store.createEndpoint({ network: netId, ips: ['192.168.200.77'] }), 'duplicate', /address 192\.168\.200\.77 is already used by endpoint port-1/);
      await rejects409(store.createEndpoint({ network: netId, ips: ['10.0.0.5'] }), 'outside', /outside every subnet of network "ep-net"/);
      await rejects409(store.createEndpoint({ network: netId, ips: ['192.168.200.1'] }), 'reserved', /gateway/);
      await rejects409(store.createEndpoint({ network: netId, ips: ['192.168.200.255'] }), 'reserved', /broadcast/);
      await assert.rejects(store.createEndpoint({ network: netId, ips: ['192.168.200.8', '192.168.200.9'] }), InvalidRequestError);
      await assert.rejects(store.createEndpoint({ network: netId, mac: '01:00:5e:00:00:01' }), AddressError);
      await rejects404(store.createEndpoint({ network: 'no-such-net' }), 'network');
      // Allocation passes over the explicitly taken address.
      const v6only = await store.createEndpoint({ network: netId, ips: ['FD00:200::0:77'] });
      assert.deepEqual(v6only.value.ips, ['fd00:200::77']);
      const none = await store.createEndpoint({ network: netId, ips: [] });
      assert.deepEqual(none.value.ips, []);
      await rejects404(store.getEndpoint('nope'), 'endpoint');
      for (const x of [e, v6only, none]) await store.deleteEndpoint(x.value.id);
    });

    it('returns the binding with the endpoint, deletes it with the endpoint, and frees everything for reuse', async () => {
      const e = await store.createEndpoint({ network: netId, id: 'bound-1', mac: '02:bb:00:00:00:01' });
      const binding: Binding = { endpoint: 'bound-1', host: 'h1', ofport: 7, ifaceName: 'tap1', status: 'bound', history: [], updatedAt: new Date().toISOString() };
      await c1.put(keys.binding('bound-1')).value(JSON.stringify(binding));
      assert.deepEqual((await store.getEndpoint('bound-1')).binding, binding);
      await rejects412(store.deleteEndpoint('bound-1', '1'));
      await store.deleteEndpoint('bound-1', e.revision);
      assert.equal(await c1.get(keys.binding('bound-1')).string(), null);
      assert.equal(await c1.get(keys.mac('02:bb:00:00:00:01')).string(), null);
      assert.equal(await c1.get(keys.endpointNetwork('bound-1')).string(), null);
      for (const ip of e.value.ips) assert.equal(await c1.getAll().prefix(keys.ips(v4)).keys().then((k) => k.some((x) => x.endsWith(`/${ip}`))), false);
      // Same id, MAC and addresses are free again.
      const again = await store.createEndpoint({ network: netId, id: 'bound-1', mac: '02:bb:00:00:00:01', ips: e.value.ips });
      assert.deepEqual(again.value.ips, e.value.ips);
      await store.deleteEndpoint('bound-1');
      await rejects404(store.deleteEndpoint('bound-1'), 'endpoint');
    });

    it('updates name, labels and security groups with If-Match', async () => {
      const e = await store.createEndpoint({ network: netId, name: 'a', labels: { tier: 'web' } });
      await rejects412(store.updateEndpoint(e.value.id, { name: 'b' }, '5'));
      const u = await store.updateEndpoint(e.value.id, { name: 'b', securityGroups: ['sg1', 'sg1', 'sg2'] }, e.revision);
      assert.deepEqual([u.value.name, u.value.labels, u.value.securityGroups, u.value.ips], ['b', { tier: 'web' }, ['sg1', 'sg2'], e.value.ips]);
      await rejects404(store.updateEndpoint('nope', { name: 'x' }), 'endpoint');
      await store.deleteEndpoint(e.value.id);
    });

    it('gives 40 endpoints created at once through two clients distinct addresses and MACs on a /26, then a clean exhaustion error', async () => {
      const n = await store.createNetwork({ name: 'small' });
      const s = await store.createSubnet({ network: n.value.id, cidr: '10.40.0.0/26' });
      // A /26 has 61 allocatable addresses (.2-.62).
      const created = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : store2).createEndpoint({ network: 'small', name: `e${i}` })));
      const ips = created.map((e) => e.value.ips[0]!);
      assert.equal(new Set(ips).size, 40, 'distinct IPs');
      assert.equal(new Set(created.map((e) => e.value.mac)).size, 40, 'distinct MACs');
      for (const ip of ips) assert.match(ip, /^10\.40\.0\.([2-9]|[1-5]\d|6[0-2])$/);
      const stored = await c1.getAll().prefix(keys.ips(s.value.id)).keys();
      assert.equal(stored.length, 40);
      // Fill the rest (21), then one more fails cleanly.
      const rest = await Promise.all(Array.from({ length: 21 }, (_, i) => (i % 2 ? store2 : store).createEndpoint({ network: n.value.id, name: `r${i}` })));
      assert.equal(new Set([...ips, ...rest.map((e) => e.value.ips[0]!)]).size, 61);
      await rejects409(store.createEndpoint({ network: n.value.id }), 'exhausted', /no free IPv4 address left in any subnet of the network \(10\.40\.0\.0\/26\)/);
      // Releasing one makes exactly that address available again (the pool has wrapped: it is the only free one).
      const freed = created[7]!;
      await store2.deleteEndpoint(freed.value.id);
      const reuse = await store.createEndpoint({ network: n.value.id });
      assert.deepEqual(reuse.value.ips, freed.value.ips);
      for (const e of [...created.filter((x) => x !== freed), ...rest, reuse]) await store.deleteEndpoint(e.value.id);
      assert.equal((await c1.getAll().prefix(keys.ips(s.value.id)).keys()).length, 0);
      await store.deleteNetwork(n.value.id);
    });

    it('hands out next fit: a freed address is not the next one while others are free (peers may still cache its old MAC)', async () => {
      const n = await store.createNetwork({ name: 'nextfit' });
      const s = await store.createSubnet({ network: n.value.id, cidr: '10.41.0.0/28' });
      // .2-.14 allocatable: take .2-.5, free .3, the next create gets .6, not .3.
      const first = [];
      for (let i = 0; i < 4; i++) first.push(await store.createEndpoint({ network: n.value.id }));
      assert.deepEqual(first.map((e) => e.value.ips[0]), ['10.41.0.2', '10.41.0.3', '10.41.0.4', '10.41.0.5']);
      await store.deleteEndpoint(first[1]!.value.id);
      const next = await store2.createEndpoint({ network: n.value.id });
      assert.equal(next.value.ips[0], '10.41.0.6', 'the freed 10.41.0.3 must not come straight back');
      // Fill to the end of the pool; then the allocator wraps round and finds the hole.
      const more = [];
      for (let i = 0; i < 8; i++) more.push(await store.createEndpoint({ network: n.value.id }));
      assert.deepEqual(more.map((e) => e.value.ips[0]), ['10.41.0.7', '10.41.0.8', '10.41.0.9', '10.41.0.10', '10.41.0.11', '10.41.0.12', '10.41.0.13', '10.41.0.14']);
      const wrapped = await store.createEndpoint({ network: n.value.id });
      assert.equal(wrapped.value.ips[0], '10.41.0.3');
      await rejects409(store.createEndpoint({ network: n.value.id }), 'exhausted', /no free IPv4 address left/);
      for (const e of [first[0]!, ...first.slice(2), next, ...more, wrapped]) await store.deleteEndpoint(e.value.id);
      await store.deleteNetwork(n.value.id);
      assert.equal(await c1.get(keys.ipamCursor(s.value.id)).string(), null, 'the cursor goes with its subnet');
    });

    it('refuses an endpoint whose network is deleted while it is created (no orphan)', async () => {
      const n = await store.createNetwork({ name: 'vanishing' });
      await store.createSubnet({ network: n.value.id, cidr: '10.50.0.0/24' });
      const results = await Promise.allSettled([store.createEndpoint({ network: n.value.id }), store2.deleteNetwork(n.value.id)]);
      const [ep, del] = results;
      if (ep!.status === 'fulfilled') {
        assert.equal(del!.status, 'rejected', 'network delete must fail when an endpoint got in first');
        await store.deleteEndpoint(ep.value.value.id);
        await store.deleteNetwork(n.value.id);
      } else {
        assert.equal(del!.status, 'fulfilled');
      }
      assert.equal((await c1.getAll().prefix(keys.endpoints(n.value.id)).keys()).length, 0);
    });
  });
});
