/**
 * The model as every member's cache holds it (store/model-cache.ts): plain
 * read-only maps, no I/O. The compiler compiles from it (compiler/snapshot.ts
 * names it `Snapshot`), packet-in handlers answer from it; neither fetches
 * anything itself.
 */
import type { Binding, Endpoint, FloatingIp, MacBinding, Network, QosPolicy, Router, SecurityGroup, Subnet } from './model';

export interface ModelView {
  readonly networks: ReadonlyMap<string, Network>;
  readonly subnetsByNetwork: ReadonlyMap<string, readonly Subnet[]>;
  readonly endpointsByNetwork: ReadonlyMap<string, readonly Endpoint[]>;
  readonly bindings: ReadonlyMap<string, Binding>;
  // Routing: routers by id, and the routers each network is on (absent: none).
  readonly routers?: ReadonlyMap<string, Router>;
  readonly routersByNetwork?: ReadonlyMap<string, readonly Router[]>;
  // External networks: floating IPs by id (absent: none).
  readonly floatingIps?: ReadonlyMap<string, FloatingIp>;
  /** Neighbours learned on external networks, by `<network>/<ip>` (absent: none). */
  readonly macBindings?: ReadonlyMap<string, MacBinding>;
  /** Security groups by id (absent: none; endpoints then keep the open behaviour). */
  readonly securityGroups?: ReadonlyMap<string, SecurityGroup>;
  /** QoS policies by id. */
  readonly qosPolicies?: ReadonlyMap<string, QosPolicy>;
  /**
   * The network ⇄ hosts index of placed endpoints, where the view keeps one
   * (the model cache does): whether an endpoint of the network is attached on
   * the host, and the ports they have there. Without it the compiler walks the
   * network's endpoints.
   */
  isOn?(networkId: string, hostId: string): boolean;
  hostsOf?(networkId: string): Iterable<string>;
  portsOn?(networkId: string, hostId: string): Iterable<number>;
}
