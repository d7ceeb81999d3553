/**
 * The overlay: turns model changes and host observations into flows.
 *
 *   host view (OVSDB) ──▶ attachments ──▶ bindings (etcd) ─┐
 *   API writes ──────────────────────────▶ model (etcd) ───┴▶ model cache (watch)
 *        ──▶ recompile the touched endpoints' partitions (and their network's small
 *            base) on the hosts where the network is present ──▶ HostFlows (bundles)
 *        ──▶ once flushed: binding `installed`, Interface `plexus-installed=true`
 *
 * Per host this member masters it keeps the reconciler (HostFlows), the tunnel
 * ports and the attachments last seen. Work per change is proportional to what
 * the change touches: the networks in the batch, on the hosts where they are.
 */
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import { OFPCR_ROLE, OFPP } from '../../protocols/openflow/constants';
import type { Mastery } from '../cluster/ownership';
import type { Decoded, PacketIn } from '../../protocols/openflow/messages';
import { decodePacket } from '../../protocols/packet/packet';
import {
  compileEndpoint,
  compileNetworkBase,
  compileNetworkPartitions,
  endpointPartition,
  isPresent,
  networkPartition,
  PIPELINE_PARTITION,
} from '../compiler/compile-host';
import { compilePipeline } from '../compiler/pipeline';
import { placedEndpoints, placementOf, type Placed } from '../compiler/snapshot';
import type { HostContext } from '../compiler/snapshot';
import type { Logger } from '../log';
import { HostFlows, type ApplyStats } from '../reconciler/host-flows';
import { formatFlow } from '../reconciler/format';
import { OBJECT_ID_MASK, objectIdOf } from '../pipeline/cookies';
import type { Metrics } from '../metrics';
import { BindingWriter } from '../store/bindings';
import type { ModelCache, ModelChange } from '../store/model-cache';
import type { EndpointKind } from '../store/model';
import { readAttachments, readTunnelPorts, type Attachment } from '../southbound/attachments';
import type { HostLink } from '../southbound/host-link';
import type { HostManager, HostView } from '../southbound/host-manager';
import type { SwitchEvent, SwitchServer } from '../southbound/switch-server';
import { answerDhcp } from './dhcp';
import { answerNeighborSolicitation } from './nd';

export interface AutoCreateRequest {
  readonly id: string;
  readonly network: string;
  readonly mac: string | null;
  readonly ip: string | null;
  readonly kind: EndpointKind;
}

export interface OverlayOptions {
  /** Creates an endpoint for an interface with external_ids:plexus-network (SPEC §2). */
  readonly autoCreate?: (req: AutoCreateRequest) => Promise<void>;
  readonly metrics?: Metrics;
}

interface HostOverlay {
  readonly id: string;
  readonly flows: HostFlows;
  tunnelPorts: Map<string, number>;
  attachments: Map<string, Attachment>;
  /** The same attachments by OpenFlow port (packet-ins name the port). */
  byOfport: Map<number, Attachment>;
  /** When each attachment was first seen, until its endpoint is installed (for the latency metric). */
  readonly seenAt: Map<string, number>;
  link: HostLink | undefined;
  dpid: string | null;
  /** plexus-installed marks written in this session (endpoint@ofport), so each is written once. */
  readonly marked: Set<string>;
  /** Endpoint partitions set on this host, per network present here. */
  readonly endpointsOf: Map<string, Set<string>>;
  /** The switch's current ready connection to this member, whatever its role. */
  conn: OpenFlowConnection | undefined;
  /** Role changes are applied one at a time, in order. */
  roleChain: Promise<void>;
  /** Highest generation id sent to this switch (a slave must not send less than the master did). */
  generation: bigint;
}

const BINDING_RETRY_MS = 1000;

export class Overlay {
  private readonly hosts = new Map<string, HostOverlay>();
  private readonly byDpid = new Map<string, HostOverlay>();
  private readonly autoCreating = new Set<string>();

