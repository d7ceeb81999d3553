import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdCluster } from '../../../src/sandbox/etcd-cluster';
import { ClusterFixture } from '../../../src/sandbox/plexus-cluster';
import { freePorts, PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { isAlive, trackPid, untrackPid, waitFor } from '../../../src/sandbox/processes';
import { watchFlowChanges } from '../../support/switch-fixture';
import { isInstalled, plug } from '../../support/workloads';

const MAIN = join(__dirname, '..', '..', '..', 'src', 'daemon', 'main.ts');

/** Sends `signal` and waits for the exit; returns how it ended. */
async function signalAndWait(p: PlexusdProcess, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  process.kill(p.pid!, signal);
  return waitFor('plexusd exit', () => p.lastExit, 20_000);
}

/** plexusd from sources without waiting for it to be ready (PlexusdProcess waits). */
function spawnPlexusd(args: readonly string[]) {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackPid(child.pid!);
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) =>
    child.on('exit', (code) => {
      untrackPid(child.pid!);
      resolve({ code, atMs: Date.now() });
    }),
  );
  return { child, exited, logs: () => logs };
}

describe('plexusd lifecycle: signals and etcd at start-up @slow', function () {
  this.timeout(180_000);

  it('SIGTERM with an embedded etcd: exit 0, "stopped" logged, etcd stopped, pidfile removed', async () => {
    const p = await PlexusdProcess.start({ memberId: 'term-1' });
    try {
      const etcdPid = Number(readFileSync(join(p.dataDir, 'etcd.pid'), 'utf8'));
      assert.ok(isAlive(etcdPid));
      const exit = await signalAndWait(p, 'SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null }, p.logs.slice(-2000));
      assert.match(p.logs, /plexusd stopped/);
      assert.doesNotMatch(p.logs, /shutdown step failed/);
      assert.equal(isAlive(etcdPid), false, 'embedded etcd still running');
      assert.equal(existsSync(join(p.dataDir, 'etcd.pid')), false, 'pidfile left behind');
    } finally {
      await p.destroy();
    }
  });

  it('a second signal exits at once (code 1) and still stops the embedded etcd', async () => {
    const p = await PlexusdProcess.start({ memberId: 'twice-1' });
    try {
      const etcdPid = Number(readFileSync(join(p.dataDir, 'etcd.pid'), 'utf8'));
      // A frozen etcd makes the graceful stop hang (leaving the cluster needs etcd): the second signal must not wait for it.
      process.kill(etcdPid, 'SIGSTOP');
      try {
        process.kill(p.pid!, 'SIGINT');
        await waitFor('graceful stop begun', () => p.logs.includes('plexusd stopping'), 5_000);
        const t0 = Date.now();
        process.kill(p.pid!, 'SIGINT');
        const exit = await waitFor('plexusd exit', () => p.lastExit, 10_000);
        assert.deepEqual(exit, { code: 1, signal: null }, p.logs.slice(-2000));
        assert.ok(Date.now() - t0 < 1000, `second signal took ${Date.now() - t0} ms`);
        assert.match(p.logs, /exiting at once \(second signal\)/);
      } finally {
        process.kill(etcdPid, 'SIGCONT');
      }
      // It asked etcd to stop on its way out (delivered once etcd runs again).
      await waitFor('embedded etcd gone', () => !isAlive(etcdPid), 10_000);
    } finally {
      await p.destroy();
    }
  });

  it('etcd down at start: retries with backoff, logs why, comes up once etcd does', async () => {
    const etcd = await EtcdCluster.start(1);
    const dataDir = mkdtempSync(join(tmpdir(), 'plexusd-late-'));
    const [api, of, ovsdb] = await freePorts(3);
    let d: ReturnType<typeof spawnPlexusd> | undefined;
    try {
      await etcd.stopMember(0, true);
      d = spawnPlexusd([
        '--data-dir', dataDir, '--etcd', etcd.endpoints, '--member-id', 'late-etcd', '--advertise', '127.0.0.1',
        '--listen-api', `127.0.0.1:${api}`, '--listen-openflow', `127.0.0.1:${of}`, '--listen-ovsdb', `127.0.0.1:${ovsdb}`,
      ]);
      const logs = d.logs;
      await waitFor('two retries logged', () => (logs().match(/etcd not reachable, retrying/g) ?? []).length >= 2, 30_000);
      assert.equal(d.child.exitCode, null, 'plexusd gave up');
      await etcd.startMember(0);
      await waitFor('plexusd ready once etcd is back', async () => (await fetch(`http://127.0.0.1:${api}/v1/ready`).catch(() => undefined))?.status === 200, 30_000, 100);
      assert.match(logs(), /etcd reachable/);
      d.child.kill('SIGTERM');
      assert.equal((await d.exited).code, 0);
    } finally {
      if (d && d.child.exitCode === null) d.child.kill('SIGKILL');
      await etcd.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGTERM while still waiting for etcd: stops at once with exit 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'plexusd-wait-'));
    const [etcdPort, api, of, ovsdb] = await freePorts(4);
    const d = spawnPlexusd([
      '--data-dir', dataDir, '--etcd', `http://127.0.0.1:${etcdPort}`, '--member-id', 'wait-1', '--advertise', '127.0.0.1',
      '--listen-api', `127.0.0.1:${api}`, '--listen-openflow', `127.0.0.1:${of}`, '--listen-ovsdb', `127.0.0.1:${ovsdb}`,
    ]);
    try {
      await waitFor('a retry logged', () => d.logs().includes('etcd not reachable, retrying'), 15_000);
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      const exit = await d.exited;
      assert.equal(exit.code, 0, d.logs().slice(-2000));
      assert.ok(exit.atMs - t0 < 3000, `took ${exit.atMs - t0} ms`);
      assert.match(d.logs(), /plexusd stopped/);
    } finally {
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('cluster: SIGTERM of a master hands its datapaths over @slow', function () {
  this.timeout(180_000);
  let c: ClusterFixture;

  before(async () => {
    c = await ClusterFixture.start({ members: 2, hosts: 2, ttlSeconds: 2 });
    const api = c.live();
    assert.equal((await api.api('POST', '/v1/networks', { name: 'term' })).status, 201);
    assert.equal((await api.api('POST', '/v1/subnets', { network: 'term', cidr: '10.78.0.0/24' })).status, 201);
    for (const [i, h] of c.hosts.entries()) {
      const res = await api.api<{ id: string; mac: string }>('POST', '/v1/endpoints', { network: 'term', name: `t${i}` });
      assert.equal(res.status, 201);
      await plug(h, `t${i}`, { 'iface-id': res.body.id, 'attached-mac': res.body.mac, container_id: `t${i}` });
      await waitFor(`t${i} installed`, () => isInstalled(h, `t${i}`), 20_000);
    }
    await c.waitConverged();
  });
  after(async () => c?.stop());

  it('exit 0, every datapath mastered by the other member, zero flow changes on any switch', async () => {
    const victim = (await c.masterOf('h1'))!;
    const survivor = c.live(victim);
    const watches = await Promise.all(c.hosts.map((h) => watchFlowChanges(h)));
    const t0 = Date.now();
    const exit = await signalAndWait(victim, 'SIGTERM');
    const stopMs = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null }, victim.logs.slice(-2000));
    assert.match(victim.logs, /plexusd stopped/);
    const view = await waitFor('survivor masters every datapath', async () => {
      const v = await c.cluster(survivor);
      return ['h1', 'h2'].every((h) => v.masters[h]?.member === survivor.options.memberId) ? v : undefined;
    }, 10_000, 20);
    process.stdout.write(`      SIGTERM → exit 0 in ${stopMs} ms; datapaths on ${survivor.options.memberId}\n`);
    assert.equal(view.members.length, 1);
    await c.waitConverged(20_000, [survivor]);
    const changes = (await Promise.all(watches.map((w) => w.stop()))).flat();
    assert.deepEqual(changes, []);
  });
});
