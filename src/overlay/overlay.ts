/**
 * The overlay: wires the one-way pipeline from what hosts report and what the
 * API wrote to the flows on the switches. Each stage is its own module with
 * one job; this file only connects them, in data-flow order:
 *
 *   host view (host-manager `view`)
 *     ├─▶ attachment-observer  attachments → bindings (etcd; provisional in the cache)
 *     ├─▶ host-programmer      plexus-vxlan's port → recompile the host
 *   host records (host-manager `encapIp`) ─▶ host-programmer: networks shared with that host
 *   host-programmer `legacyTunnelsUnused` ─▶ host-manager removes per-peer ports (migration)
 *     ├─▶ switch-roles         datapath id → the switch session to claim
 *     ├─▶ installed-marker     the host's OVSDB link
 *     └─▶ interface-marks      plexus-endpoint / plexus-mac / plexus-error, plexus-installed removed
 *   model cache `changed` (etcd watch, once per turn)
 *     ├─▶ host-programmer      partitions → desired flows → HostFlows → switch
 *     └─▶ installed-marker     flushed → Interface plexus-installed, binding installed
 *   mastership (cluster/ownership) ─▶ switch-roles ─▶ ROLE_REQUEST
 *     `master` ─▶ host-programmer attaches the switch; observer re-binds; marker marks
 *   packet_in ─▶ packet-in (handlers return packet-outs; one place sends)
 */
import { queryEndpointPolicy, type EndpointPolicy } from './endpoint-policy';
import type { Mastery } from '../cluster/ownership';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { BackoffPolicy } from '../../protocols/common/backoff';
import type { BindingWriter } from '../store/bindings';
import type { MacBindingWriter } from '../store/mac-bindings';
import { knownNeighbor, learnedNeighborOf } from './neighbors';
import type { ModelCache } from '../store/model-cache';
import { readTunnelPorts } from '../southbound/attachments';
import { patchPortsOf } from '../southbound/bridge-mappings';
import type { HostManager } from '../southbound/host-manager';
import type { SwitchServer } from '../southbound/switch-server';
import { AttachmentObserver, type AutoCreateRequest } from './attachment-observer';
import { queryEndpointFlows } from './endpoint-flows';
import { HostProgrammer } from './host-programmer';
import { InstalledMarker } from './installed-marker';
import { InterfaceMarks } from './interface-marks';
import { respondToPacketIn, type EndpointAtPort } from './packet-in';
import { featureNameOf } from '../pipeline/cookies';
import { PACKET_IN_HANDLERS } from './packet-in-handlers';
import { SwitchRoles } from './switch-roles';

export interface OverlayDeps {
  readonly cache: ModelCache;
  readonly bindings: BindingWriter;
  /** Neighbours learned on external networks (next hops of the NAT flows). */
  readonly macBindings?: MacBindingWriter;
  readonly switches: SwitchServer;
  readonly hostManager: HostManager;
  readonly mastery: Mastery;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Creates an endpoint for an interface with external_ids:plexus-network (SPEC §2). */
  readonly autoCreate?: (req: AutoCreateRequest) => Promise<void>;
  /** One retry policy for binding writes, installed marks and flow resyncs. */
  readonly retryBackoff?: BackoffPolicy;
}

export interface Overlay {
  readonly observer: AttachmentObserver;
  readonly programmer: HostProgrammer;
  readonly roles: SwitchRoles;
  readonly marker: InstalledMarker;
  readonly interfaceMarks: InterfaceMarks;
  /** The drill-down of one endpoint (endpoint-flows.ts). */
  endpointFlows(endpointId: string): string[] | undefined;
  /** Effective rules, QoS and the flows of each (endpoint-policy.ts). */
  endpointPolicy(endpointId: string): EndpointPolicy | undefined;
  /** Desired flows over every host this member programs. */
  desiredFlowCount(): number;
  stop(): void;
}

const nowIso = (): string => new Date().toISOString();

