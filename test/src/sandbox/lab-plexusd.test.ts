import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Lab } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { listLinks, listNetns } from '../../../src/sandbox/netns';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { isAlive } from '../../../src/sandbox/processes';

/** The lab-and-plexusd setup of the real-packet tests, and what it leaves when a step fails. */
describe('startLabWithPlexusd @slow', function () {
  this.timeout(120_000);

  it('joins every host to plexusd, then stops both cleanly', async () => {
    const { lab, plexusd } = await startLabWithPlexusd();
    try {
      const hosts = await plexusd.api<{ items: { status: string }[] }>('GET', '/v1/hosts');
      assert.deepEqual(hosts.body.items.map((h) => h.status), ['ready', 'ready']);
    } finally {
      await lab.stop();
      await plexusd.destroy();
    }
  });

  it('stops plexusd and the lab when a step after plexusd fails', async () => {
    let seen: { lab: Lab; plexusd: PlexusdProcess; netns: string[]; links: string[]; pids: number[] } | undefined;
    await assert.rejects(
      startLabWithPlexusd({
        beforeJoin: async (lab, plexusd) => {
          const netns = listNetns().filter((n) => lab.isOwnName(n));
          const links = listLinks().filter((l) => lab.isOwnName(l));
          seen = { lab, plexusd, netns, links, pids: [...lab.pids, plexusd.pid!] };
          throw new Error('injected failure');
        },
      }),
      /injected failure/,
    );
    assert.ok(seen);
    assert.equal(seen.netns.length, 3, `underlay + 2 host namespaces existed at the failure: ${seen.netns.join(',')}`);
    assert.equal(seen.links.length, 3, `management bridge + 2 veths existed at the failure: ${seen.links.join(',')}`);
    assert.equal(seen.lab.currentState, 'stopped');
    assert.deepEqual(seen.netns.filter((n) => listNetns().includes(n)), []);
    assert.deepEqual(seen.links.filter((l) => listLinks().includes(l)), []);
    assert.deepEqual(seen.pids.filter(isAlive), []);
    assert.equal(existsSync(seen.plexusd.dataDir), false, 'plexusd data dir removed');
  });
});
