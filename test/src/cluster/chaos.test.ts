/**
 * The chaos scenario of issue 18 as a test: 3 etcd members, 3 plexusd, 4
 * sandboxed OVS hosts; endpoints are attached (ports plugged on the hosts) while
 * a member is killed -9, another is frozen (SIGSTOP), the etcd leader is killed,
 * quorum is lost for a few seconds and an ovs-vswitchd is restarted. Then every
 * endpoint is installed where it was plugged, no IP or MAC is given twice, each
 * switch has exactly one master, and a full restart of every member changes no
 * flow on any host.
 */
import assert from 'node:assert/strict';
import { ClusterFixture } from '../../../src/sandbox/plexus-cluster';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { sleep, waitFor } from '../../../src/sandbox/processes';
import { watchFlowChanges } from '../../support/switch-fixture';

/** Endpoints attached during the chaos (the figure). */
const ENDPOINTS = 200;
const TTL_S = 2;

interface EndpointView {
  id: string;
  name: string;
  mac: string;
  ips: string[];
  status: string;
  host: string | null;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('cluster: chaos while endpoints attach @slow', function () {
  this.timeout(240_000);
  let c: ClusterFixture;
  const frozen = new Set<number>();
  let network = '';
  const endpoints: EndpointView[] = [];
  /** Where each endpoint's port was plugged. */
  const pluggedOn = new Map<string, string>();
  const log: string[] = [];
  const t0 = Date.now();
  const note = (what: string): void => void log.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);

  before(async function () {
    this.timeout(150_000);
    c = await ClusterFixture.start({ members: 3, hosts: 4, etcdMembers: 3, ttlSeconds: TTL_S });
    note('cluster up');
    const api = c.live();
    const n = await api.api<{ id: string }>('POST', '/v1/networks', { name: 'ChaosNet' });
    assert.equal(n.status, 201);
    network = n.body.id;
    assert.equal((await api.api('POST', '/v1/subnets', { network, cidr: '10.77.0.0/22' })).status, 201);
    await inPool(Array.from({ length: ENDPOINTS }, (_, i) => i), 8, async (i) => {
      const r = await api.api<EndpointView>('POST', '/v1/endpoints', { network, name: `ep${String(i).padStart(3, '0')}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      endpoints[i] = r.body;
    });
    note(`${ENDPOINTS} endpoints created`);
  });

  after(async () => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    await c?.stop();
    if (log.length) process.stdout.write(`      timeline: ${log.join('; ')}\n`);
  });

  async function listEndpoints(via: PlexusdProcess): Promise<EndpointView[]> {
    const r = await via.api<{ items: EndpointView[] }>('GET', `/v1/endpoints?network=${network}&limit=1000`);
    return r.status === 200 ? r.body.items : [];
  }

  /** A member that is up and not frozen. */
  const responsive = (): PlexusdProcess => c.members.find((m) => m.pid !== undefined && !frozen.has(m.pid))!;

  it(`installs ${ENDPOINTS}/${ENDPOINTS} endpoints through member kills, a freeze, an etcd leader kill, quorum loss and a vswitchd restart; a full restart then changes no flow`, async () => {
    // Attach: ports plugged on the 4 hosts in batches of 10 (one ovs-vsctl transaction each), spread over the chaos.
    const batches: { host: number; eps: EndpointView[] }[] = [];
    for (let b = 0; b * 10 < ENDPOINTS; b++) batches.push({ host: b % c.hosts.length, eps: endpoints.slice(b * 10, b * 10 + 10) });
    const attach = (async () => {
      for (const batch of batches) {
        const h = c.hosts[batch.host]!;
        const args: string[] = ['--no-wait'];
        for (const e of batch.eps) {
          const port = `c${e.name.slice(2)}`;
          args.push('--', 'add-port', 'br-int', port, '--', 'set', 'Interface', port, 'type=dummy', `external_ids:iface-id=${e.id}`, `external_ids:attached-mac=${e.mac}`);
          pluggedOn.set(e.id, h.name);
        }
        await h.vsctl(...args);
        await sleep(700);
      }
      note('all ports plugged');
    })();

    const chaos = (async () => {
      const [, m2, m3] = c.members;
      await sleep(1000);
      await m2!.kill();
      note('m2 killed -9');
      await sleep(2000);
      await m2!.launch();
      note('m2 back');
      const pid3 = m3!.pid!;
      process.kill(pid3, 'SIGSTOP');
      frozen.add(pid3);
      note('m3 frozen (SIGSTOP)');
      await sleep(3000);
      process.kill(pid3, 'SIGCONT');
      frozen.delete(pid3);
      note('m3 thawed');
      // (An object: index 0 is a leader too.)
      const { leader } = await waitFor('an etcd leader', async () => {
        const i = await c.etcd.leaderIndex();
        return i === undefined ? undefined : { leader: i };
      }, 10_000);
      await c.etcd.stopMember(leader, true);
      note(`etcd leader e${leader} killed`);
      await sleep(2000);
      await c.etcd.startMember(leader);
      note(`etcd e${leader} back`);
      const [a, b] = [0, 1, 2].filter((i) => i !== leader).slice(0, 2) as [number, number];
      await c.etcd.stopMember(a, true);
      await c.etcd.stopMember(b, true);
      note('etcd quorum lost');
      await sleep(4000);
      await c.etcd.startStopped();
      note('etcd quorum back');
      await c.hosts[0]!.restart('ovs-vswitchd');
      note('h1 ovs-vswitchd restarted');
    })();
    await Promise.all([attach, chaos]);

    let last: EndpointView[] = [];
    await waitFor(`${ENDPOINTS} endpoints installed where plugged`, async () => {
      last = await listEndpoints(responsive());
      return last.length === ENDPOINTS && last.every((e) => e.status === 'installed' && e.host === pluggedOn.get(e.id));
    }, 90_000, 250).catch((err: Error) => {
      const wrong = last.filter((e) => e.status !== 'installed' || e.host !== pluggedOn.get(e.id));
      throw new Error(`${err.message}: ${wrong.length} not right, e.g. ${JSON.stringify(wrong.slice(0, 3))}`);
    });
    note(`${ENDPOINTS}/${ENDPOINTS} installed`);
    const ips = last.flatMap((e) => e.ips);
    const macs = last.map((e) => e.mac);
    assert.equal(new Set(ips).size, ips.length, 'no IP given twice');
    assert.equal(new Set(macs).size, macs.length, 'no MAC given twice');
    // One connected master per switch, the one etcd names (ClusterFixture.waitConverged).
    await c.waitConverged(60_000);
    note('converged: one master per switch');
    const view = await c.cluster(responsive());
    assert.deepEqual(Object.keys(view.masters).sort(), c.hosts.map((h) => h.name).sort());

    // Every host's switch (h1's restarted one too) forwards to each endpoint plugged there: a flow names its MAC.
    const flowsBefore = await Promise.all(c.hosts.map((h) => h.dumpFlows()));
    c.hosts.forEach((h, i) => {
      const text = flowsBefore[i]!.join('\n');
      const missing = last.filter((e) => pluggedOn.get(e.id) === h.name && !text.includes(e.mac));
      assert.deepEqual(missing.map((e) => e.name), [], `${h.name} has flows for every endpoint plugged there`);
    });

    // A full restart of every member afterwards changes no flow anywhere.
    const watches = await Promise.all(c.hosts.map((h) => watchFlowChanges(h)));
    for (const m of c.members) await m.stop();
    note('all members stopped');
    for (const m of c.members) await m.launch();
    await c.waitConverged(60_000);
    await waitFor('endpoints installed after the restart', async () => (await listEndpoints(responsive())).filter((e) => e.status === 'installed').length === ENDPOINTS, 30_000, 250);
    await sleep(3000);
    const changes = await Promise.all(watches.map((w) => w.stop()));
    note('full restart done');
    assert.deepEqual(changes.map((ch) => ch.length), c.hosts.map(() => 0), `flow changes on a full restart: ${changes.flat().slice(0, 5).join(' | ')}`);
    assert.deepEqual(await Promise.all(c.hosts.map((h) => h.dumpFlows())), flowsBefore);
  });
});
