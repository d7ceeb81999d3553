import assert from 'node:assert/strict';
import { ClusterFixture } from '../../../src/sandbox/plexus-cluster';
import { sleep, waitFor } from '../../../src/sandbox/processes';

/** Member lease TTL (the daemon's default): the outage below outlasts it, so every lease is lost. */
const TTL_S = 5;

/** When the switch of `host` first answered a member's master role request at or after `sinceMs` (from the members' logs). */
function masterRepliedAtMs(c: ClusterFixture, host: string, sinceMs: number): number | undefined {
  const at = c.members
    .flatMap((m) => m.logs.split('\n'))
    .filter((l) => l.includes('"master of switch"') && l.includes(`"host":"${host}"`))
    .map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp))
    .filter((t) => t >= sinceMs);
  return at.length ? Math.min(...at) : undefined;
}

describe('cluster: recovery after etcd quorum loss @slow', function () {
  this.timeout(180_000);
  let c: ClusterFixture;

  before(async () => {
    c = await ClusterFixture.start({ members: 3, hosts: 3, etcdMembers: 3, ttlSeconds: TTL_S });
  });
  after(async () => c?.stop());

  it('has a master on every datapath within ~1 s of etcd returning (old leases revoked, not left to expire)', async () => {
    for (let i = 0; i < 3; i++) await c.etcd.stopMember(i, true);
    // Past the TTL every member has given up its lease, and with it mastership.
    await sleep((TTL_S + 2) * 1000);
    // (The Controller table reports role changes lazily, and a loaded machine steps down late: wait for it.)
    await waitFor('no master anywhere', async () => (await Promise.all(c.hosts.map((h) => c.controllers(h)))).every((ctl) => !ctl.some((x) => x.connected && x.role === 'master')), 15_000, 100);
    const started = Date.now();
    await c.etcd.startStopped();
    const t0 = Date.now();
    // What the switch's Controller table says (ovs-vswitchd refreshes that status lazily, so it lags).
    const ovsdbMs = new Map<string, number>();
    while (ovsdbMs.size < c.hosts.length && Date.now() - t0 < 30_000) {
      await Promise.all(
        c.hosts.map(async (h) => {
          if (ovsdbMs.has(h.name)) return;
          const ctl = await c.controllers(h);
          if (ctl.some((x) => x.connected && x.role === 'master')) ovsdbMs.set(h.name, Date.now() - t0);
        }),
      );
      await sleep(50);
    }
    // The gap itself: from etcd healthy again to the switch's reply granting a member the master role.
    const gapMs = new Map(c.hosts.map((h) => [h.name, masterRepliedAtMs(c, h.name, started)] as const));
    const show = (m: ReadonlyMap<string, number | undefined>, base: number): string => c.hosts.map((h) => `${h.name} ${m.get(h.name) === undefined ? 'never' : Math.max(0, m.get(h.name)! - base)} ms`).join(', ');
    process.stdout.write(`      etcd healthy ${t0 - started} ms after restart; masterless after that (role reply): ${show(gapMs, t0)}; Controller table shows it after: ${show(ovsdbMs, 0)}\n`);
    for (const h of c.hosts) {
      const at = gapMs.get(h.name);
      assert.ok(at !== undefined && at - t0 <= 1500, `${h.name} had no master for ${at === undefined ? 'ever' : at - t0} ms after etcd returned`);
      assert.ok(ovsdbMs.has(h.name), `${h.name}'s Controller table never showed a master`);
    }
    await c.waitConverged();
  });
});
