/**
 * The OVSDB manager endpoint (SPEC §1: port 6640): hosts connect in after
 * `ovs-vsctl set-manager tcp:<plexusd>:6640`. Each accepted session monitors the
 * Open_vSwitch tables Plexus needs and is handed to the host manager as a
 * HostLink. A peer that cannot be monitored (wrong database, garbage) is logged
 * and disconnected; the listener keeps serving everyone else.
 */
import type { TlsOptions } from 'node:tls';
import { listen, type OvsdbListener, type OvsdbSession } from '../../protocols/ovsdb/session';
import type { Logger } from '../log';
import type { HostLink } from './host-link';
import { MONITORED_COLUMNS, type TableRows } from './ovs-view';

const DB = 'Open_vSwitch';

export class HostListener {
  private listener: OvsdbListener | undefined;

  /** `tls` set: hosts connect with `ovs-vsctl set-ssl ...` + `set-manager ssl:<member>:6640` (pssl here). */
  constructor(
    private readonly log: Logger,
    private readonly onHost: (link: HostLink) => void,
    private readonly tls?: TlsOptions,
  ) {}

  get scheme(): 'ssl' | 'tcp' {
    return this.tls ? 'ssl' : 'tcp';
  }

  /** Sessions hosts hold with us now. */
  get sessionCount(): number {
    return this.listener?.activeSessions.length ?? 0;
  }

  async listen(host: string, port: number): Promise<number> {
    const kind = this.tls ? 'pssl' : 'ptcp';
    const target = host.includes(':') ? `${kind}:${port}:[${host}]` : `${kind}:${port}:${host}`;
    this.listener = await listen(target, { logger: this.log, ...(this.tls ? { tlsServer: this.tls } : {}) });
    this.listener.on('session', (session) => void this.adopt(session));
    this.listener.on('error', (err) => this.log.error('ovsdb listener error', { error: err.message }));
    return this.listener.port;
  }

  private async adopt(session: OvsdbSession): Promise<void> {
    const log = this.log.child({ remote: session.name });
    log.debug('ovsdb connection accepted');
    const spec = Object.fromEntries(Object.entries(MONITORED_COLUMNS).map(([table, columns]) => [table, { columns }]));
    let monitor;
    try {
      monitor = await session.monitor(DB, spec);
    } catch (err) {
      log.warn('cannot monitor host database; closing the connection', { error: (err as Error).message });
      session.close();
      return;
    }
    const replica = monitor.replica;
    const link: HostLink = {
      remote: session.name,
      rows: (): TableRows => new Map(Object.keys(MONITORED_COLUMNS).map((t) => [t, new Map(replica.rows(t))])),
      onChange: (listener) => replica.on('changes', () => listener()),
      onClose: (listener) => {
        if (session.currentState === 'closed') return listener('closed');
        session.on('status', (s) => {
          if (s.type === 'closed') listener(s.error ? s.error.message : 'closed');
        });
      },
      transact: async (ops) => {
        await session.transact(DB, ops);
      },
      close: () => session.close(),
    };
    this.onHost(link);
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}