  constructor(
    private readonly cache: ModelCache,
    private readonly bindings: BindingWriter,
    private readonly switches: SwitchServer,
    hostManager: HostManager,
    private readonly mastery: Mastery,
    private readonly log: Logger,
    private readonly options: OverlayOptions = {},
  ) {
    mastery.on('changed', (hostId) => {
      const h = this.hosts.get(hostId);
      if (h) this.applyRole(h);
    });
    hostManager.on('view', (v: HostView) => this.onHostView(v));
    switches.on('switch', (e: SwitchEvent) => this.onSwitch(e));
    cache.on('changed', (c: ModelChange) => this.onModelChanged(c));
  }

  /**
   * The flows installed on an endpoint's host that belong to it (drill-down),
   * recognised by the object id in their cookies. Undefined when this member
   * does not program that host.
   */
  endpointFlows(endpointId: string): string[] | undefined {
    const b = this.cache.bindings.get(endpointId);
    const e = this.cache.endpoint(endpointId);
    const h = b?.host ? this.hosts.get(b.host) : undefined;
    if (!h || !e || !this.mastery.isMaster(h.id)) return undefined;
    const ids = new Set([endpointId, ...e.ips.map((ip) => `${endpointId}/${ip}`)].map(objectIdOf));
    return h.flows.installedFlows((c) => ids.has(c & OBJECT_ID_MASK)).map(formatFlow);
  }

  /** Desired flows over every host this member programs. */
  desiredFlowCount(): number {
    let n = 0;
    for (const h of this.hosts.values()) n += h.flows.desiredCount;
    return n;
  }

  private ensure(hostId: string): HostOverlay {
    let h = this.hosts.get(hostId);
    if (!h) {
      const flows = new HostFlows(hostId, this.log.child({ host: hostId }));
      const metrics = this.options.metrics;
      if (metrics) {
        flows.on('applied', (s: ApplyStats) => {
          metrics.flowMods.inc({ kind: 'add' }, s.adds);
          metrics.flowMods.inc({ kind: 'modify' }, s.modifies);
          metrics.flowMods.inc({ kind: 'delete' }, s.deletes);
          metrics.reconcileSeconds.observe({ full: String(s.full) }, s.ms / 1000);
        });
      }
      h = {
        id: hostId, flows, tunnelPorts: new Map(), attachments: new Map(), byOfport: new Map(), seenAt: new Map(),
        endpointsOf: new Map(), marked: new Set(), link: undefined, dpid: null, conn: undefined, roleChain: Promise.resolve(), generation: 0n,
      };
      this.hosts.set(hostId, h);
      this.recompileAll(h);
    }
    return h;
  }

  private context(h: HostOverlay): HostContext {
    return { id: h.id, tunnelPorts: h.tunnelPorts };
  }

  private recompileAll(h: HostOverlay): void {
    h.flows.setPartition(PIPELINE_PARTITION, compilePipeline());
    for (const network of new Set([...this.cache.networks.keys(), ...h.endpointsOf.keys()])) this.recompileNetwork(h, network);
  }

  /** Every partition of one network on one host, dropping those of endpoints that left it. */
  private recompileNetwork(h: HostOverlay, network: string): void {
    const partitions = compileNetworkPartitions(this.cache, this.context(h), network);
    const before = h.endpointsOf.get(network) ?? new Set<string>();
    const after = new Set<string>();
    for (const [name, flows] of partitions) {
      h.flows.setPartition(name, flows);
      if (name !== networkPartition(network) && flows.length) after.add(name);
    }
    for (const name of before) if (!after.has(name)) h.flows.setPartition(name, []);
    if (after.size) h.endpointsOf.set(network, after);
    else h.endpointsOf.delete(network);
  }

