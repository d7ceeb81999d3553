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
 *
 * Nor may a peer squat on the datapath of a switch that is offline (issue 18):
 * with a voucher (the host manager's OVSDB view, `setVoucher`), a session is the
 * datapath's only once a connected host's br-int has that datapath_id, a
 * controller target, and its OVSDB session comes from the same address as this
 * connection. Until then the connection is held — announced to no one, sent
 * nothing — and re-checked whenever the view changes (`recheckPending`); if
 * nothing vouches for it within `vouchWaitMs` it is closed. A current session
 * the view no longer vouches for gives way to one it does.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { ConnectionError, PeerClosedError, TimeoutError } from '../../protocols/common/errors';
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import type { LivenessOptions } from '../../protocols/openflow/liveness';
import type { Decoded } from '../../protocols/openflow/messages';
import type { Logger } from '../log';
import { createAddressLimit, type AddressLimit } from './connection-limit';
import { HeldSessions } from './held-sessions';

export type SwitchEvent =
  | { readonly kind: 'up'; readonly dpid: string; readonly conn: OpenFlowConnection }
  | { readonly kind: 'down'; readonly dpid: string; readonly reason: string }
  | { readonly kind: 'message'; readonly dpid: string; readonly message: Decoded };

/** Datapath ids as 16 lower-case hex digits, the form OVSDB's Bridge.datapath_id uses. */
export function formatDpid(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}

/**
 * Whether the OVSDB view vouches for an OpenFlow session claiming `dpid` from
 * `remoteAddress`: undefined if it does, otherwise why not (for the log).
 */
export type SwitchVoucher = (dpid: string, remoteAddress: string | undefined) => string | undefined;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) and `10.0.0.1` are one address. */
export function normalizeAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
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
  /** With a voucher: how long a connection the OVSDB view does not vouch for is held before it is closed (default 15000 ms). */
  readonly vouchWaitMs?: number;
}

export class SwitchServer extends EventEmitter<SwitchServerEvents> {
  private readonly server: Server;
  private readonly byDpid = new Map<string, OpenFlowConnection>();
  /** Datapaths whose current session is being probed because another connection claimed them. */
  private readonly probing = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly perAddress: AddressLimit;
  private voucher: SwitchVoucher | undefined;
  /** Connections that completed FEATURES but that the OVSDB view does not vouch for (yet). */
  private readonly held: HeldSessions;
  /** Peer address of every registered session (what the voucher is asked about). */
  private readonly addressOf = new WeakMap<OpenFlowConnection, string | undefined>();
  /** Every connection still open, whatever its stage (what `followProbe` retunes). */
  private readonly open = new Set<OpenFlowConnection>();
  /** Echo timing of our side of every connection. */
  private echo: LivenessOptions;

  constructor(
    private readonly log: Logger,
    private readonly options: SwitchServerOptions = {},
  ) {
    super();
    this.echo = {
      ...(options.echoIntervalMs === undefined ? {} : { echoIntervalMs: options.echoIntervalMs }),
      ...(options.echoTimeoutMs === undefined ? {} : { echoTimeoutMs: options.echoTimeoutMs }),
    };
    this.perAddress = createAddressLimit(options.maxConnectionsPerAddress);
    this.held = new HeldSessions(options.vouchWaitMs ?? 15_000);
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

  /**
   * Our echoes toward switches follow the inactivity probe hosts are asked for
   * (probe-sizing.ts), now and for connections to come: an echo after `probeMs`
   * of silence, the switch dead when it stays silent for 3/5 of that again
   * (5 s and 3 s at the 5 s floor, OVS's default). A switch busy with a burst
   * from a thousand-host member answers late, and closing it for that costs a
   * reconnect, a flow dump and a diff, which is more load still.
   */
  followProbe(probeMs: number): void {
    this.echo = { echoIntervalMs: probeMs, echoTimeoutMs: Math.round((probeMs * 3) / 5) };
    for (const conn of this.open) conn.retuneEcho(this.echo);
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

  /**
   * From now on a session is a datapath's only when `voucher` vouches for it
   * (see the module comment). Connections already registered stay.
   */
  setVoucher(voucher: SwitchVoucher): void {
    this.voucher = voucher;
  }

  /** Connections held for want of a voucher, by datapath id (for tests and logs). */
  get pendingDpids(): string[] {
    return this.held.dpids;
  }

  /**
   * The OVSDB view changed (of the host with datapath `dpid`, if given: only
   * connections claiming it are re-checked, so a fleet joining at once costs
   * one check per pass, not one per held connection): those it now vouches for are accepted,
   * and a registered session it no longer vouches for gives way to a held one
   * it does.
   */
  recheckPending(dpid?: string): void {
    if (this.voucher) this.held.recheck(this.voucher, dpid);
  }

  /** Why the voucher does not vouch for `conn` as `dpid`'s session, or undefined (it does, or there is no voucher). */
  private unvouched(dpid: string, conn: OpenFlowConnection, address: string | undefined): string | undefined {
    if (!this.voucher) return undefined;
    return this.voucher(dpid, normalizeAddress(address ?? this.addressOf.get(conn)));
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
    const conn = new OpenFlowConnection(socket, { side: 'controller', ...this.options, ...this.echo });
    this.open.add(conn);
    const address = normalizeAddress(socket.remoteAddress);
    this.addressOf.set(conn, address);
    const log = this.log.child({ remote: conn.remote });
    log.debug('openflow connection accepted');
    let dpid: string | undefined;
    conn.on('event', (e: ConnectionEvent) => {
      switch (e.kind) {
        case 'ready': {
          const claimed = formatDpid(e.features.datapathId);
          const accept = (): void =>
            void this.claim(claimed, conn, log).then((accepted) => {
              if (!accepted) return;
              dpid = claimed;
              log.info('switch connected', { dpid, tables: e.features.nTables });
              this.emit('switch', { kind: 'up', dpid, conn } satisfies SwitchEvent);
            });
          const why = this.unvouched(claimed, conn, address);
          if (why === undefined) accept();
          else this.held.hold(claimed, conn, address, log, why, accept);
          return;
        }
        case 'message':
          if (dpid) this.emit('switch', { kind: 'message', dpid, message: e.message } satisfies SwitchEvent);
          return;
        case 'closed': {
          this.open.delete(conn);
          const reason = e.error ? `${e.error.name}: ${e.error.message}` : 'closed';
          this.held.release(conn);
          if (dpid && this.byDpid.get(dpid) === conn) {
            this.byDpid.delete(dpid);
            // The switch going away is news; our closing it (no echo answer, not reading, a reset) is a warning.
            const level = !e.error || e.error instanceof PeerClosedError ? 'info' : 'warn';
            log[level]('switch disconnected', { dpid, reason });
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
    if (current && current.isOpen && current !== conn && this.voucher) {
      const why = this.unvouched(dpid, current, undefined);
      if (why !== undefined) {
        log.warn('replacing a session the OVSDB view does not vouch for with one it does', { dpid, replaced: current.remote, reason: why });
        current.close(new ConnectionError(`replaced by ${conn.remote}, which the OVSDB view vouches for (${why})`));
      }
    }
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
    this.held.close();
    for (const conn of this.byDpid.values()) conn.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
