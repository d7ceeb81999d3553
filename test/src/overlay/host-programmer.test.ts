/**
 * The host programmer's incremental path (issue 17 item 2: a change does work
 * on the hosts it touches, the network base only where its hosts or ports
 * changed, an endpoint's remote flows compiled once per batch) must leave every
 * host with exactly the flows a full compile of the model gives it. Pure: a
 * model cache fed events directly, no etcd, no switch.
 */
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { compileHost } from '../../../src/compiler/compile-host';
import { silentLogger } from '../../../src/log';
import { HostProgrammer } from '../../../src/overlay/host-programmer';
import { keyed } from '../../../src/reconciler/desired-flows';
import { Keys } from '../../../src/store/keys';
import type { Binding } from '../../../src/store/model';
import { ModelCache } from '../../../src/store/model-cache';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const HOSTS = ['h1', 'h2', 'h3', 'h4'];

describe('host programmer: incremental changes equal a full compile', () => {
  const client = new Etcd3({ hosts: '127.0.0.1:9' }); // never used: apply() does no I/O
  after(() => client.close());
  let cache: ModelCache;
  let programmer: HostProgrammer;
  let rev = 0;

  const put = (resource: 'network' | 'subnet' | 'endpoint' | 'binding', id: string, value: unknown): void =>
    cache.apply({ resource, event: { kind: 'put', id, value, revision: String(++rev) } } as Parameters<ModelCache['apply']>[0]);
  const del = (resource: 'endpoint' | 'binding', id: string): void =>
    cache.apply({ resource, event: { kind: 'delete', id, revision: String(++rev) } } as Parameters<ModelCache['apply']>[0]);

  /** Every host's desired flows against compileHost of the model, key by key. */
  function assertEqualsFullCompile(step: string): void {
    for (const h of HOSTS) {
      const ctx = programmer.contextOf(h)!;
      const want = new Map<string, string>();
      for (const flows of compileHost(cache, ctx).values()) for (const f of flows) { const k = keyed(f); want.set(k.key, k.fp); }
      const flows = programmer.flowsOf(h)!;
      for (const [key, fp] of want) assert.equal(flows.desiredFlow(key).flow?.fp, fp, `${step}: ${h} flow ${key}`);
      assert.equal(flows.desiredCount, want.size, `${step}: ${h} has ${flows.desiredCount} desired flows, a full compile ${want.size}`);
    }
  }

  beforeEach(async () => {
    cache = new ModelCache(client, new Keys('/t/'), silentLogger());
    const encapIps = new Map(HOSTS.map((h, i) => [h, `192.0.2.${i + 1}`]));
    programmer = new HostProgrammer(cache, silentLogger(), { encapIps });
    cache.on('changed', (c) => programmer.applyModelChange(c));
    for (const h of HOSTS) programmer.observeTunnels(h, { port: 1, legacy: new Map() });
    put('network', 'A', net('A', 100));
    put('subnet', 'A/s1', subnet('s1', 'A', '10.0.0.0/24', '10.0.0.1'));
    for (let i = 1; i <= 6; i++) put('endpoint', `A/e${i}`, ep(`e${i}`, 'A', `02:00:00:00:00:0${i}`, `10.0.0.1${i}`));
    await nextTurn();
  });

  it('through attaches, a second port on a host, a move, down, delete and a burst', async () => {
    const steps: [string, () => void][] = [
      ['e1 on h1', () => put('binding', 'e1', bind('e1', 'h1', 3))],
      ['e2 on h2 (the network spreads)', () => put('binding', 'e2', bind('e2', 'h2', 4))],
      ['e3 on h2 (ports change on h2 only)', () => put('binding', 'e3', bind('e3', 'h2', 5))],
      ['e3 on another port of h2', () => put('binding', 'e3', bind('e3', 'h2', 7))],
      ['the echo of e3 installed (status only)', () => put('binding', 'e3', { ...bind('e3', 'h2', 7), status: 'installed' } as Binding)],
      ['e2 moves to h3', () => put('binding', 'e2', bind('e2', 'h3', 4))],
      ['e3 down (h2 leaves the network)', () => put('binding', 'e3', { ...bind('e3', 'h2', 7), status: 'down' } as Binding)],
      ['burst: e4, e5, e6 over h2, h4, h4', () => {
        put('binding', 'e4', bind('e4', 'h2', 8));
        put('binding', 'e5', bind('e5', 'h4', 9));
        put('binding', 'e6', bind('e6', 'h4', 10));
      }],
      ['e1 deleted (h1 leaves)', () => del('endpoint', 'A/e1')],
      ['e5 binding deleted', () => del('binding', 'e5')],
    ];
    for (const [name, apply] of steps) {
      apply();
      await nextTurn();
      assertEqualsFullCompile(name);
    }
  });

  it('shares one compiled remote flow between the hosts an endpoint is not on', async () => {
    put('binding', 'e1', bind('e1', 'h1', 3));
    put('binding', 'e2', bind('e2', 'h2', 4));
    put('binding', 'e3', bind('e3', 'h3', 5));
    put('binding', 'e4', bind('e4', 'h4', 6));
    await nextTurn();
    put('binding', 'e5', bind('e5', 'h1', 7));
    await nextTurn();
    assertEqualsFullCompile('e5 on h1');
    // e5's L2 flow toward h1, as h2, h3 and h4 hold it: one object.
    const l2 = (h: string) => programmer.flowsOf(h)!.desiredFlows().find((f) => f.tableId === 50 && f.match.some((m) => m.field === 'eth_dst' && m.value === '02:00:00:00:00:05'));
    const [a, b, c] = ['h2', 'h3', 'h4'].map(l2);
    assert.ok(a, 'h2 has the L2 flow toward e5');
    assert.equal(a, b);
    assert.equal(b, c);
  });
});
