/**
 * SPEC §12 / issue 13 item 5: an attach in a routed subnet changes a handful of
 * flows per host, not every network behind the router. Measured on the pure
 * compiler: a router on 10 subnets, 10 networks × 6 endpoints over 3 hosts.
 */
import assert from 'node:assert/strict';
import { compileHost } from '../../../src/compiler/compile-host';
import type { Snapshot } from '../../../src/compiler/snapshot';
import type { Flow } from '../../../src/pipeline/flow';
import type { Endpoint, Router } from '../../../src/store/model';
import { routerMacOf } from '../../../src/store/router-store';
import { fabricMembers } from '../../support/fabric-fixtures';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const NETWORKS = 10;
const PER_NETWORK = 6;
const HOSTS = ['h1', 'h2', 'h3'];

function snapshotWith(extra: readonly { e: Endpoint; host: string; port: number }[]): Snapshot {
  const router: Router = {
    id: 'R10', name: 'R10', tenant: 'default', mac: routerMacOf('R10'), createdAt: '', updatedAt: '', routes: [],
    interfaces: Array.from({ length: NETWORKS }, (_, i) => ({ subnet: `s${i}`, network: `N${i}`, cidr: `10.80.${i}.0/24`, ip: `10.80.${i}.1` })),
  };
  const endpoints = new Map<string, Endpoint[]>();
  const bindings = new Map<string, ReturnType<typeof bind>>();
  for (let i = 0; i < NETWORKS; i++) {
    const list: Endpoint[] = [];
    for (let k = 0; k < PER_NETWORK; k++) {
      const id = `e${i}-${k}`;
      list.push(ep(id, `N${i}`, `02:00:00:80:${i.toString(16).padStart(2, '0')}:${k.toString(16).padStart(2, '0')}`, `10.80.${i}.${10 + k}`));
      bindings.set(id, bind(id, HOSTS[k % HOSTS.length]!, 100 + i * PER_NETWORK + k));
    }
    endpoints.set(`N${i}`, list);
  }
  for (const x of extra) {
    endpoints.set(x.e.network, [...endpoints.get(x.e.network)!, x.e]);
    bindings.set(x.e.id, bind(x.e.id, x.host, x.port));
  }
  return {
    networks: new Map(Array.from({ length: NETWORKS }, (_, i) => [`N${i}`, net(`N${i}`, 8000 + i)])),
    subnetsByNetwork: new Map(Array.from({ length: NETWORKS }, (_, i) => [`N${i}`, [subnet(`s${i}`, `N${i}`, `10.80.${i}.0/24`, `10.80.${i}.1`)]])),
    endpointsByNetwork: endpoints,
    bindings,
    routers: new Map([[router.id, router]]),
    routersByNetwork: new Map(Array.from({ length: NETWORKS }, (_, i) => [`N${i}`, [router]])),
  };
}

const keyOf = (f: Flow): string => JSON.stringify([f.table.id, f.priority, f.match, f.instructions, f.cookie], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

describe('compiler: routing stays incremental', () => {
  it('an attach on a router with 10 subnets changes a handful of flows per host', () => {
    const before = snapshotWith([]);
    const after = snapshotWith([{ e: ep('new', 'N0', '02:00:00:80:00:ff', '10.80.0.99'), host: 'h2', port: 999 }]);
    const report: string[] = [];
    for (const m of fabricMembers()) {
      const a = new Set([...compileHost(before, m.context).values()].flat().map(keyOf));
      const b = new Set([...compileHost(after, m.context).values()].flat().map(keyOf));
      const added = [...b].filter((k) => !a.has(k)).length;
      const removed = [...a].filter((k) => !b.has(k)).length;
      report.push(`${m.context.id}: +${added} -${removed} of ${b.size}`);
      // Elsewhere: its L2, ARP and neighbour flows. On its own host also its port flows and the network's flood flow (one more port).
      assert.ok(added + removed <= (m.context.id === 'h2' ? 12 : 4), `${m.context.id}: ${added} added, ${removed} removed`);
    }
    process.stdout.write(`      flows changed per attach (router with ${NETWORKS} subnets, ${NETWORKS * PER_NETWORK} endpoints, 3 hosts): ${report.join('; ')}\n`);
  });
});
