/**
 * The intent half of the model (SPEC §3) as the REST API sees it: one object
 * over the per-resource stores, each of which writes through the one
 * transaction helper (txn.ts), so that any number of members writing at once
 * never hand out one VNI, one address or one MAC twice and never lose an update.
 *
 *   tenant-store     tenants/<id>                     absent on create; no network-names/<tenant>/ on delete
 *   network-store    networks/, network-names/, vnis/ name and VNI absent, tenant present; no endpoints/ips on delete
 *   subnet-store     subnets/<network>/<id>           network present; none created since the overlap check
 *   endpoint-store   endpoints/, endpoint-networks/,  id, MAC, each address and the name absent; network and subnets
 *                    macs/, ips/<subnet>/<ip>,        present; a rename claims the new name and frees the old one
 *                    endpoint-names/<tenant>/<name>
 *   router-store     routers/, router-names/,         name absent; router-subnets/<subnet> absent, the subnet present
 *                    router-subnets/                  and a non-gateway address absent on add-interface
 *   every update/delete compares the record's mod revision (If-Match, or the one just read)
 */
import type { Etcd3 } from 'etcd3';
import type { Versioned } from './collection';
import { EndpointStore, type CreateEndpointInput, type EndpointDetail, type EndpointPatch } from './endpoint-store';
import type { Keys } from './keys';
import type { Binding, Endpoint, Network, Subnet, Tenant } from './model';
import { QosPolicyStore } from './qos-policy-store';
import { SecurityGroupStore } from './security-group-store';
import { NetworkStore, type CreateNetworkInput, type NetworkPatch } from './network-store';
import { SubnetStore, type CreateSubnetInput, type SubnetPatch } from './subnet-store';
import { TenantStore, type CreateTenantInput, type TenantPatch } from './tenant-store';
import { FloatingIpStore } from './floating-ip-store';
import { RouterStore } from './router-store';

/** The input types of the facade's methods (the API's request bodies). */
export type { CreateEndpointInput, CreateNetworkInput, CreateSubnetInput, CreateTenantInput, EndpointDetail, EndpointPatch, NetworkPatch, SubnetPatch, TenantPatch };

export class ModelStore {
  readonly tenants: TenantStore;
  readonly networks: NetworkStore;
  readonly subnets: SubnetStore;
  readonly endpoints: EndpointStore;
  /** Routers (router-store.ts); the routes call it directly. */
  readonly routers: RouterStore;
  /** Floating IPs (floating-ip-store.ts); the routes call it directly. */
  readonly floatingIps: FloatingIpStore;
  /** Security policy (SPEC §3): used by the API directly (api/security-groups.ts, api/qos-policies.ts). */
  readonly securityGroups: SecurityGroupStore;
  readonly qosPolicies: QosPolicyStore;

  constructor(client: Etcd3, keys: Keys) {
    const ctx = { client, keys };
    this.tenants = new TenantStore(ctx);
    this.networks = new NetworkStore(ctx);
    this.subnets = new SubnetStore(ctx);
    this.endpoints = new EndpointStore(ctx);
    this.routers = new RouterStore(ctx);
    this.floatingIps = new FloatingIpStore(ctx);
    this.securityGroups = new SecurityGroupStore(ctx);
    this.qosPolicies = new QosPolicyStore(ctx);
  }

  listTenants(): Promise<Versioned<Tenant>[]> {
    return this.tenants.list();
  }
  getTenant(id: string): Promise<Versioned<Tenant>> {
    return this.tenants.get(id);
  }
  createTenant(input: CreateTenantInput): Promise<Versioned<Tenant>> {
    return this.tenants.create(input);
  }
  updateTenant(id: string, patch: TenantPatch, ifMatch?: string): Promise<Versioned<Tenant>> {
    return this.tenants.update(id, patch, ifMatch);
  }
  deleteTenant(id: string, ifMatch?: string): Promise<void> {
    return this.tenants.delete(id, ifMatch);
  }

  listNetworks(filter: { tenant?: string } = {}): Promise<Versioned<Network>[]> {
    return this.networks.list(filter);
  }
  resolveNetwork(idOrName: string, tenant?: string): Promise<Versioned<Network>> {
    return this.networks.resolve(idOrName, tenant);
  }
  createNetwork(input: CreateNetworkInput): Promise<Versioned<Network>> {
    return this.networks.create(input);
  }
  updateNetwork(idOrName: string, patch: NetworkPatch, ifMatch?: string): Promise<Versioned<Network>> {
    return this.networks.update(idOrName, patch, ifMatch);
  }
  deleteNetwork(idOrName: string, ifMatch?: string): Promise<void> {
    return this.networks.delete(idOrName, ifMatch);
  }

  listSubnets(filter: { network?: string } = {}): Promise<Versioned<Subnet>[]> {
    return this.subnets.list(filter);
  }
  getSubnet(id: string): Promise<Versioned<Subnet>> {
    return this.subnets.get(id);
  }
  createSubnet(input: CreateSubnetInput): Promise<Versioned<Subnet>> {
    return this.subnets.create(input);
  }
  updateSubnet(id: string, patch: SubnetPatch, ifMatch?: string): Promise<Versioned<Subnet>> {
    return this.subnets.update(id, patch, ifMatch);
  }
  deleteSubnet(id: string, ifMatch?: string): Promise<void> {
    return this.subnets.delete(id, ifMatch);
  }

  listEndpoints(filter: { network?: string } = {}): Promise<Versioned<Endpoint>[]> {
    return this.endpoints.list(filter);
  }
  listBindings(): Promise<Map<string, Binding>> {
    return this.endpoints.listBindings();
  }
  getEndpoint(id: string): Promise<EndpointDetail> {
    return this.endpoints.get(id);
  }
  createEndpoint(input: CreateEndpointInput): Promise<Versioned<Endpoint>> {
    return this.endpoints.create(input);
  }
  updateEndpoint(id: string, patch: EndpointPatch, ifMatch?: string): Promise<Versioned<Endpoint>> {
    return this.endpoints.update(id, patch, ifMatch);
  }
  deleteEndpoint(id: string, ifMatch?: string): Promise<void> {
    return this.endpoints.delete(id, ifMatch);
  }
}
