/**
 * `suite`: the benchmarks that issue 17's figures come from, run one after the
 * other in one sequence on the same machine, each beside its peer in its own
 * run (attach with OVN, flowmod with `ovs-ofctl --bundle`, packet-in with
 * `ovs-testcontroller`, failover and restart, then 10, 100 and 1,000
 * simulated hosts: the longest last), and
 * one table of Plexus, the peer and the goal, written to
 * bench/results/suite-<timestamp>.md: the README's Performance table is that file.
 *
 * Each benchmark runs as its own child process of this runner (`run.js <name>`),
 * so each has its own timeout, cleanup and result file; the suite reads the
 * child's one summary line. A step that fails is a row that says so, and the
 * rest still run.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, round, type BenchContext, type BenchDefinition, type Figures } from './framework';

export interface SuiteStep {
  readonly key: string;
  readonly bench: string;
  /** Arguments of the full run, and of `--small` (a quick check that the suite itself works). */
  readonly args: readonly string[];
  readonly small: readonly string[];
  readonly timeoutS: number;
}

export const SUITE_STEPS: readonly SuiteStep[] = [
  { key: 'attach', bench: 'attach', args: ['--hosts', '8', '--endpoints', '800', '--peer', 'ovn'], small: ['--hosts', '2', '--endpoints', '10', '--peer', 'ovn'], timeoutS: 1500 },
  { key: 'flowmod', bench: 'flowmod', args: ['--flows', '10000', '--rounds', '9'], small: ['--flows', '500', '--rounds', '1', '--warmup', '0'], timeoutS: 600 },
  { key: 'packetin', bench: 'packetin', args: ['--seconds', '5', '--window', '1,8,32', '--rounds', '3', '--peer', 'ovs-testcontroller'], small: ['--seconds', '1', '--switches', '2', '--window', '1,8', '--peer', 'ovs-testcontroller'], timeoutS: 900 },
  { key: 'failover', bench: 'failover', args: ['--rounds', '10'], small: ['--rounds', '1', '--hosts', '2', '--endpoints', '4'], timeoutS: 900 },
  { key: 'restart', bench: 'restart', args: [], small: ['--rounds', '1', '--hosts', '2', '--endpoints', '4'], timeoutS: 900 },
  { key: 'fleet10', bench: 'attach', args: ['--simulated', '--hosts', '10', '--endpoints', '200'], small: ['--simulated', '--hosts', '2', '--endpoints', '10'], timeoutS: 600 },
  { key: 'fleet100', bench: 'attach', args: ['--simulated', '--hosts', '100', '--endpoints', '2000'], small: ['--simulated', '--hosts', '3', '--endpoints', '20'], timeoutS: 1200 },
  { key: 'fleet', bench: 'attach', args: ['--simulated', '--hosts', '1000', '--endpoints', '20000'], small: ['--simulated', '--hosts', '4', '--endpoints', '40'], timeoutS: 2400 },
];

/** What a step's child run left: its figures, or why it has none. */
export type StepOutcome = { readonly figures: Figures; readonly seconds: number; readonly load1: number } | { readonly error: string; readonly seconds: number; readonly load1: number };
export type SuiteOutcomes = Readonly<Record<string, StepOutcome>>;

interface Row {
  readonly step: string;
  readonly what: string;
  readonly plexus: (f: Figures) => string;
  readonly peer: (f: Figures) => string;
  readonly goal: string;
  /** Undefined: the row has no goal of its own (context for another row). */
  readonly met?: (f: Figures) => boolean;
}

const n = (f: Figures, k: string): number => (typeof f[k] === 'number' ? (f[k] as number) : Number.NaN);
const show = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a');
const pair = (f: Figures, a: string, b: string): string => `${show(n(f, a))} / ${show(n(f, b))}`;
const times = (v: number): string => `${show(v, 2)}×`;

