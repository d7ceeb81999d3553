/**
 * A run killed -9 (a benchmark cut short, issue 18) runs no exit cleanup: the
 * ovsdb-server of a simulated host (detached) and plexusd with its embedded
 * etcd stay behind with their temp dirs. The sweep a bench runs at start
 * (src/sandbox/orphans.ts) stops them by their claimed dirs' pidfiles and
 * removes the dirs; a live run's dirs are left alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { claimTempDir, isOrphaned, sweepOrphanedTempDirs } from '../../../src/sandbox/orphans';
import { isAlive, sleep, waitFor } from '../../../src/sandbox/processes';
import { pidsMentioning } from '../../support/pids';

/** What the child run does before it is killed: a simulated host's ovsdb-server and a plexusd (embedded etcd). */
const CHILD = `
const { OvsHost } = require(${JSON.stringify(require.resolve('../../../src/sandbox/ovs-host'))});
const { PlexusdProcess } = require(${JSON.stringify(require.resolve('../../../src/sandbox/plexusd-process'))});
(async () => {
  const h = await OvsHost.start({ name: process.argv[1] + '-h', switchd: false });
  const p = await PlexusdProcess.start({ memberId: 'orphan' });
  process.stdout.write(JSON.stringify({ hostDir: h.dir, dataDir: p.dataDir }) + '\\n');
  setInterval(() => undefined, 1000);
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('orphans of a run killed -9 @slow', function () {
  this.timeout(120_000);
  const leftovers: string[] = [];

  after(async () => {
    // On failure: whatever the child left is still ours to remove.
    for (const d of leftovers) {
      for (const pid of pidsMentioning(d)) if (pid !== process.pid) process.kill(pid, 'SIGKILL');
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('are stopped and their dirs removed by the sweep; a live run is left alone', async () => {
    const tag = `orphantest${process.pid}`;
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', CHILD, tag], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const dirs = await waitFor('the child run started its daemons', () => {
      if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}`);
      const line = out.split('\n')[0];
      return out.includes('\n') ? (JSON.parse(line!) as { hostDir: string; dataDir: string }) : undefined;
    }, 60_000);
    leftovers.push(dirs.hostDir, dirs.dataDir);

    // A live owner: nothing is swept.
    assert.equal(isOrphaned(dirs.hostDir), false);
    assert.deepEqual(sweepOrphanedTempDirs([`plexus-${tag}-`, basename(dirs.dataDir)]).dirs.filter((d) => leftovers.includes(d)), []);

    child.kill('SIGKILL');
    await waitFor('child gone', () => child.exitCode !== null || child.signalCode !== null, 10_000);
    await sleep(200);
    const orphans = [...pidsMentioning(dirs.hostDir), ...pidsMentioning(dirs.dataDir)];
    assert.ok(orphans.length >= 3, `ovsdb-server, plexusd and its etcd outlive the killed run (found ${orphans.length})`);
    assert.ok(isOrphaned(dirs.hostDir) && isOrphaned(dirs.dataDir));

    const swept = sweepOrphanedTempDirs([`plexus-${tag}-`, basename(dirs.dataDir)]);
    assert.ok(swept.dirs.includes(dirs.hostDir) && swept.dirs.includes(dirs.dataDir), `both dirs swept (${swept.dirs.join(', ')})`);
    await waitFor('orphans gone', () => orphans.every((pid) => !isAlive(pid)), 10_000);
    assert.ok(!existsSync(dirs.hostDir) && !existsSync(dirs.dataDir));
  });

  it('leaves unclaimed dirs alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-orphantest-unclaimed-'));
    try {
      assert.equal(isOrphaned(dir), false);
      assert.deepEqual(sweepOrphanedTempDirs(['plexus-orphantest-unclaimed-']).dirs, []);
      assert.ok(existsSync(dir));
      claimTempDir(dir);
      assert.equal(isOrphaned(dir), false, 'claimed by this live process');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
