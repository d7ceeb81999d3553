/**
 * A synthetic model for `scale` (SPEC §12), in memory: networks with one /24
 * subnet each, endpoints spread so that every network is present on a bounded
 * number of hosts (`hostsPerNetwork`) and every host has the same number of
 * endpoints, and a binding per endpoint (installed, with the history a real
 * attach leaves). Records go through JSON like values loaded from etcd
 * (endpoints and bindings through their stored form and keys, as the model
 * cache decodes them: stored-form.ts), and are held in the same structures as the model cache (src/store/model-cache.ts): by
 * id, by network, and the per-network arrays the compiler reads.
 */
import type { HostContext, Snapshot } from '../src/compiler/snapshot';
import { Keys } from '../src/store/keys';
import type { Binding, Endpoint, Network, Subnet } from '../src/store/model';
import { decodeBinding, decodeEndpoint, encodeBinding, encodeEndpoint } from '../src/store/stored-form';

export interface Shape {
  readonly hosts: number;
  readonly endpoints: number;
  readonly networks: number;
  /** Hosts each network is present on (clamped to `hosts`). */
  readonly hostsPerNetwork: number;
}

export interface ScaleModel {
  readonly snapshot: Snapshot;
  /** Networks present on each host (by host index). */
  readonly networksOfHost: readonly string[][];
  /** Endpoints of a network with the host each is bound on. */
  readonly placement: ReadonlyMap<string, readonly { endpoint: string; host: string }[]>;
  /** The other structures a member's model cache keeps (counted in memory figures). */
  readonly extra: { endpointById: Map<string, Endpoint>; endpointMaps: Map<string, Map<string, Endpoint>> };
}

const AT = '2026-01-01T00:00:00.000Z';

/** A UUID-shaped id (36 characters, like the generated ones) that says what it is. */
function uuidOf(kind: number, i: number): string {
  const hex = i.toString(16).padStart(12, '0');
  return `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${hex}`;
}

export const hostName = (i: number): string => `host-${i}`;

function fromJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const KEYS = new Keys('/plexus/');

/** An endpoint as the model cache has it: decoded from its key and stored value. */
function fromStoredEndpoint(e: Endpoint): Endpoint {
  const { network, id } = KEYS.endpointKeyOf(KEYS.endpoint(e.network, e.id));
  return decodeEndpoint(network, id, encodeEndpoint(e));
}

function fromStoredBinding(b: Binding): Binding {
  return decodeBinding(KEYS.bindingOf(KEYS.binding(b.endpoint)), encodeBinding(b));
}

export function buildModel(shape: Shape): ScaleModel {
  const { hosts, endpoints, networks } = shape;
  if (networks < 1 || networks > 65_536) throw new Error(`networks must be 1..65536 (one /24 each in 10.0.0.0/8), got ${networks}`);
  const k = Math.max(1, Math.min(shape.hostsPerNetwork, hosts));
  const perNetwork = Math.ceil(endpoints / networks);
  if (perNetwork > 250) throw new Error(`${perNetwork} endpoints per network do not fit a /24: use more --networks`);

  const networkMap = new Map<string, Network>();
  const subnetsByNetwork = new Map<string, readonly Subnet[]>();
  const endpointsByNetwork = new Map<string, readonly Endpoint[]>();
  const bindings = new Map<string, Binding>();
  const endpointById = new Map<string, Endpoint>();
  const endpointMaps = new Map<string, Map<string, Endpoint>>();
  const networksOfHost: string[][] = Array.from({ length: hosts }, () => []);
  const placement = new Map<string, { endpoint: string; host: string }[]>();
  const nextOfport = new Array<number>(hosts).fill(1);

  let made = 0;
  for (let n = 0; n < networks && made < endpoints; n++) {
    const id = uuidOf(1, n);
    const net: Network = { id, name: `net-${n}`, tenant: 'default', vni: n + 1, mtu: 1450, createdAt: AT, updatedAt: AT };
    networkMap.set(id, fromJson(net));
    const prefix = `10.${(n >> 8) & 255}.${n & 255}`;
    const subnet: Subnet = {
      id: uuidOf(2, n),
      network: id,
      cidr: `${prefix}.0/24`,
      ipVersion: 4,
      gateway: `${prefix}.1`,
      allocationPools: [{ start: `${prefix}.2`, end: `${prefix}.254` }],
      dhcp: true,
      dnsServers: [],
      routes: [],
      createdAt: AT,
      updatedAt: AT,
    };
    subnetsByNetwork.set(id, [fromJson(subnet)]);
    // Consecutive windows of k hosts, so every host carries the same number of networks.
    const hostIdx = Array.from({ length: k }, (_, t) => (n * k + t) % hosts);
    for (const h of hostIdx) networksOfHost[h]!.push(id);
    const eps: Endpoint[] = [];
    const byId = new Map<string, Endpoint>();
    const placed: { endpoint: string; host: string }[] = [];
    for (let j = 0; j < perNetwork && made < endpoints; j++, made++) {
      const epId = uuidOf(3, made);
      const mac = `02:${[made >> 24, made >> 16, made >> 8, made].map((x) => (x & 255).toString(16).padStart(2, '0')).join(':')}:01`;
      const ep = fromStoredEndpoint({
        id: epId,
        name: `ep-${made}`,
        network: id,
        mac,
        ips: [`${prefix}.${j + 2}`],
        kind: 'container',
        labels: {},
        securityGroups: [],
        createdAt: AT,
        updatedAt: AT,
      });
      eps.push(ep);
      byId.set(epId, ep);
      endpointById.set(epId, ep);
      const h = hostIdx[j % k]!;
      const host = hostName(h);
      const ofport = nextOfport[h]!++;
      bindings.set(
        epId,
        fromStoredBinding({
          endpoint: epId,
          host,
          ofport,
          ifaceName: `veth${made.toString(16)}`,
          status: 'installed',
          history: [
            { status: 'bound', at: AT, host },
            { status: 'installed', at: AT, host },
          ],
          updatedAt: AT,
        }),
      );
      placed.push({ endpoint: epId, host });
    }
    endpointsByNetwork.set(id, eps);
    endpointMaps.set(id, byId);
    placement.set(id, placed);
  }
  return {
    snapshot: { networks: networkMap, subnetsByNetwork, endpointsByNetwork, bindings },
    networksOfHost,
    placement,
    extra: { endpointById, endpointMaps },
  };
}

/** A host's context as its master has it: one flow-based VXLAN port, and every host's encap IP. */
export function hostContext(hosts: number, i: number): HostContext {
  const encapIps = new Map<string, string>();
  for (let p = 0; p < hosts; p++) encapIps.set(hostName(p), `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}`);
  return { id: hostName(i), tunnelPort: 10_000, encapIps };
}
