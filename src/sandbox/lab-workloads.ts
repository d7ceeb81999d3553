/**
 * Workloads of the real-packet lab: a namespace per container or VM whose `eth0`
 * (veth, MTU 1450, tx checksum offload off) is plugged into a host's br-int with the
 * external_ids of SPEC §2, as ovs-docker and libvirt do.
 */
import { randomUUID } from 'node:crypto';
import { addNetns, addVeth, assertIfName, ip, NetnsError, nsRun, setSysctl } from './netns';
import { hex2, type LabHost, type LabLayout, type LabResources } from './lab-topology';
import { waitFor } from './processes';

export type WorkloadKind = 'container' | 'vm';

export interface WorkloadSpec {
  /** Short name; used in the namespace and port names. */
  readonly name: string;
  readonly kind: WorkloadKind;
  /** `external_ids:iface-id` (the Plexus endpoint id). */
  readonly ifaceId: string;
  /** MAC of eth0; a lab-unique one when omitted. */
  readonly mac?: string;
  /** Static address in CIDR form (`10.0.0.5/24`). */
  readonly ip?: string;
  /** Default route for a static address. */
  readonly gateway?: string;
  /** Leave eth0 without an address; call `Lab.dhcp` to get one. */
  readonly dhcp?: boolean;
  /** `external_ids:plexus-network`; with `ip`, also `plexus-ip`. */
  readonly network?: string;
  /** More (or overriding) Interface external_ids. */
  readonly externalIds?: Readonly<Record<string, string>>;
  /** How long to wait for plexusd to create br-int on the host (default 30 s). */
  readonly brIntTimeoutMs?: number;
}

export interface Workload {
  readonly name: string;
  readonly kind: WorkloadKind;
  readonly host: LabHost;
  readonly netns: string;
  readonly ifaceId: string;
  readonly mac: string;
  /** The OVS port / host-side veth on br-int. */
  readonly port: string;
  readonly ofport: number;
  /** For kind `vm`: the `vm-uuid` written to external_ids. */
  readonly vmUuid: string | undefined;
  /** Current IPv4 address without prefix (static, or from the last DHCP lease). */
  ip: string | undefined;
  /** Current address in CIDR form. */
  cidr: string | undefined;
}

const WORKLOAD_MTU = 1450;

/**
 * Plugs a workload into `h`'s br-int (numbered by `nextIndex` once br-int exists): namespace, veth, address, then the OVS
 * port with its external_ids in one transaction. Waits (bounded) for br-int to exist,
 * since plexusd creates it when the host connects. The namespace goes into
 * `resources` before it is created, so a failure leaves nothing the lab cannot remove.
 */
export async function plugWorkload(layout: LabLayout, resources: LabResources, h: LabHost, spec: WorkloadSpec, nextIndex: () => number): Promise<Workload> {
  if (spec.ip && spec.dhcp) throw new NetnsError(`workload ${spec.name}: give ip or dhcp, not both`);
  if (spec.ip && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(spec.ip)) throw new NetnsError(`workload ${spec.name}: ip must be CIDR, got ${spec.ip}`);
  const brIntTimeoutMs = spec.brIntTimeoutMs ?? 30_000;
  await waitFor(`br-int on ${h.id}`, async () => {
    const r = await h.ovs.vsctl('br-exists', 'br-int').catch(() => undefined);
    return r !== undefined;
  }, brIntTimeoutMs, 100).catch((err: unknown) => {
    throw new NetnsError(`br-int does not exist on ${h.id} after ${brIntTimeoutMs} ms (has plexusd adopted the host?)`, { cause: err, recoverable: true });
  });

  const k = nextIndex();
  const safeName = spec.name.replace(/[^A-Za-z0-9_-]/g, '');
  const ns = `${layout.prefix}w${k}-${safeName}`.slice(0, 64);
  const port = `w${k}-${safeName}`.slice(0, 15);
  assertIfName(port);
  const mac = (spec.mac ?? `02:ee:${hex2(layout.runId)}:00:${hex2(k >> 8)}:${hex2(k & 0xff)}`).toLowerCase();
  resources.netns.push(ns);
  await addNetns(ns);
  await setSysctl(ns, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
  await addVeth({ name: port, ns: h.netns, peer: 'eth0', peerNs: ns, mtu: WORKLOAD_MTU, peerMac: mac });
  await ip(h.netns, 'link', 'set', port, 'up');
  await nsRun(ns, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
  await ip(ns, 'link', 'set', 'eth0', 'up');
  if (spec.ip) {
    await ip(ns, 'addr', 'add', spec.ip, 'dev', 'eth0');
    if (spec.gateway) await ip(ns, 'route', 'add', 'default', 'via', spec.gateway, 'dev', 'eth0');
  }

  const vmUuid = spec.kind === 'vm' ? randomUUID() : undefined;
  const ids: Record<string, string> = {
    'iface-id': spec.ifaceId,
    'attached-mac': mac,
    'iface-status': 'active',
    ...(spec.kind === 'container' ? { container_id: spec.name, container_iface: 'eth0' } : { 'vm-uuid': vmUuid ?? '' }),
    ...(spec.network ? { 'plexus-network': spec.network } : {}),
    ...(spec.network && spec.ip ? { 'plexus-ip': spec.ip.split('/')[0] ?? '' } : {}),
    ...(spec.externalIds ?? {}),
  };
  await h.ovs.vsctl('add-port', 'br-int', port, '--', 'set', 'Interface', port,
    ...Object.entries(ids).map(([key, v]) => `external_ids:${key}=${quote(v)}`));
  const ofport = Number(await waitFor(`ofport of ${port} on ${h.id}`, async () => {
    const v = (await h.ovs.vsctl('get', 'Interface', port, 'ofport')).stdout.trim();
    return Number(v) > 0 ? v : undefined;
  }, 10_000));

  return {
    name: spec.name,
    kind: spec.kind,
    host: h,
    netns: ns,
    ifaceId: spec.ifaceId,
    mac,
    port,
    ofport,
    vmUuid,
    ip: spec.ip?.split('/')[0],
    cidr: spec.ip,
  };
}

/** ovs-vsctl string atom (RFC 7047 JSON-ish quoting). */
function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
