import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { silentLogger } from '../../../src/log';
import { waitFor } from '../../../src/sandbox/processes';
import { EventFeed, type FeedEvent } from '../../../src/store/event-feed';
import { Keys } from '../../../src/store/keys';
import type { Binding } from '../../../src/store/model';
import { ModelStore } from '../../../src/store/model-store';
import { TestEtcd } from '../../support/test-etcd';

describe('EventFeed against a real etcd @slow', function () {
  this.timeout(60_000);
  let etcd: TestEtcd;
  let client: Etcd3;
  let feed: EventFeed;
  const keys = new Keys('/plexus-feed-test/');

  before(async () => {
    etcd = await TestEtcd.start('event-feed');
    client = etcd.client();
    feed = new EventFeed(client, keys, silentLogger());
    await feed.start();
  });
  after(async () => {
    await feed?.stop();
    await etcd?.stop();
  });

  it('forgets deleted endpoints and networks, yet still gives the events deleted with them their tenant', async () => {
    const events: FeedEvent[] = [];
    feed.on('event', (e) => events.push(e));
    const store = new ModelStore(client, keys);
    await store.createTenant({ name: 'acme' });
    const net = await store.createNetwork({ name: 'feednet', tenant: 'acme' });
    const subnet = await store.createSubnet({ network: net.value.id, cidr: '10.60.0.0/24' });
    const eps = [];
    for (let i = 0; i < 30; i++) eps.push(await store.createEndpoint({ network: net.value.id, name: `f${i}` }));
    for (const e of eps.slice(0, 3)) {
      const binding: Binding = { endpoint: e.value.id, host: 'h1', ofport: 7, ifaceName: 'tap1', status: 'bound', history: [], updatedAt: new Date().toISOString() };
      await client.put(keys.binding(e.value.id)).value(JSON.stringify(binding));
    }
    await waitFor('endpoints seen', () => feed.trackedCounts().endpoints === 30);
    for (const e of eps) await store.deleteEndpoint(e.value.id);
    await store.deleteNetwork(net.value.id);
    await waitFor('network delete seen', () => events.some((e) => e.resource === 'network' && e.kind === 'delete'));
    // The next revision lets the feed forget what the last one deleted.
    await client.put(keys.host('h-feed')).value(JSON.stringify({ id: 'h-feed' }));
    await waitFor('host event seen', () => events.some((e) => e.resource === 'host'));
    assert.deepEqual(feed.trackedCounts(), { networks: 0, endpoints: 0 });
    const statusDeletes = events.filter((e) => e.resource === 'endpoint-status' && e.kind === 'delete');
    assert.equal(statusDeletes.length, 3);
    for (const e of statusDeletes) assert.equal(e.tenant, 'acme', `binding delete of ${e.object}`);
    const subnetDelete = events.find((e) => e.resource === 'subnet' && e.kind === 'delete' && e.object === subnet.value.id);
    assert.equal(subnetDelete?.tenant, 'acme', 'a subnet deleted with its network keeps the tenant');
  });
});
