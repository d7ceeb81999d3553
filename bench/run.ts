/**
 * Benchmark runner (SPEC §10): `npm run bench -- <name> [options]`, or from
 * sources `npx tsx bench/run.ts <name> [options]`.
 *
 * Progress goes to stderr; stdout gets exactly one line, last: the summary
 * `<name> key=value ...`. The full result (figures, options, machine, versions,
 * start time) is written to bench/results/<name>-<timestamp>.json. A run is
 * bounded by --timeout (seconds); on timeout, error, Ctrl-C or SIGTERM every
 * process the run started is killed by pid and every temp dir removed
 * (src/sandbox/processes.ts exit hooks, bench/sandbox.ts cleanups).
 */
import { performance } from 'node:perf_hooks';
import { onExitCleanup } from '../src/sandbox/processes';
import { sweepOrphanedTempDirs } from '../src/sandbox/orphans';
import { attachBench } from './attach';
import { codecBench } from './codec';
import { failoverBench } from './failover';
import { flowmodBench } from './flowmod';
import { ipamBench } from './ipam';
import { packetinBench } from './packetin';
import { policyBench } from './policy';
import { restartBench } from './restart';
import { scaleBench } from './scale';
import { suiteBench } from './suite';
import {
  formatSummary,
  parseOptions,
  readMachine,
  readVersions,
  round,
  usage,
  writeResult,
  type BenchDefinition,
  type OptionDef,
  type VersionedTool,
} from './framework';

const BENCHMARKS: readonly BenchDefinition[] = [attachBench, flowmodBench, packetinBench, codecBench, failoverBench, restartBench, scaleBench, policyBench, ipamBench, suiteBench];

const timeoutOption = (def?: BenchDefinition): OptionDef => ({ name: 'timeout', kind: 'number', default: def?.timeoutS ?? 600, help: 'seconds before the whole run is abandoned' });

function printUsage(): void {
  process.stderr.write(
    `usage: npm run bench -- <name> [options]   (from sources: npx tsx bench/run.ts <name> [options])\n` +
      `common: --timeout <seconds> (default 600; ${BENCHMARKS.filter((b) => b.timeoutS).map((b) => `${b.name}: ${b.timeoutS}`).join(', ')})\n\n${BENCHMARKS.map(usage).join('\n\n')}\n`,
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    printUsage();
    return name ? 0 : 2;
  }
  const def = BENCHMARKS.find((b) => b.name === name);
  if (!def) {
    process.stderr.write(`unknown benchmark "${name}"\n`);
    printUsage();
    return 2;
  }
  const optionDefs = [timeoutOption(def), ...def.options];
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: npm run bench -- ${name} [options]\n\n${usage({ ...def, options: optionDefs })}\n`);
    return 0;
  }
  let options: Record<string, string | number | boolean>;
  try {
    options = parseOptions(optionDefs, rest);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage(def)}\n`);
    return 2;
  }

  // Install the exit hooks before anything starts, so Ctrl-C always cleans up.
  onExitCleanup(() => undefined);
  // A run killed -9 ran no exit hook: stop what it left (by its claimed temp dirs' pidfiles) and remove the dirs.
  const swept = sweepOrphanedTempDirs();
  if (swept.dirs.length > 0) process.stderr.write(`bench: removed ${swept.dirs.length} temp dirs of dead runs, stopped ${swept.pids.length} processes they left\n`);
  const timeoutS = options.timeout as number;
  const timer = setTimeout(() => {
    process.stderr.write(`bench ${name}: timed out after ${timeoutS} s; stopping everything it started\n`);
    process.exit(124); // exit hooks kill tracked pids and remove temp dirs
  }, timeoutS * 1000);

  const tools = new Set<VersionedTool>(['node', 'ovs']);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const ctx = {
    options,
    details: {} as Record<string, unknown>,
    progress: (message: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${message}\n`),
    useVersion: (tool: VersionedTool) => void tools.add(tool),
  };
  try {
    const figures = await def.run(ctx);
    const file = writeResult({
      name,
      figures,
      options,
      details: ctx.details,
      machine: readMachine(),
      versions: await readVersions(tools),
      startedAt,
      durationS: round((performance.now() - t0) / 1000, 1),
    });
    ctx.progress(`result written to ${file}`);
    process.stdout.write(`${formatSummary(name, figures)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`bench ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
