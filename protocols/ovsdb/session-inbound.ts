/**
 * What an {@link OvsdbSession} does with its current connection besides
 * requests: route each notification (RFC 7047 §4.1.6 update to its monitor's
 * replica, §4.1.9 locked and §4.1.10 stolen to the locks, anything else
 * reported as is), and after a reconnect re-acquire the locks and re-issue the
 * monitors (their replicas resync, reporting only what differs).
 */
import type winston from 'winston';
import { PlexusError } from '../common/errors';
import type { SessionLocks } from './locks';
import { parseUpdateNotification } from './monitor';
import type { DatabaseSchema } from './rfc7047';
import type { OvsdbRpc } from './rpc';
import type { SessionMonitors } from './session-monitors';
import type { SessionStatus } from './session';

/** The session's side of one connection, as the functions below need it. */
export interface SessionLink {
  readonly rpc: OvsdbRpc;
  readonly monitors: SessionMonitors;
  readonly locks: SessionLocks;
  readonly log: winston.Logger;
  /** Whether `rpc` is still the session's connection. */
  readonly isCurrent: () => boolean;
  readonly getSchema: (db: string) => Promise<DatabaseSchema>;
  readonly report: (s: SessionStatus) => void;
}

/** One notification of the current connection; a malformed one drops the connection. */
export function routeNotification(link: SessionLink, method: string, params: readonly unknown[]): void {
  const { rpc, monitors, locks } = link;
  try {
    const update = parseUpdateNotification(method, params);
    if (update) {
      const monitor = typeof update.monitorId === 'string' ? monitors.get(update.monitorId) : undefined;
      const pending = monitor?.handleUpdate(update.updates, update.format);
      // A large update goes in over several turns: later messages wait for it.
      if (pending) rpc.holdInbound(pending.catch((err: unknown) => dropMalformed(link, method, err)));
      return;
    }
    if (method === 'locked' || method === 'stolen') {
      const lock = locks.applyNotification(method, params);
      link.report(method === 'locked' ? { type: 'locked', lock } : { type: 'stolen', lock });
      return;
    }
    link.report({ type: 'notification', method, params });
  } catch (err) {
    dropMalformed(link, method, err);
  }
}

/** A replica that missed or misread an update cannot be trusted: drop the connection; the reconnect resyncs everything. */
function dropMalformed(link: SessionLink, method: string, err: unknown): void {
  link.log.warn('malformed notification, closing connection', { method, error: (err as Error).message });
  link.rpc.close(asPlexusError(err));
}

/** After a reconnect: re-acquire locks, re-issue monitors, resync replicas. */
export async function restoreSession(link: SessionLink): Promise<void> {
  const { rpc, monitors, locks } = link;
  for (const name of locks.names()) {
    try {
      await locks.request(rpc, 'lock', name);
    } catch (err) {
      if (!link.isCurrent()) return;
      link.report({ type: 'error', error: asPlexusError(err) });
    }
  }
  await monitors.resync(
    rpc,
    link.getSchema,
    () => link.isCurrent() && rpc.isOpen,
    (m, changes) => link.report({ type: 'resynced', monitorId: m.id, changes }),
    (m, err) => {
      link.log.warn('re-monitor failed', { monitor: m.id, error: (err as Error).message });
      link.report({ type: 'error', error: asPlexusError(err) });
    },
  );
}

export function asPlexusError(err: unknown): PlexusError {
  if (err instanceof PlexusError) return err;
  return new PlexusError(err instanceof Error ? err.message : String(err), { cause: err });
}
