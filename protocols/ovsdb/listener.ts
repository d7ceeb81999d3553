/**
 * Passive OVSDB (RFC 7047 §4, ovsdb-server(1) `ptcp:`/`punix:`/`pssl:`): the endpoint
 * hosts connect to after `ovs-vsctl set-manager`; each connection becomes a session.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type winston from 'winston';
import { ConnectionError, type PlexusError } from '../common/errors';
import { defaultLogger } from './rpc';
import { OvsdbSession, type SessionOptions } from './session';
import { parseListenTarget, type ListenTarget } from './targets';

/**
 * A passive OVSDB endpoint (`ptcp:`, `punix:`, `pssl:`): every connection a host
 * opens becomes an {@link OvsdbSession} announced by a `session` event. A
 * misbehaving peer only loses its own connection; the listener keeps accepting.
 */
export interface ListenerEvents {
  session: [OvsdbSession];
  error: [PlexusError];
}

export class OvsdbListener extends EventEmitter<ListenerEvents> {
  private readonly sessions = new Set<OvsdbSession>();
  private closed = false;
  private readonly log: winston.Logger;

  constructor(
    private readonly server: net.Server,
    readonly target: ListenTarget,
    private readonly options: SessionOptions,
  ) {
    super();
    this.log = (options.logger ?? defaultLogger()).child({ module: 'ovsdb-listener' });
    // A TLS server also emits 'connection' for the raw socket: take only the secured one.
    server.on(target.kind === 'pssl' ? 'secureConnection' : 'connection', (socket: net.Socket) => this.onConnection(socket));
    // A failed handshake (certificate from an unknown CA, plain TCP on an ssl port) loses that peer only.
    server.on('tlsClientError', (err: Error, socket: net.Socket) =>
      this.log.warn('ovsdb TLS handshake failed', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }),
    );
    server.on('error', (err) => {
      const error = new ConnectionError(`listener error: ${err.message}`, { cause: err });
      // An unhandled 'error' event would throw; a listener problem must not kill the process.
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else this.log.error('ovsdb listener error', { error: error.message });
    });
  }

  private onConnection(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const session = OvsdbSession.accept(socket, this.options);
    this.sessions.add(session);
    session.on('status', (s) => {
      if (s.type === 'closed') this.sessions.delete(session);
    });
    this.emit('session', session);
  }

  /** The bound TCP port (ptcp/pssl). */
  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  get activeSessions(): readonly OvsdbSession[] {
    return [...this.sessions];
  }

  /** Stops listening and closes every accepted session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions) s.close();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Opens a passive endpoint; resolves once listening. `pssl:` needs `options.tls` with key and cert. */
export async function listen(target: string, options: SessionOptions & { tlsServer?: tls.TlsOptions } = {}): Promise<OvsdbListener> {
  const t = parseListenTarget(target);
  const server = t.kind === 'pssl' ? tls.createServer(options.tlsServer ?? {}) : net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (t.kind === 'punix') server.listen(t.path, done);
    else server.listen(t.port, t.host, done);
  });
  return new OvsdbListener(server, t, options);
}
