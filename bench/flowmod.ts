/**
 * flowmod (SPEC §10, issue 17 item 5): flow programming rate of Plexus'
 * reconciler into one real switch vs `ovs-ofctl --bundle add-flows` of the same
 * flows on the same bridge.
 *
 * The flows are N remote-endpoint L2 flows as the compiler emits them (table
 * l2, `reg0=<vni>, reg1=0/FROM_TUNNEL, eth_dst=<mac i>` → `set tun_id, output
 * tunnel`), each with its own cookie. Each Plexus round gets newly built flow
 * objects, before the clock starts (building them is the compiler's work), so
 * nothing encoded in an earlier round is reused: the Plexus time covers the
 * reconciler from setPartition + attach (encoding, dump of the installed flows
 * and meters, diff, bundle) until flushed() — the bundle commit reply, after
 * which the flows are in the switch. ovs-ofctl's time is its whole process
 * (parse the same flows as text, connect, bundle, commit reply, exit).
 *
 * Fair to both and robust to load (2 shared cores): every round empties the
 * bridge first and checks it is empty, runs the two back to back, in
 * alternating order, and checks afterwards that the switch holds exactly the
 * same N flows; each round is reported with the load average, and the result
 * gives the medians, the ratio of the medians and the median of the rounds'
 * own ratios (each round's two runs saw about the same load).
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/log';
import { cookie, FEATURE } from '../src/pipeline/cookies';
import { FLAG, m, REG, setField } from '../src/pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../src/pipeline/flow';
import { L2 } from '../src/pipeline/tables';
import { HostFlows } from '../src/reconciler/host-flows';
import { onExitCleanup, run } from '../src/sandbox/processes';
import { startSwitch, type SwitchFixture } from '../test/support/switch-fixture';
import { num, percentile, repoRoot, round, type BenchContext, type BenchDefinition } from './framework';

const VNI = 5001;
const TUNNEL_OFPORT = 10;

function macFor(i: number): string {
  const b = [0x0a, 0x58, 0x01, (i >> 16) & 255, (i >> 8) & 255, i & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

interface Spec {
  readonly mac: string;
  readonly cookie: bigint;
}

function specs(n: number): Spec[] {
  return Array.from({ length: n }, (_, i) => ({ mac: macFor(i), cookie: cookie(FEATURE.L2, `bench-endpoint-${i}`) }));
}

function plexusFlows(list: readonly Spec[]): Flow[] {
  return list.map((s) =>
    buildFlow(
      L2,
      'endpoint-mac',
      [m(REG.NETWORK, VNI), m(REG.FLAGS, 0, FLAG.FROM_TUNNEL), m('eth_dst', s.mac)],
      applyThenGoto([setField('tun_id', BigInt(VNI)), { type: 'output', port: TUNNEL_OFPORT }]),
      s.cookie,
    ));
}

function ofctlText(list: readonly Spec[]): string {
  return list
    .map((s) => `table=${L2.id},priority=${L2.priorities['endpoint-mac']},cookie=0x${s.cookie.toString(16)},reg0=${VNI},reg1=0/${FLAG.FROM_TUNNEL},dl_dst=${s.mac},actions=set_field:${VNI}->tun_id,output:${TUNNEL_OFPORT}`)
    .join('\n') + '\n';
}

async function dumpSorted(sw: SwitchFixture): Promise<string[]> {
  return (await sw.host.dumpFlows()).sort();
}

/** Empties the bridge, so each method starts from the same state (checked: no flow left). */
async function clear(sw: SwitchFixture): Promise<void> {
  await sw.host.ofctl('del-flows', sw.host.mgmt());
  const left = (await sw.host.dumpFlows()).length;
  if (left !== 0) throw new Error(`bridge still holds ${left} flows after del-flows`);
}

async function timeOvsOfctl(sw: SwitchFixture, file: string): Promise<number> {
  const t = performance.now();
  await run('ovs-ofctl', ['-O', 'OpenFlow13', '--bundle', 'add-flows', sw.host.mgmt(), file], { env: sw.host.env, timeoutMs: 600_000 });
  return performance.now() - t;
}

/** Wall time until the bundle commit reply, and the CPU time this process spent meanwhile. */
async function timePlexus(sw: SwitchFixture, flows: readonly Flow[]): Promise<{ ms: number; cpuMs: number }> {
  const hf = new HostFlows('bench', silentLogger());
  const cpu = process.cpuUsage();
  const t = performance.now();
  hf.setPartition('bench', flows);
  hf.attach(sw.conn());
  await hf.flushed();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  hf.detach(sw.conn());
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Top functions by self time of a V8 CPU profile, with the share of all samples. */
function topSelfTime(profile: { nodes: ProfileNode[] }, limit: number): { fn: string; selfPct: number }[] {
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(repoRoot() + '/', '');
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
  }
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, hits]) => ({ fn, selfPct: round((100 * hits) / Math.max(1, total), 1) }));
}

