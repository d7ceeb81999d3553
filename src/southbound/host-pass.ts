/**
 * One pass of the host manager (host-manager.ts) over one OVSDB session:
 * identify the host (host-identity.ts), then — as its master — make br-int,
 * its controllers, plexus-vxlan and the external bridges' patch ports right
 * (host-plan.ts, bridge-mappings.ts) and write the host record; a standby only
 * reports the view. Everything the pass needs comes in `PassContext`.
 */
import type { Mastery } from '../cluster/ownership';
import type { Logger } from '../log';
import type { HostRecord, HostStatus } from '../store/model';
import type { Operation } from '../../protocols/ovsdb/transact';
import type { AnnouncedPorts } from './announced-ports';
import { PHYSNET_KEY, readBridgeMappings, planPatchPorts } from './bridge-mappings';
import { readHostFacts } from './host-facts';
import { accept, conflictOf, forgetIdentity, identityRefusal, refuse, type IdentityContext } from './host-identity';
import type { HostView } from './host-manager';
import { INTEGRATION_BRIDGE, PEER_KEY, TUNNEL_PORT, isBridgeConfigured, planHostConfig, type DesiredHostConfig } from './host-plan';
import type { HostRecords } from './host-records';
import type { HostSession, HostSessions } from './host-sessions';
import { findBridge, viewFromRows, type OvsInterface, type OvsView } from './ovs-view';
import type { SwitchServer } from './switch-server';

export interface PassContext {
  readonly sessions: HostSessions;
  readonly records: HostRecords;
  readonly identity: IdentityContext;
  readonly mastery: Mastery;
  readonly switches: SwitchServer;
  readonly announced: AnnouncedPorts;
  readonly log: Logger;
  readonly maxBackoffMs: number;
  readonly inactivityProbeMs: number;
  readonly onView: (v: HostView) => void;
  readonly onReady: (hostId: string) => void;
}

type HostFields = Pick<HostRecord, 'encapIp' | 'datapathType' | 'ovsVersion' | 'datapathId' | 'ofConnected' | 'status' | 'reason'>;

/**
 * What the last pass over a session planned host config from, when it planned
 * nothing: the view's tables it read (by identity: ovs-view.ts keeps unchanged
 * tables and rows), the interfaces of tunnel, legacy and patch ports, and the
 * desired config. A pass whose inputs are all the same plans nothing again, so
 * it skips planning; the workload ports an attach changes are not among them.
 */
export interface PlannedConfig {
  readonly hostId: string;
  readonly view: OvsView;
  /** The interfaces of plexus-vxlan, legacy per-peer and patch ports, by uuid, as planning read them. */
  readonly configInterfaces: readonly (readonly [string, OvsInterface | undefined])[];
  readonly desired: DesiredHostConfig;
}

const plannedConfig = new WeakMap<HostSession, PlannedConfig>();

export async function passOver(ctx: PassContext, state: HostSession): Promise<void> {
  const { sessions, mastery } = ctx;
  const rows = viewFromRows(state.link.rows(), state.view);
  // Only interfaces differ between the two views: br-int is the same object in both.
  const bridge = findBridge(rows, INTEGRATION_BRIDGE);
  // Interfaces the switch numbered before OVSDB did carry that number (announced-ports.ts).
  const view = ctx.announced.apply(bridge?.datapathId ?? null, rows, state.view);
  state.view = view;
  // Set again only by a pass that completes planning nothing: a failed one (retried), a standby's, a refused one re-plan in full.
  const planned = plannedConfig.get(state);
  plannedConfig.delete(state);
  const facts = readHostFacts(view);
  const id = facts.systemId ?? `unidentified-${state.link.remote.replace(/[^A-Za-z0-9.]/g, '-')}`;
  const refusal = facts.systemId && view.root ? identityRefusal(ctx.identity, state, id, view.root.uuid) : undefined;
  if (state.hostId && state.hostId !== id) await forgetIdentity(ctx.identity, state.hostId, state.ovsdbUuid);
  if (refusal) return refuse(ctx.identity, state, id, refusal);
  if (state.refused) accept(ctx.identity, state, id);
  sessions.setHostId(state, id);
  state.ovsdbUuid = view.root?.uuid;
  const log = (): Logger => ctx.log.child({ host: id }); // built only when something is logged
  sessions.setDpid(state, bridge?.datapathId ?? null);
  if (facts.systemId) mastery.track(id);
  if (facts.systemId && !mastery.isMaster(id)) {
    // A standby keeps the replica current (to take over at once) but changes nothing.
    if (facts.problems.length === 0) ctx.onView({ hostId: id, view, link: state.link, dpid: state.dpid });
    return;
  }
  if (facts.problems.length > 0) {
    await writeHost(ctx, id, Boolean(facts.systemId), { encapIp: facts.encapIp, datapathType: facts.datapathType, ovsVersion: facts.ovsVersion, datapathId: null, ofConnected: false, status: 'not-ready', reason: facts.problems.join('; ') });
    return;
  }
  const desired = desiredFor(ctx, state, id, facts.encapIp!, facts.datapathType);
  const unchanged = planned !== undefined && planned.hostId === id && sameConfigInputs(planned, view, desired);
  const ops = unchanged ? [] : [...planHostConfig(view, desired), ...planExternalBridges(state, view, log)];
  if (ops.length > 0) {
    log().info('configuring host', { operations: ops.length });
    if (ctx.log.isDebugEnabled()) log().debug('ovsdb operations', { ops });
    await state.link.transact(ops);
    // The replica update that follows schedules another pass, which should plan nothing.
  }
  const ofConnected = state.dpid !== null && ctx.switches.connection(state.dpid)?.currentState === 'ready';
  const configured = ops.length === 0 && isBridgeConfigured(bridge, desired);
  const status: HostStatus = configured && ofConnected ? 'ready' : 'configuring';
  const reason = status === 'ready' ? null : !configured ? 'configuring br-int' : 'waiting for br-int to connect over OpenFlow';
  ctx.onView({ hostId: id, view, link: state.link, dpid: state.dpid });
  const wasReady = ctx.records.get(id)?.status === 'ready';
  await writeHost(ctx, id, true, { encapIp: facts.encapIp, datapathType: facts.datapathType, ovsVersion: facts.ovsVersion, datapathId: state.dpid, ofConnected, status, reason });
  if (status === 'ready' && !wasReady) {
    log().info('host ready', { dpid: state.dpid });
    ctx.onReady(id);
  }
  if (ops.length === 0) plannedConfig.set(state, unchanged ? { ...planned, view } : configPlannedFrom(id, view, desired));
}

