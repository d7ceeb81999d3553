/**
 * IPAM benchmark (issue 17 item 2): time per endpoint create when one subnet
 * already holds 10, 1,000, 10,000 … allocated addresses, against a real etcd.
 * The addresses are pre-filled by writing their ips/ keys (and the subnet's
 * allocation cursor) directly, then `--creates` endpoints are created one
 * after another through ModelStore; the figure is the mean ms per create.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { silentLogger } from '../src/log';
import { freePorts } from '../src/sandbox/plexusd-process';
import { EmbeddedEtcd } from '../src/store/embedded-etcd';
import { Keys } from '../src/store/keys';
import { ModelStore } from '../src/store/model-store';
import { round, type BenchDefinition, type Figures } from './framework';

/** Mean ms per create at each fill level; `progress` gets one line per level. */
export async function measureCreateMs(levels: readonly number[], creates: number, progress: (m: string) => void): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ipam-bench-'));
  const [clientPort, peerPort] = await freePorts(2);
  const etcd = new EmbeddedEtcd({ dataDir, name: 'ipam-bench', clientPort: clientPort!, peerPort: peerPort! }, silentLogger());
  const client = new Etcd3({ hosts: [etcd.endpoint] });
  const out: Figures = {};
  try {
    await etcd.start();
    const keys = new Keys('/ipam-bench/');
    const store = new ModelStore(client, keys);
    for (const [i, level] of levels.entries()) {
      const net = await store.createNetwork({ name: `n${i}` });
      const subnet = await store.createSubnet({ network: net.value.id, cidr: `10.${100 + i}.0.0/16` });
      const ipOf = (k: number): string => `10.${100 + i}.${(k + 2) >> 8}.${(k + 2) & 255}`;
      for (let k = 0; k < level; k += 100) {
        const txn = client.if(keys.probe(), 'Version', '==', 0).then(...Array.from({ length: Math.min(100, level - k) }, (_, j) => client.put(keys.ip(subnet.value.id, ipOf(k + j))).value(`prefill-${k + j}`)));
        await txn.commit();
      }
      // keys.ipamCursor spelled out, so this file also runs against code from before the cursor existed.
      if (level > 0) await client.put(`${keys.prefix}ipam-cursors/${subnet.value.id}`).value(ipOf(level - 1));
      const t0 = performance.now();
      for (let k = 0; k < creates; k++) await store.createEndpoint({ network: net.value.id });
      const ms = (performance.now() - t0) / creates;
      out[`create_ms_at_${level}`] = round(ms, 2);
      progress(`${level} allocated: ${ms.toFixed(2)} ms per create`);
    }
  } finally {
    client.close();
    await etcd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

export const ipamBench: BenchDefinition = {
  name: 'ipam',
  summary: 'time per endpoint create at 10, 1,000 and 10,000 allocated addresses in one subnet (real etcd)',
  options: [
    { name: 'levels', kind: 'string', default: '10,1000,10000', help: 'allocated addresses before timing, comma separated' },
    { name: 'creates', kind: 'number', default: 100, help: 'creates timed per level' },
  ],
  async run(ctx) {
    ctx.useVersion('etcd');
    const levels = String(ctx.options['levels']).split(',').map(Number);
    return measureCreateMs(levels, Number(ctx.options['creates']), (m) => ctx.progress(m));
  },
};