export function startOverlay(deps: OverlayDeps): Overlay {
  const { cache, mastery, metrics } = deps;
  const retry = deps.retryBackoff ? { retryBackoff: deps.retryBackoff } : {};
  const observer = new AttachmentObserver(cache, deps.bindings, mastery, deps.log, { ...retry, ...(deps.autoCreate ? { autoCreate: deps.autoCreate } : {}) });
  const programmer = new HostProgrammer(cache, deps.log, { ...retry, encapIps: deps.hostManager.knownEncapIps() });
  const roles = new SwitchRoles(deps.switches, mastery, deps.log);
  const marker = new InstalledMarker({
    cache,
    bindings: deps.bindings,
    mastery,
    flowsOf: (h) => programmer.flowsOf(h),
    attachmentOf: (h, e) => observer.attachment(h, e),
    log: deps.log,
    ...(metrics ? { metrics } : {}),
    ...retry,
  });
  const interfaceMarks = new InterfaceMarks({
    cache,
    mastery,
    attachmentsOf: (h) => observer.attachmentsOf(h),
    hostsAttaching: (e) => observer.hostsAttaching(e),
    problemOf: (h, e) => observer.problemOf(h, e),
    unmarked: (h, e) => marker.unmarked(h, e),
    log: deps.log,
  });

  deps.hostManager.on('view', (v) => {
    programmer.observeTunnels(v.hostId, readTunnelPorts(v.view));
    programmer.observeExternalPorts(v.hostId, patchPortsOf(v.view));
    marker.observeLink(v.hostId, v.link);
    roles.observeDatapath(v.hostId, v.dpid);
    observer.observe(v.hostId, v.view);
    interfaceMarks.observe(v.hostId, v.view, v.link);
  });
  observer.on('problems', (hostId) => interfaceMarks.write(hostId));
  deps.hostManager.on('encapIp', (hostId) => programmer.observeEncapIp(hostId));
  programmer.on('legacyTunnelsUnused', (hostId) => deps.hostManager.retireLegacyTunnels(hostId));
  observer.on('seen', (s) => marker.noteSeen(s.hostId, s.endpointId, s.atMs));
  cache.on('changed', (c) => {
    programmer.applyModelChange(c);
    marker.applyModelChange(c);
    observer.applyModelChange(c);
    interfaceMarks.applyModelChange(c);
  });
  roles.on('master', (hostId, conn) => {
    programmer.attach(hostId, conn);
    // Bind what the previous master may not have, and mark what is installed.
    void observer.rebindAll(hostId).then((ids) => ids.forEach((id) => void marker.mark(hostId, id)));
  });
  roles.on('detached', (hostId, conn) => programmer.detach(hostId, conn));
  // Packet-ins by the feature of the flow that punted them: counted here, added to the
  // metric once per event-loop turn (the metric's label lookup costs more than the count).
  const packetInCounts = new Map<number, number>();
  const addPacketInCounts = (): void => {
    for (const [feature, n] of packetInCounts) metrics!.packetIns.inc({ reason: featureNameOf(BigInt(feature) << 56n) }, n);
    packetInCounts.clear();
  };
  const countPacketIn = (cookie: bigint): void => {
    const feature = Number(cookie >> 56n);
    if (packetInCounts.size === 0) setImmediate(addPacketInCounts);
    packetInCounts.set(feature, (packetInCounts.get(feature) ?? 0) + 1);
  };
  // The endpoint at a port of a host, one lookup function per host (not one per packet-in).
  const endpointAts = new Map<string, EndpointAtPort>();
  const endpointAtOf = (hostId: string): EndpointAtPort => {
    let at = endpointAts.get(hostId);
    if (!at) {
      at = (port) => {
        const a = observer.attachmentAt(hostId, port);
        return a ? cache.endpoint(a.endpointId) : undefined;
      };
      endpointAts.set(hostId, at);
    }
    return at;
  };
  deps.switches.on('switch', (e) => {
    if (e.kind !== 'message' || e.message.type !== 'packet_in') return;
    const sw = roles.switchOf(e.dpid);
    if (!sw?.conn || !mastery.isMaster(sw.hostId)) return;
    if (metrics) countPacketIn(e.message.cookie ?? 0n);
    // An external next hop's ARP reply arrives on a patch port (no endpoint there): learned, not answered.
    const learned = learnedNeighborOf(e.message, cache, sw.hostId, nowIso);
    if (learned) {
      if (deps.macBindings) {
        deps.macBindings.learn(learned, knownNeighbor(cache, learned)).then(
          (wrote) => wrote && deps.log.info('external neighbour learned', { host: sw.hostId, network: learned.network, ip: learned.ip, mac: learned.mac }),
          (err: Error) => deps.log.warn('external neighbour not stored', { host: sw.hostId, ip: learned.ip, error: err.message }),
        );
      }
      return;
    }
    respondToPacketIn(sw.conn, e.message, endpointAtOf(sw.hostId), cache, PACKET_IN_HANDLERS, deps.log, sw.hostId);
  });
  if (metrics) {
    programmer.on('applied', (_hostId, s) => {
      metrics.flowMods.inc({ kind: 'add' }, s.adds);
      metrics.flowMods.inc({ kind: 'modify' }, s.modifies);
      metrics.flowMods.inc({ kind: 'delete' }, s.deletes);
      metrics.reconcileSeconds.observe({ full: String(s.full) }, s.ms / 1000);
    });
    programmer.on('state', (hostId, state) => {
      if (state === 'retrying') metrics.reconcileErrors.inc({ host: hostId });
    });
  }

  return {
    observer,
    programmer,
    roles,
    marker,
    interfaceMarks,
    endpointFlows: (id) => queryEndpointFlows(id, cache, mastery, (h) => programmer.flowsOf(h)),
    endpointPolicy: (id) => queryEndpointPolicy(id, cache, mastery, (h) => programmer.flowsOf(h)),
    desiredFlowCount: () => programmer.desiredFlowCount(),
    stop: () => {
      observer.stop();
      marker.stop();
      interfaceMarks.stop();
    },
  };
}