/** What host-config planning read, to tell a later pass whether it would read the same ({@link sameConfigInputs}). */
export function configPlannedFrom(hostId: string, view: OvsView, desired: DesiredHostConfig): PlannedConfig {
  return { hostId, view, configInterfaces: configInterfacesOf(view), desired };
}

/** Whether host-config planning would read exactly what it read for `planned` (then it plans what it planned then). */
export function sameConfigInputs(planned: PlannedConfig, view: OvsView, desired: DesiredHostConfig): boolean {
  const was = planned.view;
  if (view.root !== was.root || view.bridges !== was.bridges || view.ports !== was.ports || view.controllers !== was.controllers || view.managers !== was.managers) return false;
  // The same ports: the same config interfaces by uuid; only their values may differ.
  if (view.interfaces !== was.interfaces && planned.configInterfaces.some(([u, x]) => view.interfaces.get(u) !== x)) return false;
  const a = planned.desired;
  return (
    a.datapathType === desired.datapathType && a.localIp === desired.localIp && a.retireLegacyTunnels === desired.retireLegacyTunnels &&
    a.maxBackoffMs === desired.maxBackoffMs && a.inactivityProbeMs === desired.inactivityProbeMs &&
    a.controllers.length === desired.controllers.length && a.controllers.every((c, i) => c === desired.controllers[i])
  );
}

/** The interfaces host-config planning reads: those of plexus-vxlan, legacy per-peer and patch ports, on every bridge. */
function configInterfacesOf(view: OvsView): [string, OvsInterface | undefined][] {
  const out: [string, OvsInterface | undefined][] = [];
  for (const bridge of view.bridges.values()) {
    for (const portUuid of bridge.ports) {
      const port = view.ports.get(portUuid);
      if (!port || (port.name !== TUNNEL_PORT && port.externalIds[PEER_KEY] === undefined && port.externalIds[PHYSNET_KEY] === undefined)) continue;
      for (const u of port.interfaces) out.push([u, view.interfaces.get(u)]);
    }
  }
  return out;
}

function desiredFor(ctx: PassContext, state: HostSession, hostId: string, localIp: string, datapathType: string): DesiredHostConfig {
  return {
    datapathType,
    localIp,
    controllers: ctx.mastery.controllerTargets(hostId),
    retireLegacyTunnels: state.retireLegacyTunnels,
    maxBackoffMs: ctx.maxBackoffMs,
    inactivityProbeMs: ctx.inactivityProbeMs,
  };
}

/** External networks (SPEC §3): patch ports toward the bridges of plexus-bridge-mappings. */
function planExternalBridges(state: HostSession, view: OvsView, log: () => Logger): Operation[] {
  const read = readBridgeMappings(view.root?.externalIds ?? {});
  const plan = planPatchPorts(view, read.mappings);
  const problems = [...read.problems, ...plan.problems].join('; ');
  if (problems !== (state.mappingProblems ?? '')) {
    if (problems) log().warn('bridge mappings not usable; external networks are unreachable there until fixed', { problems });
    state.mappingProblems = problems;
  }
  return plan.ops;
}

/**
 * The host record as this pass found it. An identified host's is its master's,
 * written only while this member holds the host's master key: a pass that was
 * under way when mastership moved leaves it to the new master. A host with no
 * system-id has no master; whoever it connects to reports why.
 */
async function writeHost(ctx: PassContext, id: string, identified: boolean, fields: HostFields): Promise<void> {
  if (identified && !ctx.mastery.isMaster(id)) return;
  const now = new Date().toISOString();
  const existing = ctx.records.get(id);
  const session = [...ctx.sessions.of(id)].find((s) => !s.closed && s.ovsdbUuid !== undefined);
  await ctx.records.write({
    id,
    ...fields,
    ovsdbUuid: session?.ovsdbUuid ?? existing?.ovsdbUuid ?? null,
    conflict: conflictOf(ctx.identity, id),
    ovsdbConnected: true,
    master: ctx.mastery.memberId,
    joinedAt: existing?.joinedAt ?? now,
    updatedAt: now,
  }, identified ? ctx.mastery.heldKey(id) : undefined);
}
