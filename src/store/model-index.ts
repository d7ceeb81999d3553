/**
 * The model cache's maps and the reads the compiler makes of them (the
 * ModelView of model-view.ts): networks, subnets, endpoints, bindings, groups,
 * QoS, routers, floating IPs, learned neighbours, and the network ⇄ hosts
 * index. Kept current by model-cache.ts (loads, watches, batches).
 */
import { EventEmitter } from 'node:events';
import type { ModelCacheEvents } from './model-cache';
import type { Binding, Endpoint, FloatingIp, MacBinding, Network, QosPolicy, Router, SecurityGroup, Subnet } from './model';
import type { ModelView } from './model-view';
import { PlacementIndex } from './placement-index';

export class ModelIndex extends EventEmitter<ModelCacheEvents> implements ModelView {
  readonly networks = new Map<string, Network>();
  readonly bindings = new Map<string, Binding>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly qosPolicies = new Map<string, QosPolicy>();
  protected readonly subnets = new Map<string, Map<string, Subnet>>();
  protected readonly endpoints = new Map<string, Map<string, Endpoint>>();
  protected readonly endpointById = new Map<string, Endpoint>();
  protected readonly subnetArrays = new Map<string, readonly Subnet[]>();
  protected readonly endpointArrays = new Map<string, readonly Endpoint[]>();
  /** Where each placed endpoint is (host, network, port), and both ways: the network ⇄ hosts index. */
  protected readonly placements = new PlacementIndex();
  // Routing: routers and the routers of each network.
  readonly routers = new Map<string, Router>();
  readonly routersByNetwork = new Map<string, readonly Router[]>();
  // External networks: floating IPs; a change recompiles the routers of the endpoint's network.
  readonly floatingIps = new Map<string, FloatingIp>();
  // Neighbours learned on external networks (`<network>/<ip>`); a change recompiles the routers using that network.
  readonly macBindings = new Map<string, MacBinding>();

  readonly subnetsByNetwork: ReadonlyMap<string, readonly Subnet[]> = {
    get: (id: string) => this.arrayOf(this.subnets, this.subnetArrays, id),
  } as ReadonlyMap<string, readonly Subnet[]>;

  readonly endpointsByNetwork: ReadonlyMap<string, readonly Endpoint[]> = {
    get: (id: string) => this.arrayOf(this.endpoints, this.endpointArrays, id),
  } as ReadonlyMap<string, readonly Endpoint[]>;

  endpoint(id: string): Endpoint | undefined {
    return this.endpointById.get(id);
  }

  /** Hosts with at least one endpoint of the network attached (the network is present there). */
  hostsOf(networkId: string): Iterable<string> {
    return this.placements.hostsOf(networkId);
  }

  /** How many hosts the network is present on. */
  hostCountOf(networkId: string): number {
    return this.placements.hostCountOf(networkId);
  }

  /** Whether an endpoint of the network is attached on the host. */
  isOn(networkId: string, hostId: string): boolean {
    return this.placements.isOn(networkId, hostId);
  }

  /** OpenFlow ports of the network's endpoints attached on the host. */
  portsOn(networkId: string, hostId: string): Iterable<number> {
    return this.placements.portsOn(networkId, hostId);
  }

  /** Networks with at least one endpoint attached on the host. */
  networksOf(hostId: string): Iterable<string> {
    return this.placements.networksOf(hostId);
  }

  endpointCount(): number {
    return this.endpointById.size;
  }

  private arrayOf<T>(source: Map<string, Map<string, T>>, cache: Map<string, readonly T[]>, id: string): readonly T[] | undefined {
    let arr = cache.get(id);
    if (!arr) {
      const m = source.get(id);
      if (!m) return undefined;
      arr = [...m.values()];
      cache.set(id, arr);
    }
    return arr;
  }
}
