/**
 * The OVSDB manager endpoint (SPEC §1: port 6640): hosts connect in after
 * `ovs-vsctl set-manager tcp:<plexusd>:6640`. Each accepted session monitors the
 * Open_vSwitch tables Plexus needs and is handed to the host manager as a
 * HostLink. A peer that cannot be monitored (wrong database, garbage) is logged
 * and disconnected; the listener keeps serving everyone else.
 */
import type { TlsOptions } from 'node:tls';
import { ConnectionError } from '../../protocols/common/errors';
import type { Monitor } from '../../protocols/ovsdb/monitor';
import type { Replica } from '../../protocols/ovsdb/replica';
import { BufferBudget } from '../../protocols/ovsdb/json-stream';
import { listen, type OvsdbListener } from '../../protocols/ovsdb/listener';
import type { OvsdbSession, SessionOptions } from '../../protocols/ovsdb/session';
import type { Operation } from '../../protocols/ovsdb/transact';
import type { Logger } from '../log';
import { createAddressLimit, type AddressLimit } from './connection-limit';
import type { HostLink } from './host-link';
import { MONITORED_COLUMNS, type TableRows } from './ovs-view';

const DB = 'Open_vSwitch';

export interface HostListenerOptions {
  /** Connections one peer address may hold open (default 2048); more are refused. */
  readonly maxConnectionsPerAddress?: number;
  /** Largest OVSDB message accepted from a host (default 64 MiB). */
  readonly maxMessageBytes?: number;
  /** Bytes all hosts together may hold in messages not yet complete (default 128 MiB). */
  readonly maxBufferedBytes?: number;
  /** Set: hosts connect with `ovs-vsctl set-ssl ...` + `set-manager ssl:<member>:6640` (pssl here). */
  readonly tls?: TlsOptions;
}

export class HostListener {
  private listener: OvsdbListener | undefined;
  private readonly perAddress: AddressLimit;
  /** Shared by every host's connection: half-sent messages cannot together exceed it. */
  private readonly inputBudget: BufferBudget;

  constructor(
    private readonly log: Logger,
    private readonly onHost: (link: HostLink) => void,
    private readonly options: HostListenerOptions = {},
  ) {
    this.perAddress = createAddressLimit(options.maxConnectionsPerAddress);
    this.inputBudget = new BufferBudget(options.maxBufferedBytes);
  }

  get scheme(): 'ssl' | 'tcp' {
    return this.options.tls ? 'ssl' : 'tcp';
  }

  /** Sessions hosts hold with us now. */
  get sessionCount(): number {
    return this.listener?.activeSessions.length ?? 0;
  }

  async listen(host: string, port: number): Promise<number> {
    const kind = this.options.tls ? 'pssl' : 'ptcp';
    const target = host.includes(':') ? `${kind}:${port}:[${host}]` : `${kind}:${port}:${host}`;
    this.listener = await listen(target, { logger: this.log, ...this.inputLimits(), ...(this.options.tls ? { tlsServer: this.options.tls } : {}) });
    this.listener.on('session', (session) => {
      if (this.admit(session)) void this.adopt(session);
    });
    this.listener.on('error', (err) => this.log.error('ovsdb listener error', { error: err.message }));
    return this.listener.port;
  }

  private inputLimits(): SessionOptions {
    return {
      inputBudget: this.inputBudget,
      ...(this.options.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.options.maxMessageBytes }),
    };
  }

  /** Refuses (closes) a connection from an address that already holds the most it may. */
  private admit(session: OvsdbSession): boolean {
    const release = this.perAddress.acquire(session.remoteAddress);
    if (!release) {
      this.log.warn('refusing OVSDB connection: too many from this address', {
        remote: session.name,
        open: this.perAddress.countOf(session.remoteAddress!),
        limit: this.perAddress.maxPerAddress,
      });
      session.close();
      return false;
    }
    session.on('status', (s) => {
      if (s.type === 'closed') release();
    });
    return true;
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
    this.onHost(hostLinkOf(session, monitor));
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}

/**
 * The HostLink of one monitored session. When the session closes, the link lets
 * go of it and of the replica (whose rows it clears): whoever still holds the
 * link — the overlay keeps the last one each host had — holds no database.
 */
function hostLinkOf(accepted: OvsdbSession, monitor: Monitor): HostLink {
  const remote = accepted.name;
  let session: OvsdbSession | undefined = accepted;
  let replica: Replica | undefined = monitor.replica;
  let closedReason: string | undefined;
  const closeListeners: ((reason: string) => void)[] = [];
  const onClosed = (reason: string): void => {
    closedReason = reason;
    replica?.clear();
    replica?.removeAllListeners();
    replica = undefined;
    session = undefined;
    for (const listener of closeListeners.splice(0)) listener(reason);
  };
  if (accepted.currentState === 'closed') onClosed('closed');
  else {
    accepted.on('status', (s) => {
      if (s.type === 'closed') onClosed(s.error ? s.error.message : 'closed');
    });
  }
  return {
    remote,
    ...(accepted.remoteAddress ? { remoteAddress: accepted.remoteAddress } : {}),
    rows: (): TableRows => new Map(Object.keys(MONITORED_COLUMNS).map((t) => [t, replica?.table(t) ?? new Map()])),
    onChange: (listener) => void replica?.on('changes', () => listener()),
    onClose: (listener) => {
      if (closedReason !== undefined) listener(closedReason);
      else closeListeners.push(listener);
    },
    transact: async (ops) => {
      if (!session) throw new ConnectionError(`host connection ${remote} closed: ${closedReason ?? 'closed'}`);
      await session.transact(DB, ops as unknown as readonly Operation[]);
    },
    close: () => session?.close(),
  };
}
