/**
 * Endpoint names by index against a real etcd: two members creating or
 * renaming to one name at once, exactly one wins; and an etcd holding records
 * as the previous version wrote them (full JSON, no name keys) reads the same
 * and keeps the old names enforced.
 */
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { silentLogger } from '../../../src/log';
import { Keys } from '../../../src/store/keys';
import type { Binding, Endpoint } from '../../../src/store/model';
import { ModelCache } from '../../../src/store/model-cache';
import { ResourceConflictError } from '../../../src/store/model-errors';
import { ModelStore } from '../../../src/store/model-store';
import { TestEtcd } from '../../support/test-etcd';

function isDuplicateName(err: unknown): boolean {
  return err instanceof ResourceConflictError && err.reason === 'duplicate' && /endpoint name "[^"]+" is already used in tenant/.test(err.message);
}

describe('endpoint names by index, against a real etcd @slow', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let c1: Etcd3;
  let c2: Etcd3;

  before(async () => {
    etcd = await TestEtcd.start('endpoint-names');
    c1 = etcd.client();
    c2 = etcd.client();
  });

  after(async () => {
    await etcd?.stop();
  });

  describe('two members', () => {
    const keys = new Keys('/names-race/');
    let a: ModelStore;
    let b: ModelStore;
    let net: string;
    let otherTenantNet: string;

    before(async () => {
      a = new ModelStore(c1, keys);
      b = new ModelStore(c2, keys);
      net = (await a.createNetwork({ name: 'n1' })).value.id;
      await a.createSubnet({ network: net, cidr: '10.1.0.0/24' });
      await a.createTenant({ id: 't2', name: 't2' });
      otherTenantNet = (await a.createNetwork({ name: 'n1', tenant: 't2' })).value.id;
    });

    it('creating one name at once on both: exactly one succeeds, the other is refused as a duplicate', async () => {
      for (let round = 0; round < 10; round++) {
        const name = `race-${round}`;
        const results = await Promise.allSettled([a, b, a, b].map((s) => s.createEndpoint({ network: net, name })));
        const won = results.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
        for (const r of results) if (r.status === 'rejected') assert.ok(isDuplicateName(r.reason), String(r.reason));
        const id = (won[0] as PromiseFulfilledResult<{ value: Endpoint }>).value.value.id;
        assert.equal(await c1.get(keys.endpointName('default', name)).string(), id);
        assert.equal((await a.listEndpoints()).filter((e) => e.value.name === name).length, 1);
      }
    });

    it('renaming two endpoints to one name at once: exactly one gets it, and the loser keeps its name', async () => {
      const x = await a.createEndpoint({ network: net, name: 'x' });
      const y = await b.createEndpoint({ network: net, name: 'y' });
      const results = await Promise.allSettled([a.updateEndpoint(x.value.id, { name: 'z' }), b.updateEndpoint(y.value.id, { name: 'z' })]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, results.map((r) => r.status).join(', '));
      const loser = results[0]!.status === 'rejected' ? x : y;
      assert.ok(isDuplicateName((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason));
      assert.equal((await a.getEndpoint(loser.value.id)).value.name, loser.value.name);
      assert.equal(await c1.get(keys.endpointName('default', loser.value.name)).string(), loser.value.id);
      const winner = loser === x ? y : x;
      assert.equal(await c1.get(keys.endpointName('default', 'z')).string(), winner.value.id);
      assert.equal(await c1.get(keys.endpointName('default', winner.value.name)).string(), null, 'the old name is freed');
    });

    it('a rename frees the old name, a delete frees the name, and another tenant may use it meanwhile', async () => {
      const e = await a.createEndpoint({ network: net, name: 'kept' });
      await a.createEndpoint({ network: otherTenantNet, name: 'kept' });
      await assert.rejects(b.createEndpoint({ network: net, name: 'kept' }), isDuplicateName);
      await a.updateEndpoint(e.value.id, { name: 'renamed' });
      const second = await b.createEndpoint({ network: net, name: 'kept' });
      await assert.rejects(a.updateEndpoint(second.value.id, { name: 'renamed' }), isDuplicateName);
      await a.updateEndpoint(e.value.id, { labels: { a: 'b' } }); // not a rename: the name key stays
      assert.equal(await c1.get(keys.endpointName('default', 'renamed')).string(), e.value.id);
      await a.deleteEndpoint(e.value.id);
      assert.equal(await c1.get(keys.endpointName('default', 'renamed')).string(), null);
      await b.createEndpoint({ network: net, name: 'renamed' });
    });
  });

  describe('an etcd written by the previous version', () => {
    const keys = new Keys('/names-upgrade/');
    const NET = 'net-old';
    const at = '2026-11-30T10:00:00.000Z';
    const oldEndpoint = (id: string, name: string, mac: string, ip: string): Endpoint => ({
      id,
      name,
      network: NET,
      mac,
      ips: [ip],
      kind: 'vm',
      labels: { app: 'db' },
      securityGroups: [],
      createdAt: at,
      updatedAt: '2026-11-30T11:00:00.000Z',
      qosPolicy: null,
    });
    const old1 = oldEndpoint('old-1', 'web', '02:00:00:00:00:01', '10.9.0.2');
    const old2 = oldEndpoint('old-2', 'db', '02:00:00:00:00:02', '10.9.0.3');
    const oldBinding: Binding = {
      endpoint: 'old-1',
      host: 'h1',
      ofport: 3,
      ifaceName: 'tap3',
      status: 'installed',
      history: [
        { status: 'bound', at, host: 'h1' },
        { status: 'installed', at: '2026-11-30T10:00:00.012Z', host: 'h1' },
      ],
      updatedAt: '2026-11-30T10:00:00.012Z',
    };

    before(async () => {
      // The keys and values exactly as main wrote them before the short form and the name index.
      const put = (k: string, v: unknown) => c1.put(k).value(typeof v === 'string' ? v : JSON.stringify(v));
      await put(keys.network(NET), { id: NET, name: 'old', tenant: 'default', vni: 77, mtu: 1450, createdAt: at, updatedAt: at });
      await put(keys.networkName('default', 'old'), NET);
      await put(keys.vni(77), NET);
      await put(keys.subnet(NET, 'sub-old'), {
        id: 'sub-old',
        network: NET,
        cidr: '10.9.0.0/24',
        ipVersion: 4,
        gateway: '10.9.0.1',
        allocationPools: [{ start: '10.9.0.2', end: '10.9.0.254' }],
        dhcp: true,
        dnsServers: [],
        routes: [],
        createdAt: at,
        updatedAt: at,
      });
      for (const e of [old1, old2]) {
        await put(keys.endpoint(NET, e.id), e);
        await put(keys.endpointNetwork(e.id), NET);
        await put(keys.mac(e.mac), e.id);
        await put(keys.ip('sub-old', e.ips[0]!), e.id);
      }
      await put(keys.binding('old-1'), oldBinding);
    });

    it('reads endpoints and bindings as they were, in the store and in the model cache', async () => {
      const store = new ModelStore(c2, keys);
      const got = await store.getEndpoint('old-1');
      assert.equal(JSON.stringify(got.value), JSON.stringify(old1));
      assert.equal(JSON.stringify(got.binding), JSON.stringify(oldBinding));
      const cache = new ModelCache(c2, keys, silentLogger());
      await cache.start();
      try {
        assert.equal(JSON.stringify(cache.endpoint('old-2')), JSON.stringify(old2));
        assert.equal(JSON.stringify(cache.bindings.get('old-1')), JSON.stringify(oldBinding));
        assert.deepEqual([...cache.hostsOf(NET)], ['h1']);
      } finally {
        await cache.stop();
      }
    });

    it('keeps the names of endpoints written before the index enforced, from either member', async () => {
      const a = new ModelStore(c1, keys);
      const b = new ModelStore(c2, keys);
      const results = await Promise.allSettled([a.createEndpoint({ network: NET, name: 'web' }), b.createEndpoint({ network: NET, name: 'db' })]);
      for (const r of results) assert.ok(r.status === 'rejected' && isDuplicateName(r.reason), r.status === 'rejected' ? String(r.reason) : 'created');
      assert.equal(await c1.get(keys.endpointName('default', 'web')).string(), 'old-1');
      assert.notEqual(await c1.get(keys.endpointNamesIndexed()).string(), null);
      const fresh = await a.createEndpoint({ network: NET, name: 'api' });
      await assert.rejects(b.updateEndpoint(fresh.value.id, { name: 'db' }), isDuplicateName);
    });

    it('rewrites an old record in the short form on its next write, the same record read back', async () => {
      const store = new ModelStore(c1, keys);
      const updated = await store.updateEndpoint('old-2', { labels: { app: 'db', v: '2' } });
      const text = (await c1.get(keys.endpoint(NET, 'old-2')).string())!;
      assert.ok(!text.includes('"id"'), text);
      const back = await store.getEndpoint('old-2');
      assert.equal(JSON.stringify(back.value), JSON.stringify(updated.value));
      assert.deepEqual({ ...back.value, updatedAt: old2.updatedAt }, { ...old2, labels: { app: 'db', v: '2' } });
      // Deleting an old endpoint frees its name (indexed on the way) with everything else.
      await store.deleteEndpoint('old-1');
      assert.equal(await c1.get(keys.endpointName('default', 'web')).string(), null);
      await store.createEndpoint({ network: NET, name: 'web', mac: old1.mac, ips: old1.ips });
    });
  });
});