export const SUITE_ROWS: readonly Row[] = [
  {
    step: 'attach', what: 'attach 8 hosts × 800, local p50 / p99 (ms)', goal: 'p99 ≤ 10; p50 ≈ 10; ≥ 5× OVN',
    plexus: (f) => pair(f, 'local_p50_ms', 'local_p99_ms'),
    peer: (f) => `OVN ${pair(f, 'ovn_local_p50_ms', 'ovn_local_p99_ms')} (${times(n(f, 'ovn_ratio_local_p50'))} / ${times(n(f, 'ovn_ratio_local_p99'))})`,
    met: (f) => n(f, 'local_p99_ms') <= 10 && n(f, 'ovn_ratio_local_p50') >= 5,
  },
  {
    step: 'attach', what: 'attach 8 hosts × 800, remote p50 / p99 (ms)', goal: 'p99 ≤ 20; ≥ 5× OVN',
    plexus: (f) => pair(f, 'remote_p50_ms', 'remote_p99_ms'),
    peer: (f) => `OVN ${pair(f, 'ovn_remote_p50_ms', 'ovn_remote_p99_ms')} (${times(n(f, 'ovn_ratio_remote_p50'))} / ${times(n(f, 'ovn_ratio_remote_p99'))})`,
    met: (f) => n(f, 'remote_p99_ms') <= 20 && n(f, 'ovn_ratio_remote_p50') >= 5,
  },
  {
    step: 'attach', what: 'attach 8 hosts × 800, burst of 800 (s)', goal: '≥ 10× OVN',
    plexus: (f) => show(n(f, 'burst_s'), 2),
    peer: (f) => `OVN ${show(n(f, 'ovn_burst_s'), 2)} (${times(n(f, 'ovn_ratio_burst'))})`,
    met: (f) => n(f, 'ovn_ratio_burst') >= 10,
  },
  {
    step: 'flowmod', what: 'flowmod, 10,000 flows into one bridge (flows/s)', goal: '≥ 0.9× ovs-ofctl',
    plexus: (f) => show(n(f, 'plexus_per_s'), 0),
    peer: (f) => `ovs-ofctl --bundle ${show(n(f, 'ovs_ofctl_per_s'), 0)} (${times(n(f, 'ratio'))}; rounds' median ${times(n(f, 'round_ratio_p50'))})`,
    met: (f) => n(f, 'ratio') >= 0.9,
  },
  ...[1, 8, 32].map((w): Row => ({
    step: 'packetin', what: `packet-in, DHCP answers, window ${w} (/s)`, goal: '≥ 1× ovs-testcontroller',
    plexus: (f) => show(n(f, `plexus_w${w}_per_s`), 0),
    peer: (f) => `ovs-testcontroller ${show(n(f, `ovs_testcontroller_w${w}_per_s`), 0)} (${times(n(f, `ratio_w${w}`))})`,
    met: (f) => n(f, `ratio_w${w}`) >= 1,
  })),
  {
    step: 'fleet', what: '1,000 simulated hosts × 20,000: join (s)', goal: 'completes',
    plexus: (f) => show(n(f, 'join_s')), peer: () => '',
    met: (f) => Number.isFinite(n(f, 'join_s')),
  },
  {
    step: 'fleet', what: '1,000 simulated hosts × 20,000: local / remote p99 (ms)', goal: 'remote p99 ≤ 250',
    plexus: (f) => pair(f, 'local_p99_ms', 'remote_p99_ms'), peer: () => '',
    met: (f) => n(f, 'remote_p99_ms') <= 250,
  },
  {
    step: 'fleet', what: '1,000 simulated hosts: burst of 20,000 (s)', goal: 'settles',
    plexus: (f) => show(n(f, 'burst_s')), peer: () => '',
    met: (f) => Number.isFinite(n(f, 'burst_s')),
  },
  {
    step: 'fleet', what: '1,000 simulated hosts: plexusd RSS settled (MiB)', goal: '≤ 4 MB per host + 2 KiB per endpoint',
    plexus: (f) => show(n(f, 'rss_mib'), 0), peer: (f) => `budget ${show(n(f, 'rss_budget_mib'), 0)}`,
    met: (f) => n(f, 'rss_mib') <= n(f, 'rss_budget_mib'),
  },
  {
    step: 'fleet', what: '1,000 simulated hosts: etcd per endpoint, compacted (B)', goal: '≤ 1 KiB',
    plexus: (f) => show(n(f, 'etcd_compacted_per_endpoint_b'), 0), peer: () => '',
    met: (f) => n(f, 'etcd_compacted_per_endpoint_b') <= 1024,
  },
  {
    step: 'failover', what: 'failover, kill -9 / SIGSTOP of a master, p50 (ms); flows changed', goal: '0 flows changed',
    plexus: (f) => `${pair(f, 'kill9_p50_ms', 'sigstop_p50_ms')}; ${show(n(f, 'kill9_flows_changed') + n(f, 'sigstop_flows_changed'), 0)}`, peer: () => '',
    met: (f) => n(f, 'kill9_flows_changed') + n(f, 'sigstop_flows_changed') + n(f, 'kill9_rejoin_flows_changed') + n(f, 'sigstop_rejoin_flows_changed') === 0,
  },
  {
    step: 'restart', what: 'restart every member, all at once and rolling: flows changed', goal: '0',
    plexus: (f) => show(n(f, 'flows_changed'), 0), peer: () => '',
    met: (f) => n(f, 'flows_changed') === 0,
  },
];

