/**
 * `restart` (SPEC §5, §10): restarting plexusd must change no flow. A cluster
 * with endpoints attached is restarted two ways while flow monitors watch every
 * switch:
 *
 * - all at once: every member stopped (SIGTERM), then every member started;
 * - rolling: one member at a time, each waited until the cluster converged.
 *
 * Reconciled means: every host ready with its switch connected (GET /v1/hosts),
 * mastered by a live member (GET /v1/cluster), and its master's log shows the
 * full read-and-compare (`flows reconciled`) since it started. The logs also
 * say how many flow-mods those passes sent (must be 0, like the monitors).
 */
import { performance } from 'node:perf_hooks';
import { waitFor } from '../src/sandbox/processes';
import { attachEndpoints, isReconciled, reconciledHosts, startClusterBench, watchAllSwitches, type ClusterBench } from './cluster-workload';
import { latencyFigures, num, percentile, round, type BenchContext, type BenchDefinition } from './framework';

interface Outcome {
  /** From the first start (all at once) or the restart (rolling) until reconciled. */
  readonly ms: number;
  /** From every restarted member answering /v1/ready until reconciled. */
  readonly afterReadyMs: number;
  readonly changed: string[];
  readonly reconcileChanges: number;
}

async function restartAll(b: ClusterBench, ctx: BenchContext): Promise<Outcome> {
  const c = b.cluster;
  const watch = await watchAllSwitches(c);
  let changed: string[] = [];
  let ms = 0;
  let afterReadyMs = 0;
  try {
    await Promise.all(c.members.map((m) => m.stop()));
    const t0 = performance.now();
    await Promise.all(c.members.map((m) => m.launch()));
    const tReady = performance.now();
    await waitFor('every datapath reconciled', () => isReconciled(c, c.members), 60_000, 10);
    ms = performance.now() - t0;
    afterReadyMs = performance.now() - tReady;
    await c.waitConverged(60_000);
  } finally {
    changed = await watch.stop();
  }
  const { changes } = reconciledHosts(c.members);
  ctx.progress(`all at once: reconciled ${Math.round(ms)} ms after start (${Math.round(afterReadyMs)} ms after ready); flow changes ${changed.length}, flow-mods logged ${changes}`);
  return { ms, afterReadyMs, changed, reconcileChanges: changes };
}

async function restartRolling(b: ClusterBench, ctx: BenchContext): Promise<Outcome[]> {
  const c = b.cluster;
  const out: Outcome[] = [];
  for (const m of c.members) {
    const watch = await watchAllSwitches(c);
    let changed: string[] = [];
    let ms = 0;
    let afterReadyMs = 0;
    try {
      await m.stop();
      await c.waitConverged(60_000, c.members.filter((x) => x !== m));
      const t0 = performance.now();
      await m.launch();
      const tReady = performance.now();
      // Converged (its share handed back to it), and it reconciled every host it masters now.
      await waitFor(`${m.options.memberId} back and its datapaths reconciled`, async () => {
        await c.waitConverged(1000);
        const view = await c.cluster(m);
        const mine = Object.entries(view.masters).filter(([, v]) => v.member === m.options.memberId).map(([h]) => h);
        const done = reconciledHosts([m]).hosts;
        // Bounded-load ownership gives every member a share once there are at least as many hosts as members.
        return (mine.length > 0 || c.hosts.length < c.members.length) && mine.every((h) => done.has(h));
      }, 60_000, 10);
      ms = performance.now() - t0;
      afterReadyMs = performance.now() - tReady;
    } finally {
      changed = await watch.stop();
    }
    const { changes } = reconciledHosts([m]);
    ctx.progress(`rolling ${m.options.memberId}: back and reconciled ${Math.round(ms)} ms after start (${Math.round(afterReadyMs)} ms after ready); flow changes ${changed.length}, flow-mods logged ${changes}`);
    for (const l of changed.slice(0, 5)) ctx.progress(`  changed: ${l}`);
    out.push({ ms, afterReadyMs, changed, reconcileChanges: changes });
  }
  return out;
}

export const restartBench: BenchDefinition = {
  name: 'restart',
  summary: 'restart every plexusd (all at once, then rolling): flows changed on the switches (must be 0), time until every datapath is reconciled',
  options: [
    { name: 'hosts', kind: 'number', default: 4, help: 'sandboxed OVS hosts (dummy datapath)' },
    { name: 'endpoints', kind: 'number', default: 40, help: 'endpoints attached, spread over the hosts' },
    { name: 'members', kind: 'number', default: 3, help: 'plexusd members' },
    { name: 'rounds', kind: 'number', default: 3, help: 'all-at-once restarts, then as many rolling restarts' },
    { name: 'member-ttl', kind: 'number', default: 2, help: 'member lease TTL in seconds (plexusd --member-ttl)' },
  ],
  async run(ctx) {
    const hosts = num(ctx.options, 'hosts');
    const endpoints = num(ctx.options, 'endpoints');
    const members = num(ctx.options, 'members');
    const rounds = num(ctx.options, 'rounds');
    if (members < 1 || hosts < 1 || rounds < 1) throw new Error('need --members >= 1, --hosts >= 1, --rounds >= 1');
    ctx.useVersion('etcd');
    ctx.progress(`starting etcd, ${members} plexusd and ${hosts} hosts`);
    const b = await startClusterBench({ members, hosts, ttlSeconds: num(ctx.options, 'member-ttl') });
    try {
      await attachEndpoints(b.cluster, endpoints, ctx);
      await b.cluster.waitConverged();
      const all: Outcome[] = [];
      const rolling: Outcome[] = [];
      for (let i = 0; i < rounds; i++) all.push(await restartAll(b, ctx));
      for (let i = 0; i < rounds; i++) rolling.push(...(await restartRolling(b, ctx)));
      ctx.details.all = all;
      ctx.details.rolling = rolling;
      const changed = (list: Outcome[]): number => list.reduce((s, o) => s + o.changed.length, 0);
      const allFig = latencyFigures('all_reconciled', all.map((o) => o.ms));
      const rollFig = latencyFigures('rolling_step_reconciled', rolling.map((o) => o.ms));
      return {
        flows_changed: changed(all) + changed(rolling),
        all_reconciled_p50_ms: allFig.all_reconciled_p50_ms!,
        all_reconciled_max_ms: allFig.all_reconciled_max_ms!,
        all_after_ready_p50_ms: round(percentile(all.map((o) => o.afterReadyMs), 50), 1),
        all_flows_changed: changed(all),
        rolling_step_p50_ms: rollFig.rolling_step_reconciled_p50_ms!,
        rolling_step_max_ms: rollFig.rolling_step_reconciled_max_ms!,
        rolling_after_ready_p50_ms: round(percentile(rolling.map((o) => o.afterReadyMs), 50), 1),
        rolling_flows_changed: changed(rolling),
        reconcile_flowmods_logged: [...all, ...rolling].reduce((s, o) => s + o.reconcileChanges, 0),
        rounds,
        members,
        hosts,
        endpoints,
      };
    } finally {
      await b.stop();
    }
  },
};

