/**
 * Accepts OpenFlow connections from switches (SPEC §1: port 6653). Each becomes
 * an OpenFlowConnection; once its FEATURES_REPLY names the datapath it is
 * announced as `up`. A switch that reconnects replaces its previous session
 * (the old one is closed); a peer that sends garbage loses only its own socket.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import type { Decoded } from '../../protocols/openflow/messages';
import type { Logger } from '../log';

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
}

export class SwitchServer extends EventEmitter<SwitchServerEvents> {
  private readonly server: Server;
  private readonly byDpid = new Map<string, OpenFlowConnection>();
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly log: Logger,
    private readonly options: SwitchServerOptions = {},
  ) {
    super();
    if (options.tls) {
      this.server = createTlsServer(options.tls, (socket) => this.accept(socket));
      // A failed handshake (unknown CA, plain TCP on the TLS port) costs that peer its connection only.
      this.server.on('tlsClientError', (err: Error, socket: Socket) =>
        this.log.warn('openflow TLS handshake failed', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }),
      );
    } else {
      this.server = createServer((socket) => this.accept(socket));
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
          dpid = formatDpid(e.features.datapathId);
          const previous = this.byDpid.get(dpid);
          this.byDpid.set(dpid, conn);
          if (previous && previous !== conn) previous.close();
          log.info('switch connected', { dpid, tables: e.features.nTables });
          this.emit('switch', { kind: 'up', dpid, conn } satisfies SwitchEvent);
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

  async close(): Promise<void> {
    for (const conn of this.byDpid.values()) conn.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
