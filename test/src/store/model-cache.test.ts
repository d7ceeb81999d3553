import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { silentLogger } from '../../../src/log';
import { Keys } from '../../../src/store/keys';
import type { Binding, MacBinding, Router } from '../../../src/store/model';
import { ModelCache, type ModelChange } from '../../../src/store/model-cache';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('model cache batching (no etcd: events applied directly)', () => {
  // A client that is never used: apply() does no I/O.
  const client = new Etcd3({ hosts: '127.0.0.1:9' });
  let cache: ModelCache;
  let batches: ModelChange[];
  after(() => client.close());

  beforeEach(async () => {
    cache = new ModelCache(client, new Keys('/t/'), silentLogger());
    batches = [];
    cache.on('changed', (c) => batches.push(c));
    cache.apply({ resource: 'network', event: { kind: 'put', id: 'A', value: net('A', 100), revision: '1' } });
    cache.apply({ resource: 'subnet', event: { kind: 'put', id: 'A/s1', value: subnet('s1', 'A', '10.0.0.0/24', '10.0.0.1'), revision: '2' } });
    for (const id of ['e1', 'e2']) cache.apply({ resource: 'endpoint', event: { kind: 'put', id: `A/${id}`, value: ep(id, 'A', `02:00:00:00:00:0${id[1]}`, `10.0.0.1${id[1]}`), revision: '3' } });
    await nextTurn();
    batches = [];
  });

  it('keeps the network ⇄ hosts index of placed endpoints through bind, move, down and delete', () => {
    const hosts = (): string[] => [...cache.hostsOf('A')].sort();
    assert.deepEqual(hosts(), []);
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bind('e1', 'h1', 3), revision: '4' } });
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e2', value: bind('e2', 'h1', 4), revision: '5' } });
    assert.deepEqual(hosts(), ['h1']);
    assert.deepEqual([...cache.networksOf('h1')], ['A']);
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e2', value: bind('e2', 'h2', 4), revision: '6' } });
    assert.deepEqual(hosts(), ['h1', 'h2']);
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: { ...bind('e1', 'h1', 3), status: 'down' }, revision: '7' } });
    assert.deepEqual(hosts(), ['h2']);
    assert.deepEqual([...cache.networksOf('h1')], []);
    cache.apply({ resource: 'endpoint', event: { kind: 'delete', id: 'A/e2', revision: '8' } });
    assert.deepEqual(hosts(), []);
  });

  it('reports a burst of events in one turn as one batch: networks whole, endpoints with their network, statuses apart', async () => {
    const bound = bind('e1', 'h1', 3);
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bound, revision: '4' } });
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e2', value: bind('e2', 'h2', 4), revision: '5' } });
    // The etcd echo of a binding already applied, then its installed status: same placement.
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bound, revision: '6' } });
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: { ...bound, status: 'installed' }, revision: '7' } });
    assert.equal(batches.length, 0, 'nothing before the turn ends');
    await nextTurn();
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0], {
      networks: new Set(), endpoints: new Map([['e1', 'A'], ['e2', 'A']]), statuses: new Set(['e1']),
      // A is on h1 and h2 now: its base changes there (ports) and everywhere (its hosts).
      portsChanged: new Map([['A', new Set(['h1', 'h2'])]]), spread: new Set(['A']),
    });
  });

  it('reports where a network\'s ports changed, and whether its hosts did', async () => {
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bind('e1', 'h1', 3), revision: '4' } });
    await nextTurn();
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e2', value: bind('e2', 'h1', 4), revision: '5' } });
    await nextTurn();
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e2', value: bind('e2', 'h1', 6), revision: '6' } });
    await nextTurn();
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e2', value: { ...bind('e2', 'h1', 6), status: 'installed' }, revision: '7' } });
    await nextTurn();
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bind('e1', 'h2', 3), revision: '8' } });
    await nextTurn();
    assert.deepEqual(batches.map((b) => [[...(b.portsChanged?.get('A') ?? [])].sort(), b.spread?.has('A')]), [
      [['h1'], true], // A appears on h1
      [['h1'], false], // a second port there
      [['h1'], false], // that port renumbered
      [[], false], // status only
      [['h1', 'h2'], true], // e1 moves: A is on h2 now
    ]);
    assert.deepEqual([...cache.portsOn('A', 'h1')], [6]);
    assert.deepEqual([...cache.portsOn('A', 'h2')], [3]);
  });

  it('tells a status-only binding change from one that moves the endpoint', async () => {
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bind('e1', 'h1', 3), revision: '4' } });
    await nextTurn();
    const installed: Binding = { ...bind('e1', 'h1', 3), status: 'installed' };
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: installed, revision: '5' } });
    await nextTurn();
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: bind('e1', 'h1', 7), revision: '6' } });
    await nextTurn();
    cache.apply({ resource: 'binding', event: { kind: 'put', id: 'e1', value: { ...bind('e1', 'h1', 7), status: 'down' }, revision: '7' } });
    await nextTurn();
    assert.deepEqual(batches.map((b) => [[...b.endpoints.keys()], [...b.statuses]]), [[['e1'], []], [[], ['e1']], [['e1'], []], [['e1'], []]]);
  });

  it('recompiles a network whole when its record or a subnet changes, and keeps a deleted endpoint network', async () => {
    cache.apply({ resource: 'subnet', event: { kind: 'delete', id: 'A/s1', revision: '8' } });
    cache.apply({ resource: 'endpoint', event: { kind: 'delete', id: 'A/e2', revision: '9' } });
    await nextTurn();
    assert.deepEqual(batches, [{ networks: new Set(['A']), endpoints: new Map([['e2', 'A']]), statuses: new Set(), portsChanged: new Map(), spread: new Set() }]);
    assert.equal(cache.endpoint('e2'), undefined);
    assert.equal(cache.subnetsByNetwork.get('A'), undefined);
    assert.deepEqual(cache.endpointsByNetwork.get('A')!.map((e) => e.id), ['e1']);
  });

  it('recompiles the routers whose gateway is on an external network when its next hop\'s MAC is learned or changes, not when it is written again', async () => {
    const router: Router = {
      id: 'R', name: 'R', tenant: 'default', mac: '0e:00:00:00:00:01', routes: [], createdAt: '', updatedAt: '',
      interfaces: [{ subnet: 's1', network: 'A', cidr: '10.0.0.0/24', ip: '10.0.0.1' }],
      externalGateway: { network: 'X', subnet: 'sx', ip: '198.51.100.2', snat: true },
    };
    cache.apply({ resource: 'router', event: { kind: 'put', id: 'R', value: router, revision: '10' } });
    await nextTurn();
    batches = [];
    const routersIn = (): string[][] => batches.map((b) => [...(b.routers ?? [])]);
    const learned = (mac: string): MacBinding => ({ network: 'X', ip: '198.51.100.1', mac, host: 'h1', updatedAt: '' });
    cache.apply({ resource: 'mac-binding', event: { kind: 'put', id: 'X/198.51.100.1', value: learned('02:00:00:00:ee:01'), revision: '11' } });
    await nextTurn();
    assert.deepEqual(routersIn(), [['R']]);
    assert.equal(cache.macBindings.get('X/198.51.100.1')?.mac, '02:00:00:00:ee:01');
    batches = [];
    cache.apply({ resource: 'mac-binding', event: { kind: 'put', id: 'X/198.51.100.1', value: { ...learned('02:00:00:00:ee:01'), host: 'h2' }, revision: '12' } });
    await nextTurn();
    assert.deepEqual(routersIn(), [], 'the same MAC from another host: nothing to recompile');
    cache.apply({ resource: 'mac-binding', event: { kind: 'put', id: 'X/198.51.100.1', value: learned('02:00:00:00:ee:02'), revision: '13' } });
    await nextTurn();
    assert.deepEqual(routersIn(), [['R']]);
  });

  it('serves the same per-network arrays until that network changes', async () => {
    const first = cache.endpointsByNetwork.get('A');
    assert.equal(cache.endpointsByNetwork.get('A'), first, 'cached');
    cache.apply({ resource: 'endpoint', event: { kind: 'put', id: 'A/e3', value: ep('e3', 'A', '02:00:00:00:00:03', '10.0.0.13'), revision: '10' } });
    assert.notEqual(cache.endpointsByNetwork.get('A'), first);
    assert.deepEqual(cache.endpointsByNetwork.get('A')!.map((e) => e.id).sort(), ['e1', 'e2', 'e3']);
    assert.equal(cache.endpointCount(), 3);
  });

  it('applies a local (provisional) binding like a watched one', async () => {
    cache.applyLocalBinding(bind('e2', 'h9', 5));
    await nextTurn();
    assert.equal(cache.bindings.get('e2')?.host, 'h9');
    assert.deepEqual([...batches[0]!.endpoints], [['e2', 'A']]);
  });
});
