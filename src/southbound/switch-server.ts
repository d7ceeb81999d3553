/**
 * Accepts OpenFlow connections from switches (SPEC §1: port 6653). Each becomes
 * an OpenFlowConnection; once its FEATURES_REPLY names the datapath it is
 * announced as `up`; a peer that sends garbage loses only its own socket.
 *
 * A datapath id is no credential: anyone can claim one in FEATURES_REPLY (they
 * are listed by `GET /v1/hosts`). So a second connection for a datapath that
 * already has a session never silently takes it over: the current session is
 * probed with an echo, and only if it does not answer in time (a switch that
 * reconnected while its old TCP connection is half-open) is it replaced. While
 * it answers, the newcomer is refused and closed, with a log line naming both.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { ConnectionError, TimeoutError } from '../../protocols/common/errors';
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import type { Decoded } from '../../protocols/openflow/messages';
import type { Logger } from '../log';
import { createAddressLimit, type AddressLimit } from './connection-limit';

export type SwitchEvent =
  | { readonly kind: 'up'; readonly dpid: string; readonly conn: OpenFlowConnection }
  | { readonly kind: 'down'; readonly dpid: string; readonly reason: string }
  | { readonly kind: 'message'; readonly dpid: string; readonly message: Decoded };

/** Datapath ids as 16 lower-case hex digits, the form OVSDB's Bridge.datapath_id uses. */
export function formatDpid(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}

export interface SwitchServerEvents {
  switch: [SwitchEvent];
}

export interface SwitchServerOptions {
  readonly echoIntervalMs?: number;
  readonly echoTimeoutMs?: number;
  /**
   * Set: the listener speaks TLS (switches use `ssl:` controller targets after
   * `ovs-vsctl set-ssl`). With `ca` and `requestCert`, a switch must present a
   * certificate that CA signed.
   */
  readonly tls?: TlsOptions;
  /** How long the current session of a datapath has to answer an echo when another connection claims it (default 2000 ms). */
  readonly takeoverProbeMs?: number;
  /** Connections one peer address may hold open (default 2048); more are refused. */
  readonly maxConnectionsPerAddress?: number;
}

export class SwitchServer extends EventEmitter<SwitchServerEvents> {
  private readonly server: Server;
  private readonly byDpid = new Map<string, OpenFlowConnection>();
  /** Datapaths whose current session is being probed because another connection claimed them. */
  private readonly probing = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly perAddress: AddressLimit;

  constructor(
    private readonly log: Logger,
    private readonly options: SwitchServerOptions = {},
  ) {
    super();
    this.perAddress = createAddressLimit(options.maxConnectionsPerAddress);
    const admitted = (socket: Socket): void => {
      if (this.admit(socket)) this.accept(socket);
    };
    if (options.tls) {
      this.server = createTlsServer(options.tls, admitted);
      // A failed handshake (unknown CA, plain TCP on the TLS port) costs that peer its connection only.
      this.server.on('tlsClientError', (err: Error, socket: Socket) =>
        this.log.warn('openflow TLS handshake failed', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }),
      );
    } else {
      this.server = createServer(admitted);
    }
    this.server.on('error', (err) => this.log.error('openflow listener error', { error: err.message }));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** The bound TCP port (after listen). */
  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  connection(dpid: string): OpenFlowConnection | undefined {
    return this.byDpid.get(dpid);
  }

  /** Whether switches connect with `ssl:` (the controller target scheme to hand out). */
  get scheme(): 'ssl' | 'tcp' {
    return this.options.tls ? 'ssl' : 'tcp';
  }

  get connectedDpids(): string[] {
    return [...this.byDpid.keys()];
  }

  /** Refuses (closes) a connection from an address that already holds the most it may. */
  private admit(socket: Socket): boolean {
    const release = this.perAddress.acquire(socket.remoteAddress);
    if (!release) {
      this.log.warn('refusing OpenFlow connection: too many from this address', {
        remote: `${socket.remoteAddress}:${socket.remotePort}`,
        open: this.perAddress.countOf(socket.remoteAddress!),
        limit: this.perAddress.maxPerAddress,
      });
      socket.destroy();
      return false;
    }
    socket.once('close', release);
    return true;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const conn = new OpenFlowConnection(socket, { side: 'controller', ...this.options });
    const log = this.log.child({ remote: conn.remote });
    log.debug('openflow connection accepted');
    let dpid: string | undefined;
    conn.on('event', (e: ConnectionEvent) => {
      switch (e.kind) {
        case 'ready': {
          const claimed = formatDpid(e.features.datapathId);
          void this.claim(claimed, conn, log).then((accepted) => {
            if (!accepted) return;
            dpid = claimed;
            log.info('switch connected', { dpid, tables: e.features.nTables });
            this.emit('switch', { kind: 'up', dpid, conn } satisfies SwitchEvent);
          });
          return;
        }
        case 'message':
          if (dpid) this.emit('switch', { kind: 'message', dpid, message: e.message } satisfies SwitchEvent);
          return;
        case 'closed': {
          const reason = e.error ? `${e.error.name}: ${e.error.message}` : 'closed';
          if (dpid && this.byDpid.get(dpid) === conn) {
            this.byDpid.delete(dpid);
            log.info('switch disconnected', { dpid, reason });
            this.emit('switch', { kind: 'down', dpid, reason } satisfies SwitchEvent);
          } else {
            log.warn('openflow connection dropped', { dpid, reason });
          }
          return;
        }
      }
    });
  }

  /**
   * Decides whether `conn` becomes the session of `dpid` (see the module
   * comment). Resolves true once it is registered, false if it was refused.
   */
  private async claim(dpid: string, conn: OpenFlowConnection, log: Logger): Promise<boolean> {
    const current = this.byDpid.get(dpid);
    if (current && current.isOpen && current !== conn) {
      if (this.probing.has(dpid)) {
        this.refuse(dpid, conn, current, log, 'its current session is already being verified');
        return false;
      }
      const probeMs = this.options.takeoverProbeMs ?? 2000;
      this.probing.add(dpid);
      try {
        await current.probe(probeMs);
        this.refuse(dpid, conn, current, log, `its current session answered an echo within ${probeMs} ms`);
        return false;
      } catch (err) {
        if (current.isOpen) {
          log.warn('replacing the session of a datapath that stopped answering', { dpid, silent: current.remote, error: (err as Error).message });
          current.close(new TimeoutError(`replaced by a new connection from ${conn.remote}: ${(err as Error).message}`));
        }
      } finally {
        this.probing.delete(dpid);
      }
      if (!conn.isOpen) return false;
    }
    this.byDpid.set(dpid, conn);
    return true;
  }

  private refuse(dpid: string, conn: OpenFlowConnection, current: OpenFlowConnection, log: Logger, why: string): void {
    log.warn('refusing a second OpenFlow connection for a connected datapath', { dpid, connected: current.remote, refused: conn.remote, why });
    conn.close(new ConnectionError(`datapath ${dpid} is already connected from ${current.remote} (${why})`));
  }

  async close(): Promise<void> {
    for (const conn of this.byDpid.values()) conn.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