  /**
   * Endpoints changed in one network: recompile the network's small base
   * partition and those endpoints' partitions — unless the network appeared on
   * or left this host, which changes every flow of it there.
   */
  private recompileEndpoints(h: HostOverlay, network: string, endpoints: readonly string[], placed: readonly Placed[]): void {
    const ctx = this.context(h);
    const wasPresent = h.endpointsOf.has(network);
    if (isPresent(placed, h.id) !== wasPresent) return this.recompileNetwork(h, network);
    if (!wasPresent) return;
    h.flows.setPartition(networkPartition(network), compileNetworkBase(this.cache, ctx, network, placed));
    const names = h.endpointsOf.get(network)!;
    for (const id of endpoints) {
      const name = endpointPartition(id);
      const flows = compileEndpoint(this.cache, ctx, placementOf(this.cache, this.cache.endpoint(id)), true);
      h.flows.setPartition(name, flows);
      if (flows.length) names.add(name);
      else names.delete(name);
    }
  }

  private onHostView(v: HostView): void {
    const h = this.ensure(v.hostId);
    h.link = v.link;
    const tunnels = readTunnelPorts(v.view);
    if (!sameMap(tunnels, h.tunnelPorts)) {
      h.tunnelPorts = tunnels;
      this.recompileAll(h);
    }
    if (v.dpid !== h.dpid) {
      if (h.dpid) this.byDpid.delete(h.dpid);
      h.dpid = v.dpid;
      if (v.dpid) this.byDpid.set(v.dpid, h);
      const conn = v.dpid ? this.switches.connection(v.dpid) : undefined;
      if (conn && conn.currentState === 'ready') this.attachSwitch(h, conn);
    }
    const now = readAttachments(v.view);
    h.byOfport = new Map([...now.values()].map((a) => [a.ofport, a]));
    if (!this.mastery.isMaster(h.id)) {
      // A standby only remembers what it would bind; the master does the writing.
      h.attachments = now;
      return;
    }
    for (const [id, a] of now) {
      const before = h.attachments.get(id);
      if (before && before.ofport === a.ofport && before.active === a.active && before.ifaceName === a.ifaceName) continue;
      if (a.active) {
        if (!a.installedMark) h.seenAt.set(id, Date.now());
        void this.bind(h, a);
      }
      else if (before?.active) void this.down(h, id);
    }
    for (const [id, a] of h.attachments) if (!now.has(id) && a.active) void this.down(h, id);
    h.attachments = now;
  }

  private async bind(h: HostOverlay, a: Attachment): Promise<void> {
    if (!this.mastery.isMaster(h.id)) return;
    try {
      if (!this.cache.endpoint(a.endpointId) && a.network && this.options.autoCreate && !this.autoCreating.has(a.endpointId)) {
        this.autoCreating.add(a.endpointId);
        try {
          await this.options.autoCreate({ id: a.endpointId, network: a.network, mac: a.mac, ip: a.ip, kind: a.kind });
          this.log.info('endpoint created from interface', { host: h.id, endpoint: a.endpointId, network: a.network });
        } finally {
          this.autoCreating.delete(a.endpointId);
        }
      }
      const req = { endpoint: a.endpointId, host: h.id, ofport: a.ofport, ifaceName: a.ifaceName };
      // This member masters the host: its own view is authoritative, so flows need not wait for etcd.
      const provisional = BindingWriter.bound(this.cache.bindings.get(a.endpointId), req);
      if (provisional && this.cache.endpoint(a.endpointId)) this.cache.applyLocalBinding(provisional);
      await this.bindings.bind(req);
      this.log.debug('endpoint bound', { host: h.id, endpoint: a.endpointId, ofport: a.ofport });
    } catch (err) {
      this.log.error('cannot bind endpoint; will retry', { host: h.id, endpoint: a.endpointId, error: (err as Error).message });
      this.retryLater(h, a.endpointId);
    }
  }

