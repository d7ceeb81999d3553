/**
 * Upgrade from the previous version's etcd records: plexusd running over
 * endpoints, bindings and address claims rewritten as the previous version
 * wrote them (full JSON records, endpoint ids in ips/, no name index), then
 * restarted on them, changes no flow, shows every endpoint exactly as before
 * and still enforces the names given before.
 */
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { Keys } from '../../../src/store/keys';
import { decodeBinding, decodeEndpoint } from '../../../src/store/stored-form';
import { watchFlowChanges } from '../../support/switch-fixture';
import { isInstalled, plug } from '../../support/workloads';

interface Created {
  id: string;
  name: string;
  mac: string;
  ips: string[];
}

describe('plexusd over etcd records of the previous version @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  const hosts: OvsHost[] = [];
  const eps: (Created & { host: OvsHost; port: string })[] = [];
  const keys = new Keys('/plexus/');

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 2; i++) {
      hosts.push(await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.0.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all(hosts.map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await plexusd.waitHostsReady(2, '2 hosts ready');
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'up' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'up', cidr: '10.60.0.0/24' })).status, 201);
    for (let i = 0; i < 6; i++) {
      const res = await plexusd.api<Created>('POST', '/v1/endpoints', { network: 'up', name: `old-${i}`, kind: i % 2 ? 'vm' : 'container', labels: { n: String(i) } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const host = hosts[i % 2]!;
      const port = `p-old-${i}`;
      await plug(host, port, { 'iface-id': res.body.id, 'attached-mac': res.body.mac, container_id: `c${i}` });
      eps.push({ ...res.body, host, port });
    }
    for (const e of eps) await waitFor(`${e.port} installed`, () => isInstalled(e.host, e.port), 30_000);
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await plexusd?.destroy();
  });

  /** Every endpoint as GET shows it, without what is read from the switches, and without the revision (rewriting a record moves it). */
  async function shown(): Promise<string[]> {
    return Promise.all(
      eps.map(async (e) => {
        const r = await plexusd.api<Record<string, unknown>>('GET', `/v1/endpoints/${e.id}`);
        assert.equal(r.status, 200);
        const { flows: _flows, policy: _policy, revision: _revision, ...rest } = r.body;
        return JSON.stringify(rest); // key order included
      }),
    );
  }

  it('reads them, restarted on them, changing no flow and showing every endpoint as before; old names stay taken', async () => {
    const before = await shown();
    const flowsBefore = await Promise.all(hosts.map((h) => h.dumpFlows()));
    const watches = await Promise.all(hosts.map((h) => watchFlowChanges(h)));
    const client = new Etcd3({ hosts: `http://127.0.0.1:${plexusd.ports.etcdClient}` });
    try {
      // Rewrite, while it runs, what this version wrote into what the previous one did.
      for (const kv of (await client.getAll().prefix(keys.endpoints()).exec()).kvs) {
        const { network, id } = keys.endpointKeyOf(kv.key.toString());
        const e = decodeEndpoint(network, id, kv.value.toString());
        assert.ok(!kv.value.toString().includes('"id"'), 'written in the short form');
        await client.put(kv.key.toString()).value(JSON.stringify(e));
        for (const ip of e.ips) {
          const ipKeys = (await client.getAll().prefix(`${keys.prefix}ips/`).keys()).filter((k) => k.endsWith(`/${ip}`));
          assert.equal(ipKeys.length, 1);
          await client.put(ipKeys[0]!).value(id);
        }
      }
      for (const kv of (await client.getAll().prefix(keys.bindings()).exec()).kvs) {
        await client.put(kv.key.toString()).value(JSON.stringify(decodeBinding(keys.bindingOf(kv.key.toString()), kv.value.toString())));
      }
      await client.delete().prefix(keys.endpointNames()).exec();
      await client.delete().key(keys.endpointNamesIndexed()).exec();
    } finally {
      client.close();
    }
    assert.deepEqual(await shown(), before, 'read from the old form while running');
    await plexusd.stop();
    await plexusd.launch();
    await waitFor('2 hosts ready again', async () => {
      const r = await plexusd.api<{ items: { status: string; ofConnected: boolean }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready' && h.ofConnected).length === 2;
    }, 30_000);
    await waitFor('2 switches reconciled', () => (plexusd.logs.match(/flows reconciled/g) ?? []).length >= 2, 30_000);
    assert.deepEqual(await shown(), before, 'read from the old form after a restart');
    const changes = await Promise.all(watches.map((w) => w.stop()));
    assert.deepEqual(changes, [[], []]);
    assert.deepEqual(await Promise.all(hosts.map((h) => h.dumpFlows())), flowsBefore);
    // Names given before the index existed are still taken; by name still finds them.
    const dup = await plexusd.api<{ detail: string }>('POST', '/v1/endpoints', { network: 'up', name: 'old-3' });
    assert.equal(dup.status, 409, JSON.stringify(dup.body));
    assert.match(dup.body.detail, new RegExp(`endpoint name "old-3" is already used in tenant "default" \\(endpoint ${eps[3]!.id}\\)`));
    assert.equal((await plexusd.api<{ id: string }>('GET', '/v1/endpoints/old-4')).body.id, eps[4]!.id);
    // An address claimed the old way is still taken.
    const taken = await plexusd.api<{ detail: string }>('POST', '/v1/endpoints', { network: 'up', ips: [eps[0]!.ips[0]] });
    assert.equal(taken.status, 409);
    assert.match(taken.body.detail, new RegExp(`already used by endpoint ${eps[0]!.id}`));
  });
});