/** Runs `fn` under the V8 sampling profiler; writes the .cpuprofile next to the results. */
async function profiled<T>(ctx: BenchContext, fn: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    session.disconnect();
    const file = join(repoRoot(), 'bench', 'results', `flowmod-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    ctx.progress(`CPU profile of the Plexus rounds written to ${file}; top self time:`);
    for (const { fn, selfPct } of topSelfTime(profile, 20)) ctx.progress(`  ${String(selfPct).padStart(5)}%  ${fn}`);
  }
}

export const flowmodBench: BenchDefinition = {
  name: 'flowmod',
  summary: 'flows/s into one switch: Plexus reconciler vs ovs-ofctl --bundle add-flows',
  options: [
    { name: 'flows', kind: 'number', default: 10_000, help: 'distinct flows installed per round' },
    { name: 'rounds', kind: 'number', default: 7, help: 'interleaved rounds (each runs both methods; medians reported)' },
    { name: 'warmup', kind: 'number', default: 2, help: 'uncounted rounds per method first (JIT and heap warm-up, as in a running plexusd)' },
    { name: 'profile', kind: 'boolean', default: false, help: 'CPU-profile the Plexus rounds (.cpuprofile in bench/results)' },
  ],
  async run(ctx) {
    const n = num(ctx.options, 'flows');
    const rounds = Math.max(1, num(ctx.options, 'rounds'));
    const list = specs(n);
    const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-flowmod-'));
    const forget = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'flows.txt');
    writeFileSync(file, ofctlText(list));
    ctx.progress(`starting a sandboxed switch; ${n} flows per round, ${rounds} rounds each`);
    const sw = await startSwitch({ ports: { p1: 1 }, tunnels: { vx1: { ofport: TUNNEL_OFPORT, remoteIp: '127.1.0.2' } } });
    const perRound: { plexusMs: number; plexusCpuMs: number; ofctlMs: number; first: 'plexus' | 'ovs-ofctl'; load1: number }[] = [];
    const loadStart = loadavg();
    try {
      let reference: string[] | undefined;
      const check = async (who: string): Promise<void> => {
        const dumped = await dumpSorted(sw);
        if (dumped.length !== n) throw new Error(`${who}: switch holds ${dumped.length} flows, expected ${n}`);
        if (!reference) reference = dumped;
        else if (dumped.join('\n') !== reference.join('\n')) throw new Error(`${who}: installed flows differ from the other method's`);
      };
      const ofctlRound = async (): Promise<number> => {
        await clear(sw);
        const ms = await timeOvsOfctl(sw, file);
        await check('ovs-ofctl');
        return ms;
      };
      // Only the first counted Plexus round is profiled (the profiler slows what it samples).
      let profileNext = false;
      const plexusRound = async (): Promise<{ ms: number; cpuMs: number }> => {
        await clear(sw);
        const flows = plexusFlows(list);
        const t = profileNext ? await profiled(ctx, () => timePlexus(sw, flows)) : await timePlexus(sw, flows);
        profileNext = false;
        await check('plexus');
        return t;
      };
      const warmup = num(ctx.options, 'warmup');
      for (let r = 0; r < warmup; r++) {
        await ofctlRound();
        await plexusRound();
      }
      profileNext = ctx.options.profile === true;
      for (let r = 0; r < rounds; r++) {
        const load1 = loadavg()[0]!;
        const first = r % 2 === 0 ? 'ovs-ofctl' : 'plexus';
        let plexus: { ms: number; cpuMs: number };
        let ofctlMs: number;
        if (first === 'ovs-ofctl') {
          ofctlMs = await ofctlRound();
          plexus = await plexusRound();
        } else {
          plexus = await plexusRound();
          ofctlMs = await ofctlRound();
        }
        const plexusMs = plexus.ms;
        perRound.push({ plexusMs: round(plexusMs, 1), plexusCpuMs: round(plexus.cpuMs, 1), ofctlMs: round(ofctlMs, 1), first, load1 });
        ctx.progress(
          `round ${r + 1} (${first} first, load ${load1.toFixed(2)}): plexus ${round(plexusMs, 1)} ms (CPU ${round(plexus.cpuMs, 1)} ms), ` +
            `ovs-ofctl ${round(ofctlMs, 1)} ms: ${round(ofctlMs / plexusMs, 2)}x`,
        );
      }
    } finally {
      await sw.stop();
      rmSync(dir, { recursive: true, force: true });
      forget();
    }
    const loadEnd = loadavg();
    ctx.details.rounds = perRound;
    ctx.details.loadavg = { start: loadStart, end: loadEnd };
    const p = percentile(perRound.map((r) => r.plexusMs), 50);
    const o = percentile(perRound.map((r) => r.ofctlMs), 50);
    const plexusPerS = Math.round((n * 1000) / p);
    const ofctlPerS = Math.round((n * 1000) / o);
    return {
      flows: n,
      plexus_per_s: plexusPerS,
      ovs_ofctl_per_s: ofctlPerS,
      ratio: round(plexusPerS / ofctlPerS, 2),
      round_ratio_p50: round(percentile(perRound.map((r) => r.ofctlMs / r.plexusMs), 50), 2),
      round_ratio_min: round(Math.min(...perRound.map((r) => r.ofctlMs / r.plexusMs)), 2),
      plexus_ms: round(p, 1),
      plexus_cpu_ms: round(percentile(perRound.map((r) => r.plexusCpuMs), 50), 1),
      ovs_ofctl_ms: round(o, 1),
      rounds,
      load1_start: round(loadStart[0]!, 2),
      load1_end: round(loadEnd[0]!, 2),
    };
  },
};
