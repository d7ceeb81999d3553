/**
 * What every benchmark shares (SPEC §10): a definition with its options, a
 * context to report progress on stderr, percentile helpers, and the result
 * record written to `bench/results/<name>-<timestamp>.json` with the machine
 * and the versions of everything measured. The summary line is printed by
 * `run.ts`, last on stdout.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../src/sandbox/processes';

export type OptionValue = string | number | boolean;
export type Options = Readonly<Record<string, OptionValue>>;
/** Figures are numbers (rounded for print) or short words (e.g. "n/a"). */
export type Figures = Record<string, number | string>;

export interface OptionDef {
  readonly name: string;
  readonly kind: 'number' | 'string' | 'boolean';
  readonly default?: OptionValue;
  readonly help: string;
}

export interface BenchContext {
  readonly options: Options;
  /** Raw data kept in the JSON result only (e.g. every sample), not in the summary line. */
  readonly details: Record<string, unknown>;
  /** Progress for humans, on stderr; stdout carries only the summary line. */
  progress(message: string): void;
  /** Adds a program whose version the result records (e.g. "ovn"). */
  useVersion(name: VersionedTool): void;
}

export interface BenchDefinition {
  readonly name: string;
  readonly summary: string;
  readonly options: readonly OptionDef[];
  /** Default of the common --timeout, in seconds (600 unless set). */
  readonly timeoutS?: number;
  run(ctx: BenchContext): Promise<Figures>;
}

export interface BenchResult {
  readonly name: string;
  readonly figures: Figures;
  readonly options: Options;
  readonly details?: Record<string, unknown>;
  readonly machine: { cpus: number; cpuModel: string; memBytes: number; kernel: string };
  readonly versions: Record<string, string>;
  readonly startedAt: string;
  readonly durationS: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** `prefix_p50_ms`, `prefix_p99_ms`, `prefix_max_ms`, `prefix_n` of samples in ms. */
export function latencyFigures(prefix: string, samplesMs: readonly number[]): Figures {
  return {
    [`${prefix}_p50_ms`]: round(percentile(samplesMs, 50), 1),
    [`${prefix}_p99_ms`]: round(percentile(samplesMs, 99), 1),
    [`${prefix}_max_ms`]: round(samplesMs.length ? Math.max(...samplesMs) : Number.NaN, 1),
    [`${prefix}_n`]: samplesMs.length,
  };
}

/** Three significant decimals at most; keeps integers as they are. */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `a / b` rounded, or NaN when either is missing. */
export function ratio(a: number | string | undefined, b: number | string | undefined): number {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return round(a / b, 2);
}

export function formatSummary(name: string, figures: Figures): string {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isFinite(v) ? 'n/a' : v}`);
  return [name, ...parts].join(' ');
}

export type VersionedTool = 'node' | 'ovs' | 'etcd' | 'ovn';

const VERSION_COMMANDS: Record<Exclude<VersionedTool, 'node'>, [string, string[], RegExp]> = {
  ovs: ['ovs-vswitchd', ['--version'], /(\d+\.\d+\.\d+\S*)/],
  etcd: ['etcd', ['--version'], /etcd Version: (\S+)/],
  ovn: ['ovn-controller', ['--version'], /ovn-controller (\S+)/],
};

export async function readVersions(tools: Iterable<VersionedTool>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const tool of new Set(tools)) {
    if (tool === 'node') {
      out.node = process.version;
      continue;
    }
    const [cmd, args, re] = VERSION_COMMANDS[tool];
    const res = await run(cmd, args, { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
    out[tool] = res?.stdout.match(re)?.[1] ?? 'unknown';
  }
  return out;
}

export function readMachine(): BenchResult['machine'] {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown', memBytes: totalmem(), kernel: release() };
}

/** The repository root (holds package.json), from sources or from dist/. */
export function repoRoot(): string {
  let dir = __dirname;
  // dist/ may hold a copy of package.json, never tsconfig.json.
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json')))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
}

export function writeResult(result: BenchResult): string {
  const dir = join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const file = join(dir, `${result.name}-${stamp}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** Parses `--key value`, `--key=value` and bare `--flag` against the definition. */
export function parseOptions(defs: readonly OptionDef[], argv: readonly string[]): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const d of defs) if (d.default !== undefined) out[d.name] = d.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const def = defs.find((d) => d.name === key);
    if (!def) throw new Error(`unknown option --${key} (known: ${defs.map((d) => `--${d.name}`).join(' ')})`);
    let raw: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (def.kind === 'boolean') {
      out[key] = raw === undefined ? true : raw !== 'false' && raw !== '0';
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined) throw new Error(`--${key} needs a value`);
    }
    if (def.kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${key} must be a non-negative number, got "${raw}"`);
      out[key] = n;
    } else {
      out[key] = raw;
    }
  }
  return out;
}

export function usage(def: BenchDefinition): string {
  const lines = def.options.map((o) => `  --${o.name}${o.kind === 'boolean' ? '' : ` <${o.kind}>`}  ${o.help}${o.default !== undefined ? ` (default ${o.default})` : ''}`);
  return `${def.name}: ${def.summary}\n${lines.join('\n')}`;
}

export function num(options: Options, name: string): number {
  const v = options[name];
  if (typeof v !== 'number') throw new Error(`option --${name} is required`);
  return v;
}

export function str(options: Options, name: string): string | undefined {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}
