import assert from 'node:assert/strict';
import { ClusterFixture } from '../../../src/sandbox/plexus-cluster';
import { sleep } from '../../../src/sandbox/processes';

/** Member lease TTL (the daemon's default): the outage below outlasts it, so every lease is lost. */
const TTL_S = 5;

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
    for (const h of c.hosts) {
      const masters = (await c.controllers(h)).filter((x) => x.connected && x.role === 'master');
      assert.equal(masters.length, 0, `${h.name} still has a master with no lease anywhere`);
    }
    await c.etcd.startStopped();
    const t0 = Date.now();
    const gapMs = new Map<string, number>();
    while (gapMs.size < c.hosts.length && Date.now() - t0 < 30_000) {
      await Promise.all(
        c.hosts.map(async (h) => {
          if (gapMs.has(h.name)) return;
          const ctl = await c.controllers(h);
          if (ctl.some((x) => x.connected && x.role === 'master')) gapMs.set(h.name, Date.now() - t0);
        }),
      );
      await sleep(50);
    }
    process.stdout.write(`      masterless after etcd returned: ${c.hosts.map((h) => `${h.name} ${gapMs.get(h.name) ?? 'never'} ms`).join(', ')}\n`);
    for (const h of c.hosts) {
      const ms = gapMs.get(h.name);
      assert.ok(ms !== undefined && ms <= 2000, `${h.name} had no master for ${ms ?? '30000+'} ms after etcd returned`);
    }
    await c.waitConverged();
  });
});
