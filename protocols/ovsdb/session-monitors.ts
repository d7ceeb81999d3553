/**
 * The monitors one session issued (RFC 7047 §4.1.5, monitor_cond §5 of ovsdb-server(7)),
 * by id: started once, suspended with the connection, re-issued and resynced by the
 * session after it reconnects, until cancelled (§4.1.7).
 */
import { PlexusError } from '../common/errors';
import { Monitor, type MonitorMethod, type MonitorSpec } from './monitor';
import type { RowChange } from './replica';
import type { DatabaseSchema } from './rfc7047';
import type { OvsdbRpc } from './rpc';

export class SessionMonitors {
  private readonly byId = new Map<string, Monitor>();
  private nextId = 1;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Monitor | undefined {
    return this.byId.get(id);
  }

  /** Starts a monitor on `rpc`; it is kept (for re-issuing) only once it started. */
  async start(rpc: OvsdbRpc, db: string, spec: MonitorSpec, schema: DatabaseSchema, options: { id?: string; method?: MonitorMethod }): Promise<Monitor> {
    const id = options.id ?? `plexus-${this.nextId++}`;
    if (this.byId.has(id)) throw new PlexusError(`monitor id "${id}" already in use`);
    const monitor = new Monitor(id, db, spec, schema, options.method);
    this.byId.set(id, monitor);
    try {
      await monitor.start(rpc, schema, false);
    } catch (err) {
      this.byId.delete(id);
      throw err;
    }
    return monitor;
  }

  /** §4.1.7 monitor_cancel (on `rpc` when connected); the replica keeps its last content. */
  async cancel(monitor: Monitor | string, rpc: OvsdbRpc | undefined): Promise<void> {
    const m = typeof monitor === 'string' ? this.byId.get(monitor) : monitor;
    if (!m) return;
    this.byId.delete(m.id);
    await m.cancel(rpc);
  }

  suspendAll(): void {
    for (const m of this.byId.values()) m.suspend();
  }

  /**
   * Re-issues every monitor on a new connection and reports what each replica found
   * changed. Stops as soon as `isCurrent()` says the connection is gone; a monitor the
   * server refuses is reported through `onError` and the others go on.
   */
  async resync(
    rpc: OvsdbRpc,
    schemaOf: (db: string) => Promise<DatabaseSchema>,
    isCurrent: () => boolean,
    onResynced: (m: Monitor, changes: readonly RowChange[]) => void,
    onError: (m: Monitor, err: unknown) => void,
  ): Promise<void> {
    for (const m of this.byId.values()) {
      if (!isCurrent()) return;
      try {
        const changes = await m.start(rpc, await schemaOf(m.db), true);
        onResynced(m, changes);
      } catch (err) {
        if (!isCurrent()) return;
        onError(m, err);
      }
    }
  }
}