/** Reads `name k=v k=v ...` (framework.formatSummary) back into figures. */
export function parseSummary(line: string): Figures {
  const figures: Record<string, number | string> = {};
  for (const part of line.trim().split(/\s+/).slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const raw = part.slice(eq + 1);
    const num = raw === 'n/a' ? Number.NaN : Number(raw);
    figures[part.slice(0, eq)] = raw === 'n/a' || (raw !== '' && Number.isFinite(num)) ? num : raw;
  }
  return figures;
}

/** The suite's table in markdown: one row per goal, with whether this run met it. */
export function suiteTable(outcomes: SuiteOutcomes): string {
  const lines = ['| benchmark | Plexus | reference (same run) | goal | met |', '|---|---|---|---|---|'];
  for (const row of SUITE_ROWS) {
    const o = outcomes[row.step];
    if (!o) continue;
    if ('error' in o) {
      lines.push(`| ${row.what} | failed: ${o.error.replace(/\|/g, '/')} | | ${row.goal} | no |`);
      continue;
    }
    const met = row.met ? (row.met(o.figures) ? 'yes' : 'no') : '';
    lines.push(`| ${row.what} | ${row.plexus(o.figures)} | ${row.peer(o.figures)} | ${row.goal} | ${met} |`);
  }
  return lines.join('\n');
}

