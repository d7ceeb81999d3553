/**
 * `failover` (SPEC §5, §10): a cluster of plexusd members on one etcd, sandboxed
 * hosts (dummy datapath) with endpoints attached, then rounds of taking away
 * the member that masters the most datapaths:
 *
 * - kill9: `kill -9`. Peers see its heartbeat connection refused and revoke its
 *   lease at once, so the time should be far below the member TTL.
 * - sigstop: SIGSTOP, a silent member: nothing is refused, only the lease TTL
 *   (`--member-ttl`) decides; then SIGCONT, and the stale master must be fenced
 *   by the switch (role generation ids).
 *
 * Each round times how long until EVERY datapath the victim mastered has a new
 * master, twice: as the cluster records it (GET /v1/cluster on a survivor, every
 * 10 ms) and as each affected switch reports it (its Controller table: exactly
 * one connected controller with role master, not the victim). ovs-vswitchd
 * writes the Controller status columns only on its statistics timer
 * (other_config:stats-update-interval, at least 5 s), so the switch figure
 * carries up to 5 s of reporting lag: it confirms, the cluster figure is the
 * takeover time. Flow monitors on
 * every switch count flow changes from the fault until the survivors have
 * converged (must be 0), and again while the victim rejoins (must be 0).
 */
import { performance } from 'node:perf_hooks';
import { sleep } from '../src/sandbox/processes';
import {
  attachEndpoints,
  busiest,
  resume,
  startClusterBench,
  timeUntilRemastered,
  timeUntilSwitchHasNewMaster,
  waitConvergedOrExplain,
  watchAllSwitches,
  type ClusterBench,
} from './cluster-workload';
import { num, percentile, round, str, type BenchContext, type BenchDefinition, type Figures } from './framework';

type Mode = 'kill9' | 'sigstop';

interface Round {
  /** As the cluster view records it. */
  readonly ms: number;
  /** As the slowest affected switch reports it. */
  readonly switchMs: number;
  readonly moved: number;
  readonly changed: string[];
  readonly rejoinChanged: string[];
}

async function runRound(b: ClusterBench, mode: Mode, ttlS: number, ctx: BenchContext): Promise<Round> {
  const c = b.cluster;
  const victim = busiest(c, await c.cluster());
  const victimId = victim.member.options.memberId!;
  const survivors = c.members.filter((m) => m !== victim.member);
  const affected = c.hosts.filter((h) => victim.datapaths.includes(h.name));
  const timeoutMs = mode === 'kill9' ? 15_000 : ttlS * 1000 + 15_000;

  const watch = await watchAllSwitches(c);
  let changed: string[] = [];
  let ms: number;
  let switchMs: number;
  try {
    const t0 = performance.now();
    let killed: Promise<void> = Promise.resolve();
    if (mode === 'kill9') killed = victim.member.kill(); // SIGKILL is sent before kill() first awaits
    else process.kill(victim.member.pid!, 'SIGSTOP');
    try {
      [ms, switchMs] = await Promise.all([
        timeUntilRemastered(c, survivors[0]!, victim.datapaths, victimId, t0, timeoutMs),
        Promise.all(affected.map((h) => timeUntilSwitchHasNewMaster(c, h, victim.openflow, t0, timeoutMs))).then((t) => Math.max(0, ...t)),
      ]);
      await killed;
      await waitConvergedOrExplain(c, 30_000, survivors);
    } catch (err) {
      if (mode === 'sigstop') resume(victim.member);
      throw err;
    }
  } finally {
    changed = await watch.stop();
  }

  // The victim comes back: relaunched after kill -9, resumed after SIGSTOP.
  const rejoin = await watchAllSwitches(c);
  let rejoinChanged: string[] = [];
  try {
    if (mode === 'kill9') {
      await victim.member.launch();
    } else {
      resume(victim.member);
      await sleep(1500); // it still believes it is master for a moment: the switches must refuse it
    }
    await waitConvergedOrExplain(c, 60_000);
  } finally {
    rejoinChanged = await rejoin.stop();
  }
  ctx.progress(
    `${mode} ${victimId} (${victim.datapaths.length} datapaths): new masters in ${Math.round(ms)} ms, switches report it within ${Math.round(switchMs)} ms; ` +
      `flow changes ${changed.length}, on rejoin ${rejoinChanged.length}`,
  );
  for (const l of [...changed, ...rejoinChanged].slice(0, 5)) ctx.progress(`  changed: ${l}`);
  return { ms, switchMs, moved: victim.datapaths.length, changed, rejoinChanged };
}

