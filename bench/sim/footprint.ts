/**
 * What a run leaves plexusd and its embedded etcd holding, measured on the
 * processes themselves (issue 17 item 7): whole-process RSS from
 * /proc/<pid>/status (VmRSS), plexusd's V8 heap from its own /metrics
 * (prom-client's nodejs_heap_size_used_bytes), and etcd's database size from
 * etcd's /metrics (etcd_mvcc_db_total_size_in_bytes, and the part in use).
 * `compactEtcd` drops the history before the current revision (what the
 * embedded etcd's hourly auto-compaction does) and defragments, so the part in
 * use is then what the model itself takes.
 */
import { Etcd3 } from 'etcd3';
import { KVClient, MaintenanceClient } from 'etcd3/lib/rpc';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlexusdProcess } from '../../src/sandbox/plexusd-process';

export interface Footprint {
  readonly plexusdRssBytes: number;
  /** NaN when plexusd's /metrics did not answer within 10 s (busy after a burst): RSS is read from /proc regardless. */
  readonly plexusdHeapUsedBytes: number;
  readonly plexusdHeapTotalBytes: number;
  readonly etcdRssBytes: number;
  readonly etcdDbBytes: number;
  readonly etcdDbInUseBytes: number;
}

/** VmRSS of a live process in bytes (0 if it is gone). */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** One sample (no labels) of a Prometheus text exposition, or 0. */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return r.text();
}

/** The embedded etcd's pid, from the pid file plexusd keeps in its data dir. */
function embeddedEtcdPid(plexusd: PlexusdProcess): number | undefined {
  try {
    const pid = Number(readFileSync(join(plexusd.dataDir, 'etcd.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function measureFootprint(plexusd: PlexusdProcess): Promise<Footprint> {
  const [own, etcd] = await Promise.all([
    fetchText(`${plexusd.url}/metrics`).catch(() => undefined),
    fetchText(`http://127.0.0.1:${plexusd.ports.etcdClient}/metrics`).catch(() => ''),
  ]);
  return {
    plexusdRssBytes: rssOf(plexusd.pid),
    plexusdHeapUsedBytes: own === undefined ? NaN : metric(own, 'plexus_nodejs_heap_size_used_bytes'),
    plexusdHeapTotalBytes: own === undefined ? NaN : metric(own, 'plexus_nodejs_heap_size_total_bytes'),
    etcdRssBytes: rssOf(embeddedEtcdPid(plexusd)),
    etcdDbBytes: metric(etcd, 'etcd_mvcc_db_total_size_in_bytes'),
    etcdDbInUseBytes: metric(etcd, 'etcd_mvcc_db_total_size_in_use_in_bytes'),
  };
}

/**
 * Compacts the embedded etcd to its current revision and defragments it (as its
 * `--auto-compaction-retention 1` would an hour later): what is left in use is
 * the model, not the history of every write of the run.
 */
export async function compactEtcd(plexusd: PlexusdProcess): Promise<void> {
  const client = new Etcd3({ hosts: `http://127.0.0.1:${plexusd.ports.etcdClient}` });
  try {
    const pool = (client as unknown as { pool: ConstructorParameters<typeof KVClient>[0] }).pool;
    const { header } = await client.get('plexus-bench-compact-probe').exec();
    await new KVClient(pool).compact({ revision: header.revision, physical: true });
    await new MaintenanceClient(pool).defragment();
  } finally {
    client.close();
  }
}