/** How the simulated fleet's costs grow: one row per fleet step that ran. */
export function growthTable(outcomes: SuiteOutcomes): string {
  const lines = [
    '| hosts × endpoints | join (s) | local / remote p50 (ms) | local / remote p99 (ms) | burst (s) | plexusd RSS / heap settled (MiB; budget) | etcd per endpoint, left / compacted (B) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const step of SUITE_STEPS.filter((s) => s.key.startsWith('fleet'))) {
    const o = outcomes[step.key];
    if (!o) continue;
    const size = `${step.args[step.args.indexOf('--hosts') + 1]} × ${step.args[step.args.indexOf('--endpoints') + 1]}`;
    if ('error' in o) {
      lines.push(`| ${size} | failed: ${o.error.replace(/\|/g, '/')} | | | | | |`);
      continue;
    }
    const f = o.figures;
    lines.push(
      `| ${size} | ${show(n(f, 'join_s'))} | ${pair(f, 'local_p50_ms', 'remote_p50_ms')} | ${pair(f, 'local_p99_ms', 'remote_p99_ms')} | ${show(n(f, 'burst_s'), 2)} | ` +
        `${show(n(f, 'rss_mib'), 0)} / ${show(n(f, 'heap_used_mib'), 0)} (${show(n(f, 'rss_budget_mib'), 0)}) | ${show(n(f, 'etcd_db_per_endpoint_b'), 0)} / ${show(n(f, 'etcd_compacted_per_endpoint_b'), 0)} |`,
    );
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

function runStep(step: SuiteStep, small: boolean, progress: (m: string) => void): Promise<StepOutcome> {
  const started = Date.now();
  const load1 = round(loadavg()[0]!, 2);
  const args = [...process.execArgv, process.argv[1]!, step.bench, ...(small ? step.small : step.args), '--timeout', String(step.timeoutS)];
  progress(`suite: ${step.key}: ${step.bench} ${(small ? step.small : step.args).join(' ')} (load ${load1})`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let lastErr = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      lastErr = (lastErr + d.toString()).split('\n').filter(Boolean).slice(-1)[0] ?? '';
    });
    child.on('close', (code) => {
      const seconds = round((Date.now() - started) / 1000, 1);
      const summary = out.trim().split('\n').pop() ?? '';
      if (code === 0 && summary.startsWith(`${step.bench} `)) resolve({ figures: parseSummary(summary), seconds, load1 });
      else resolve({ error: `exit ${code}: ${lastErr.slice(0, 200)}`, seconds, load1 });
    });
  });
}

export const suiteBench: BenchDefinition = {
  name: 'suite',
  summary: "issue 17's figures in one sequence: attach vs OVN, flowmod vs ovs-ofctl, packet-in vs ovs-testcontroller, 1,000 simulated hosts, failover, restart; one table",
  timeoutS: SUITE_STEPS.reduce((sum, s) => sum + s.timeoutS, 60),
  options: [
    { name: 'only', kind: 'string', help: `comma-separated steps to run (${SUITE_STEPS.map((s) => s.key).join(',')})` },
    { name: 'small', kind: 'boolean', default: false, help: 'tiny sizes: checks that every step runs, measures nothing worth reporting' },
  ],
  run: async (ctx: BenchContext): Promise<Figures> => {
    const only = typeof ctx.options.only === 'string' ? new Set(ctx.options.only.split(',').map((s) => s.trim())) : undefined;
    const unknown = only ? [...only].filter((k) => !SUITE_STEPS.some((s) => s.key === k)) : [];
    if (unknown.length > 0) throw new Error(`unknown suite steps: ${unknown.join(', ')}`);
    const outcomes: Record<string, StepOutcome> = {};
    for (const step of SUITE_STEPS) {
      if (only && !only.has(step.key)) continue;
      outcomes[step.key] = await runStep(step, ctx.options.small === true, ctx.progress);
    }
    const table = suiteTable(outcomes);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = join(repoRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `suite-${stamp}.md`);
    const steps = Object.entries(outcomes).map(([k, o]) => `- ${k}: ${o.seconds} s, load ${o.load1} at its start${'error' in o ? `; failed: ${o.error}` : ''}`);
    const heading = ctx.options.small === true ? '`suite --small`: tiny sizes, the rows name the full ones; nothing here is a figure to report.\n\n' : '';
    const growth = growthTable(outcomes);
    const text = `${heading}${table}\n\n${growth ? `How the simulated fleet's costs grow:\n\n${growth}\n\n` : ''}${steps.join('\n')}\n`;
    writeFileSync(file, text);
    ctx.progress(`suite tables written to ${file}\n${text}`);
    ctx.details.outcomes = outcomes;
    const rows = SUITE_ROWS.filter((r) => r.met && outcomes[r.step]);
    const met = rows.filter((r) => {
      const o = outcomes[r.step]!;
      return !('error' in o) && r.met!(o.figures);
    }).length;
    return { steps: Object.keys(outcomes).length, failed_steps: Object.values(outcomes).filter((o) => 'error' in o).length, goals: rows.length, goals_met: met };
  },
};
