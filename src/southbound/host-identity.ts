/**
 * Host identity (SPEC §2): a system-id belongs to the Open vSwitch database
 * (its Open_vSwitch row _uuid, recorded as the record's `ovsdbUuid`) that
 * claimed it first, while that host is connected. Another database claiming
 * the same system-id meanwhile is refused — logged, counted, shown in the
 * record's `conflict` — and nothing is done for it. A host that renames itself
 * takes its record along: the old one is deleted, so no ghost (nor flows
 * toward it) stays behind. Used by the host manager's passes (host-manager.ts).
 */
import type { Mastery } from '../cluster/ownership';
import type { Logger } from '../log';
import type { HostRecords } from './host-records';
import type { HostSession, HostSessions } from './host-sessions';
import { viewFromRows } from './ovs-view';

export interface IdentityContext {
  readonly sessions: HostSessions;
  readonly records: HostRecords;
  readonly mastery: Mastery;
  readonly log: Logger;
  /** A session was refused (or its reason changed): the manager's `conflict` event. */
  readonly onConflict: (c: { readonly hostId: string; readonly remote: string; readonly reason: string }) => void;
}

/** The conflict a refused session of this member shows on `id`'s record (null: none). */
export function conflictOf(ctx: IdentityContext, id: string): string | null {
  for (const s of ctx.sessions.refusedOf(id)) if (!s.closed) return s.refused!.reason;
  return null;
}

/**
 * Why this session may not take `id`, if it may not: another database holds
 * it and is connected (its record says so, or another session of this member
 * took it first).
 */
export function identityRefusal(ctx: IdentityContext, state: HostSession, id: string, ovsdbUuid: string): string | undefined {
  const record = ctx.records.get(id);
  let holderUuid: string | undefined;
  for (const s of ctx.sessions.of(id)) {
    if (s !== state && !s.closed && s.ovsdbUuid !== undefined && s.ovsdbUuid !== ovsdbUuid) holderUuid ??= s.ovsdbUuid;
  }
  holderUuid ??= record?.ovsdbConnected && record.ovsdbUuid && record.ovsdbUuid !== ovsdbUuid ? record.ovsdbUuid : undefined;
  if (!holderUuid) return undefined;
  return `system-id "${id}" is held by another Open vSwitch (database ${holderUuid}) that is connected; this one (database ${ovsdbUuid}, from ${state.link.remote}) is refused until that one disconnects`;
}

/**
 * A session left an identity (its system-id changed, or it was refused):
 * an unidentified placeholder is deleted, and so is the record of a host
 * that renamed itself — the same database held it — unless another session
 * of that database still holds the old name.
 */
export async function forgetIdentity(ctx: IdentityContext, oldId: string, ovsdbUuid: string | undefined): Promise<void> {
  if (oldId.startsWith('unidentified-')) {
    await ctx.records.delete(oldId);
    return;
  }
  const record = ctx.records.get(oldId);
  const stillHeld = [...ctx.sessions.of(oldId)].some((s) => s.ovsdbUuid === ovsdbUuid && viewFromRows(s.link.rows()).root?.externalIds['system-id']?.trim() === oldId);
  if (!record || ovsdbUuid === undefined || record.ovsdbUuid !== ovsdbUuid || stillHeld) return;
  if (await ctx.records.delete(oldId)) ctx.log.info('host renamed itself: old record removed', { host: oldId, ovsdbUuid });
}

/** Refuses a claim: logged, counted, shown on the record by its master; nothing else is done for this session. */
export async function refuse(ctx: IdentityContext, state: HostSession, id: string, reason: string): Promise<void> {
  const changed = state.refused?.reason !== reason;
  ctx.sessions.setHostId(state, undefined);
  state.ovsdbUuid = undefined;
  ctx.sessions.setDpid(state, null);
  ctx.sessions.setRefused(state, { hostId: id, reason });
  if (changed) {
    ctx.log.warn('host identity conflict: session refused', { host: id, remote: state.link.remote, reason });
    ctx.onConflict({ hostId: id, remote: state.link.remote, reason });
  }
  await writeConflict(ctx, id);
}

/** A refused session may take its identity now. */
export function accept(ctx: IdentityContext, state: HostSession, id: string): void {
  ctx.log.info('host identity conflict over: session accepted', { host: id, remote: state.link.remote });
  ctx.sessions.setRefused(state, undefined);
}

/** As master of `id`, records the conflict of a refused session of this member on the host record (or clears it). */
export async function writeConflict(ctx: IdentityContext, id: string): Promise<void> {
  const record = ctx.records.get(id);
  if (!record || !ctx.mastery.isMaster(id)) return;
  const conflict = conflictOf(ctx, id);
  if ((record.conflict ?? null) !== conflict) await ctx.records.write({ ...record, conflict, updatedAt: new Date().toISOString() });
}