function modeFigures(mode: Mode, rounds: readonly Round[]): Figures {
  const ms = rounds.map((r) => r.ms);
  const sw = rounds.map((r) => r.switchMs);
  return {
    [`${mode}_p50_ms`]: round(percentile(ms, 50), 1),
    [`${mode}_max_ms`]: round(Math.max(...ms), 1),
    [`${mode}_switch_confirmed_p50_ms`]: round(percentile(sw, 50), 1),
    [`${mode}_switch_confirmed_max_ms`]: round(Math.max(...sw), 1),
    [`${mode}_datapaths_moved`]: round(rounds.reduce((s, r) => s + r.moved, 0) / rounds.length, 2),
    [`${mode}_flows_changed`]: rounds.reduce((s, r) => s + r.changed.length, 0),
    [`${mode}_rejoin_flows_changed`]: rounds.reduce((s, r) => s + r.rejoinChanged.length, 0),
  };
}

export const failoverBench: BenchDefinition = {
  name: 'failover',
  summary: 'kill -9 / SIGSTOP the busiest of 3 members: time until its datapaths have new masters, flows changed (must be 0)',
  options: [
    { name: 'hosts', kind: 'number', default: 4, help: 'sandboxed OVS hosts (dummy datapath)' },
    { name: 'endpoints', kind: 'number', default: 40, help: 'endpoints attached, spread over the hosts' },
    { name: 'rounds', kind: 'number', default: 10, help: 'faults per mode' },
    { name: 'members', kind: 'number', default: 3, help: 'plexusd members' },
    { name: 'mode', kind: 'string', default: 'both', help: 'kill9 | sigstop | both' },
    { name: 'member-ttl', kind: 'number', default: 2, help: 'member lease TTL in seconds (plexusd --member-ttl); bounds the SIGSTOP takeover' },
  ],
  async run(ctx) {
    const hosts = num(ctx.options, 'hosts');
    const endpoints = num(ctx.options, 'endpoints');
    const rounds = num(ctx.options, 'rounds');
    const members = num(ctx.options, 'members');
    const ttlS = num(ctx.options, 'member-ttl');
    const modeOpt = str(ctx.options, 'mode') ?? 'both';
    if (!['kill9', 'sigstop', 'both'].includes(modeOpt)) throw new Error(`--mode must be kill9, sigstop or both, got "${modeOpt}"`);
    if (members < 2 || hosts < 1 || rounds < 1) throw new Error('need --members >= 2, --hosts >= 1, --rounds >= 1');
    const modes: Mode[] = modeOpt === 'both' ? ['kill9', 'sigstop'] : [modeOpt as Mode];
    ctx.useVersion('etcd');

    ctx.progress(`starting etcd, ${members} plexusd (member TTL ${ttlS} s) and ${hosts} hosts`);
    const b = await startClusterBench({ members, hosts, ttlSeconds: ttlS });
    try {
      const attachMs = await attachEndpoints(b.cluster, endpoints, ctx);
      await b.cluster.waitConverged();
      const byMode = new Map<Mode, Round[]>();
      for (const mode of modes) {
        const list: Round[] = [];
        for (let i = 0; i < rounds; i++) list.push(await runRound(b, mode, ttlS, ctx));
        byMode.set(mode, list);
      }
      const all = [...byMode.values()].flat();
      for (const [mode, list] of byMode) {
        ctx.details[mode] = list.map((r) => ({ ms: round(r.ms, 1), switchConfirmedMs: round(r.switchMs, 1), moved: r.moved, changed: r.changed, rejoinChanged: r.rejoinChanged }));
      }
      const perMode = modes.map((m) => modeFigures(m, byMode.get(m)!));
      const headline: Figures = {};
      for (const [m, f] of modes.map((m, i) => [m, perMode[i]!] as const)) {
        headline[`${m}_p50_ms`] = f[`${m}_p50_ms`]!;
        headline[`${m}_max_ms`] = f[`${m}_max_ms`]!;
      }
      return {
        ...headline,
        flows_changed: all.reduce((s, r) => s + r.changed.length + r.rejoinChanged.length, 0),
        rounds,
        ...(modes.includes('sigstop') ? { member_ttl_s: ttlS } : {}),
        ...Object.assign({}, ...perMode),
        members,
        hosts,
        endpoints,
        attach_ms: Math.round(attachMs),
      };
    } finally {
      await b.stop();
    }
  },
};
