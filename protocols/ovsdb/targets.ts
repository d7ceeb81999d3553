/**
 * OVSDB connection methods (ovsdb-server(1) "--remote" syntax): parsing active
 * (`tcp:`, `ssl:`, `unix:`) and passive (`ptcp:`, `pssl:`, `punix:`) targets, and
 * dialing an active one.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError, PlexusError, TimeoutError } from '../common/errors';

/** Parsed connection method (ovsdb-server(1) "--remote" syntax). */
export type Target =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'ssl'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** Parsed passive connection method. */
export type ListenTarget =
  | { readonly kind: 'ptcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'pssl'; readonly host: string; readonly port: number }
  | { readonly kind: 'punix'; readonly path: string };

/** How to dial: TLS options for `ssl:` and the connect time limit (default 5000 ms). */
export interface DialOptions {
  readonly tls?: tls.ConnectionOptions;
  readonly connectTimeoutMs?: number;
}

/** Parses `tcp:HOST:PORT`, `ssl:HOST:PORT` (IPv6 as `[addr]`) or `unix:PATH`. */
export function parseTarget(target: string): Target {
  const m = /^(tcp|ssl):(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
  if (m) return { kind: m[1] as 'tcp' | 'ssl', host: m[2] ?? m[3]!, port: checkPort(Number(m[4]), target) };
  if (target.startsWith('unix:') && target.length > 5) return { kind: 'unix', path: target.slice(5) };
  throw new PlexusError(`unsupported OVSDB target "${target}" (expected tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH)`);
}

/** Parses `ptcp:PORT[:IP]`, `pssl:PORT[:IP]` or `punix:PATH` (port 0 = any free port). */
export function parseListenTarget(target: string): ListenTarget {
  const m = /^(ptcp|pssl):(\d+)(?::(?:\[([^\]]+)\]|(.+)))?$/.exec(target);
  if (m) return { kind: m[1] as 'ptcp' | 'pssl', port: checkPort(Number(m[2]), target), host: m[3] ?? m[4] ?? '0.0.0.0' };
  if (target.startsWith('punix:') && target.length > 6) return { kind: 'punix', path: target.slice(6) };
  throw new PlexusError(`unsupported OVSDB listen target "${target}" (expected ptcp:PORT[:IP], pssl:PORT[:IP] or punix:PATH)`);
}

function checkPort(port: number, target: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PlexusError(`bad port in "${target}"`);
  return port;
}

/**
 * Opens a socket to an active target; resolves once it is connected (TLS:
 * secured), rejects with ConnectionError or TimeoutError after closing it.
 */
export function dialSocket(target: Target, name: string, options: DialOptions = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    switch (target.kind) {
      case 'tcp':
        socket = net.connect({ host: target.host, port: target.port });
        break;
      case 'unix':
        socket = net.connect({ path: target.path });
        break;
      case 'ssl':
        socket = tls.connect({ ...options.tls, host: target.host, port: target.port });
        break;
    }
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const timer = setTimeout(() => fail(new TimeoutError(`connect to ${name} timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: PlexusError): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      reject(err);
    };
    socket.once('error', (err) => fail(new ConnectionError(`cannot connect to ${name}: ${err.message}`, { cause: err })));
    socket.once(target.kind === 'ssl' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