  /**
   * A binding write failed (etcd unreachable): try again until it succeeds or
   * no longer applies, so attachments seen during an outage are applied when
   * etcd returns and nothing is lost.
   */
  private retryLater(h: HostOverlay, endpointId: string): void {
    setTimeout(() => {
      if (!this.mastery.isMaster(h.id)) return;
      const a = h.attachments.get(endpointId);
      if (a?.active) void this.bind(h, a);
      else if (!a) void this.down(h, endpointId);
    }, BINDING_RETRY_MS).unref();
  }

  private async down(h: HostOverlay, endpointId: string): Promise<void> {
    if (!this.mastery.isMaster(h.id)) return;
    try {
      if (await this.bindings.down(endpointId, h.id)) this.log.info('endpoint down', { host: h.id, endpoint: endpointId });
    } catch (err) {
      this.log.error('cannot mark endpoint down; will retry', { host: h.id, endpoint: endpointId, error: (err as Error).message });
      this.retryLater(h, endpointId);
    }
  }

  private onSwitch(e: SwitchEvent): void {
    if (e.kind === 'message') {
      if (e.message.type === 'packet_in') this.onPacketIn(e.dpid, e.message);
      return;
    }
    for (const h of this.hosts.values()) {
      if (h.dpid !== e.dpid) continue;
      if (e.kind === 'up') this.attachSwitch(h, e.conn);
      else if (h.conn) {
        h.flows.detach(h.conn);
        h.conn = undefined;
      }
    }
  }

  /** Packet-ins come only from flows that punt DHCP and neighbor solicitations; anything else is dropped. */
  private onPacketIn(dpid: string, msg: Decoded<PacketIn>): void {
    const h = this.byDpid.get(dpid);
    const inPort = msg.match.find((f) => f.field === 'in_port')?.value;
    if (!h || typeof inPort !== 'number' || !h.conn || !this.mastery.isMaster(h.id)) return;
    const attachment = h.byOfport.get(inPort);
    const endpoint = attachment ? this.cache.endpoint(attachment.endpointId) : undefined;
    const network = endpoint ? this.cache.networks.get(endpoint.network) : undefined;
    if (!endpoint || !network) return;
    let reply: Buffer | undefined;
    try {
      const packet = decodePacket(msg.data);
      reply = packet.dhcp
        ? answerDhcp(packet, network, endpoint, this.cache.subnetsByNetwork.get(network.id) ?? [])
        : answerNeighborSolicitation(packet, endpoint, this.cache.endpointsByNetwork.get(network.id) ?? []);
    } catch (err) {
      if (this.log.isDebugEnabled()) this.log.debug('ignoring undecodable packet-in', { host: h.id, inPort, error: (err as Error).message });
      return;
    }
    if (!reply) return;
    h.conn.send({ type: 'packet_out', inPort: OFPP.CONTROLLER, actions: [{ type: 'output', port: inPort }], data: reply });
    if (this.log.isDebugEnabled()) this.log.debug('packet-in answered', { host: h.id, endpoint: endpoint.id });
  }

  private attachSwitch(h: HostOverlay, conn: OpenFlowConnection): void {
    if (h.conn === conn) return;
    if (h.conn) h.flows.detach(h.conn);
    h.conn = conn;
    this.applyRole(h);
  }

