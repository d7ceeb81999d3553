/**
 * Memory half of `scale` (SPEC §12), run in a child `node --expose-gc` so that
 * heap figures are taken after full collections and RSS belongs to nothing
 * else: `measureMemory(shape, members)` spawns it; the child builds the model,
 * the host contexts and the desired flow sets of the hosts one member would
 * master (HostFlows.setPartition with no switch attached), and prints one JSON
 * line with heap and RSS after each stage.
 */
import { spawn } from 'node:child_process';
import { compileHost } from '../src/compiler/compile-host';
import type { HostContext } from '../src/compiler/snapshot';
import { silentLogger } from '../src/log';
import { HostFlows } from '../src/reconciler/host-flows';
import { trackPid, untrackPid } from '../src/sandbox/processes';
import { buildModel, hostContext, type Shape } from './scale-model';

export interface MemoryFigures {
  /** Model (snapshot + the cache's other indexes), bytes of heap after GC. */
  readonly modelHeapBytes: number;
  readonly modelRssBytes: number;
  readonly masteredHosts: number;
  /** Host contexts (tunnel port maps) of the mastered hosts. */
  readonly contextHeapBytes: number;
  /** Desired flow sets (HostFlows) of the mastered hosts. */
  readonly flowsHeapBytes: number;
  readonly flowsRssBytes: number;
  readonly desiredFlows: number;
  readonly networks: number;
}

interface Sample {
  heap: number;
  rss: number;
}

function sample(): Sample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss };
}

function measureHere(shape: Shape, members: number): MemoryFigures {
  const s0 = sample();
  const model = buildModel(shape);
  const s1 = sample();
  const mastered: HostContext[] = [];
  for (let i = 0; i < shape.hosts; i += members) mastered.push(hostContext(shape.hosts, i));
  const s2 = sample();
  const sets: HostFlows[] = [];
  const log = silentLogger();
  for (const ctx of mastered) {
    const hf = new HostFlows(ctx.id, log);
    for (const [name, flows] of compileHost(model.snapshot, ctx)) hf.setPartition(name, flows);
    // With no switch attached every key stays "dirty"; a synced member has applied them and holds no such set.
    const dirty = (hf as unknown as { dirtyKeys?: unknown }).dirtyKeys;
    if (dirty instanceof Set) dirty.clear();
    sets.push(hf);
  }
  const s3 = sample();
  const figures: MemoryFigures = {
    modelHeapBytes: s1.heap - s0.heap,
    modelRssBytes: s1.rss - s0.rss,
    masteredHosts: mastered.length,
    contextHeapBytes: s2.heap - s1.heap,
    flowsHeapBytes: s3.heap - s2.heap,
    flowsRssBytes: s3.rss - s2.rss,
    // Read after the last sample: keeps the model and the flow sets reachable until then.
    desiredFlows: sets.reduce((n, hf) => n + hf.desiredCount, 0),
    networks: model.snapshot.networks.size,
  };
  return figures;
}

/** Runs the measurement in a child node with --expose-gc (through tsx when running from sources). */
export function measureMemory(shape: Shape, members: number, timeoutMs = 300_000): Promise<MemoryFigures> {
  const fromSource = __filename.endsWith('.ts');
  const args = ['--expose-gc', '--max-old-space-size=16384', ...(fromSource ? ['--require', require.resolve('tsx/cjs')] : []), __filename, JSON.stringify({ shape, members })];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackPid(child.pid!);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      untrackPid(child.pid!);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`memory child exited ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(line) as MemoryFigures);
    });
  });
}

if (require.main === module) {
  const { shape, members } = JSON.parse(process.argv[2] ?? '{}') as { shape: Shape; members: number };
  process.stdout.write(`${JSON.stringify(measureHere(shape, members))}\n`);
}