  /**
   * Makes the switch session match mastership: the master claims the MASTER role
   * with its generation id (the switch refuses a stale one) and only then
   * programs flows; everyone else is SLAVE and programs nothing.
   */
  private applyRole(h: HostOverlay): void {
    h.roleChain = h.roleChain.then(async () => {
      const conn = h.conn;
      if (!conn || !conn.isOpen) return;
      const isMaster = this.mastery.isMaster(h.id);
      const known = this.mastery.masterOf(h.id)?.generation;
      if (known !== undefined && known > h.generation) h.generation = known;
      try {
        if (isMaster) {
          await conn.request({ type: 'role_request', role: OFPCR_ROLE.MASTER, generationId: h.generation });
          if (h.conn !== conn || !this.mastery.isMaster(h.id)) return;
          this.log.info('master of switch', { host: h.id, generation: h.generation.toString() });
          h.flows.attach(conn);
          // Bind what the previous master may not have, and mark what is installed.
          for (const a of h.attachments.values()) {
            if (a.active) void this.bind(h, a).then(() => this.markInstalled(h, a.endpointId));
          }
        } else {
          h.flows.detach(conn);
          await conn.request({ type: 'role_request', role: OFPCR_ROLE.SLAVE, generationId: h.generation });
        }
      } catch (err) {
        this.log.warn('switch refused the role change', { host: h.id, master: isMaster, generation: h.generation.toString(), error: (err as Error).message });
      }
    });
  }

  private onModelChanged({ networks, endpoints, statuses }: ModelChange): void {
    const byNetwork = new Map<string, string[]>();
    for (const [id, network] of endpoints) {
      if (networks.has(network)) continue; // recompiled whole below
      byNetwork.set(network, [...(byNetwork.get(network) ?? []), id]);
    }
    // Where a network's endpoints are placed does not depend on the host: work it out once.
    const placed = new Map([...byNetwork.keys()].map((n) => [n, placedEndpoints(this.cache, n)]));
    for (const h of this.hosts.values()) {
      for (const n of networks) this.recompileNetwork(h, n);
      for (const [n, ids] of byNetwork) this.recompileEndpoints(h, n, ids, placed.get(n)!);
    }
    for (const id of [...endpoints.keys(), ...statuses]) {
      const b = this.cache.bindings.get(id);
      const h = b?.host ? this.hosts.get(b.host) : undefined;
      if (h && b?.status === 'bound') void this.markInstalled(h, id);
    }
  }

  /**
   * Once the host has every flow of the endpoint: binding `installed` and
   * Interface `plexus-installed=true` with a millisecond timestamp, which
   * integrations (CNI, libvirt hooks) wait for (cf. ovn-installed).
   */
  private async markInstalled(h: HostOverlay, endpointId: string): Promise<void> {
    if (!this.mastery.isMaster(h.id)) return;
    await h.flows.flushed();
    if (!this.mastery.isMaster(h.id)) return;
    const b = this.cache.bindings.get(endpointId);
    const a = h.attachments.get(endpointId);
    if (!b || b.host !== h.id || b.ofport === null || !a || a.ofport !== b.ofport || !this.cache.endpoint(endpointId)) return;
    try {
      // The host's own mark first: integrations wait for it; the status in etcd follows.
      const mark = `${endpointId}@${a.ofport}`;
      if (!a.installedMark && h.link && !h.marked.has(mark)) {
        h.marked.add(mark);
        await h.link.transact([
          {
            op: 'mutate',
            table: 'Interface',
            where: [['_uuid', '==', ['uuid', a.ifaceUuid]]],
            mutations: [
              ['external_ids', 'delete', ['set', ['plexus-installed', 'plexus-installed-ts']]],
              ['external_ids', 'insert', ['map', [['plexus-installed', 'true'], ['plexus-installed-ts', String(Date.now())]]]],
            ],
          },
        ]);
      }
      const seen = h.seenAt.get(endpointId);
      if (seen !== undefined) {
        h.seenAt.delete(endpointId);
        this.options.metrics?.attachInstalledSeconds.observe((Date.now() - seen) / 1000);
      }
      if (b.status === 'bound') await this.bindings.installed(endpointId, h.id, b.ofport);
    } catch (err) {
      this.log.warn('cannot mark endpoint installed; will retry', { host: h.id, endpoint: endpointId, error: (err as Error).message });
      h.marked.delete(`${endpointId}@${h.attachments.get(endpointId)?.ofport}`);
      setTimeout(() => void this.markInstalled(h, endpointId), BINDING_RETRY_MS).unref();
    }
  }
}

function sameMap<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
