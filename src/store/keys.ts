/**
 * Every etcd key Plexus uses, in one place (SPEC §3, §12): per-resource prefixes
 * so members watch exactly what they need; no key holds a list that grows with
 * the fleet. Values are JSON records (see model.ts) unless noted.
 *
 *   <prefix>tenants/<tenant-id>                    Tenant
 *   <prefix>networks/<network-id>                  Network
 *   <prefix>network-names/<tenant>/<name>          network id (string): names unique per tenant
 *   <prefix>vnis/<vni>                             network id (string): VNIs unique
 *   <prefix>subnets/<network-id>/<subnet-id>       Subnet
 *   <prefix>endpoints/<network-id>/<endpoint-id>   Endpoint (intent: what the API was told), short form (stored-form.ts)
 *   <prefix>endpoint-networks/<endpoint-id>        network id (string): find an endpoint by id alone
 *   <prefix>endpoint-names/<tenant>/<name>         endpoint id (string): names unique per tenant (endpoint-names.ts)
 *   <prefix>endpoint-names-indexed                 time (string) the names of endpoints written before the index were
 *                                                  indexed: present once every named endpoint has its key
 *   <prefix>ips/<subnet-id>/<ip>                   one owner per address (IPAM): '' for an endpoint (its record says
 *                                                  which; the previous version wrote its id), router:<id>, fip:<id>
 *   <prefix>ipam-cursors/<subnet-id>               address (string): the last one the subnet handed out
 *                                                  (where next-fit allocation resumes; a hint, see endpoint-store.ts)
 *   <prefix>macs/<mac>                             endpoint id (string): one owner per MAC
 *   <prefix>bindings/<endpoint-id>                 Binding (observed: where it is attached, status), short form (stored-form.ts)
 *   <prefix>hosts/<host-id>                        HostRecord
 *   <prefix>members/<member-id>                    MemberRecord (under the member's lease)
 *   <prefix>masters/<host-id>                      {member} master of the host's datapath (under its lease);
 *                                                  the key's mod revision is the OpenFlow role generation id
 *   <prefix>routers/<router-id>                    Router
 *   <prefix>router-names/<tenant>/<name>           router id (string): names unique per tenant
 *   <prefix>router-subnets/<subnet-id>             router id (string): a subnet is on one router at most
 *   <prefix>security-groups/<group-id>             SecurityGroup (rules inside the record)
 *   <prefix>security-group-names/<tenant>/<name>   group id (string): names unique per tenant
 *   <prefix>qos-policies/<policy-id>               QosPolicy
 *   <prefix>qos-policy-names/<tenant>/<name>       policy id (string): names unique per tenant
 *   <prefix>mac-bindings/<network-id>/<ip>         MacBinding: a neighbour learned on an external network (cf. OVN MAC_Binding)
 *   <prefix>stored-form                            version (string) of the stored form every member reads: present once
 *                                                  endpoints and bindings may be written short (stored-form-gate.ts)
 *   <prefix>probe                                  never written: read to learn the store revision, or
 *                                                  whether etcd answers at all
 *
 * Keys read back from etcd are taken apart here too (the `…Of` methods).
 */
export class Keys {
  constructor(readonly prefix: string) {}

  tenants(): string {
    return `${this.prefix}tenants/`;
  }
  tenant(id: string): string {
    return `${this.tenants()}${id}`;
  }
  networks(): string {
    return `${this.prefix}networks/`;
  }
  network(id: string): string {
    return `${this.networks()}${id}`;
  }
  /** Every network name, or those of one tenant. */
  networkNames(tenant?: string): string {
    return tenant === undefined ? `${this.prefix}network-names/` : `${this.prefix}network-names/${tenant}/`;
  }
  networkName(tenant: string, name: string): string {
    return `${this.prefix}network-names/${tenant}/${name}`;
  }
  vni(vni: number): string {
    return `${this.prefix}vnis/${vni}`;
  }
  subnets(network?: string): string {
    return network === undefined ? `${this.prefix}subnets/` : `${this.prefix}subnets/${network}/`;
  }
  subnet(network: string, id: string): string {
    return `${this.subnets(network)}${id}`;
  }
  endpoints(network?: string): string {
    return network === undefined ? `${this.prefix}endpoints/` : `${this.prefix}endpoints/${network}/`;
  }
  endpoint(network: string, id: string): string {
    return `${this.endpoints(network)}${id}`;
  }
  endpointNetwork(id: string): string {
    return `${this.prefix}endpoint-networks/${id}`;
  }
  /** Every endpoint name, or those of one tenant. */
  endpointNames(tenant?: string): string {
    return tenant === undefined ? `${this.prefix}endpoint-names/` : `${this.prefix}endpoint-names/${tenant}/`;
  }
  endpointName(tenant: string, name: string): string {
    return `${this.endpointNames(tenant)}${name}`;
  }
  endpointNamesIndexed(): string {
    return `${this.prefix}endpoint-names-indexed`;
  }
  ips(subnet: string): string {
    return `${this.prefix}ips/${subnet}/`;
  }
  ip(subnet: string, ip: string): string {
    return `${this.ips(subnet)}${ip}`;
  }
  ipamCursor(subnet: string): string {
    return `${this.prefix}ipam-cursors/${subnet}`;
  }
  mac(mac: string): string {
    return `${this.prefix}macs/${mac}`;
  }
  bindings(): string {
    return `${this.prefix}bindings/`;
  }
  binding(endpointId: string): string {
    return `${this.bindings()}${endpointId}`;
  }
  hosts(): string {
    return `${this.prefix}hosts/`;
  }
  host(id: string): string {
    return `${this.hosts()}${id}`;
  }
  members(): string {
    return `${this.prefix}members/`;
  }
  member(id: string): string {
    return `${this.members()}${id}`;
  }
  masters(): string {
    return `${this.prefix}masters/`;
  }
  master(hostId: string): string {
    return `${this.masters()}${hostId}`;
  }
  securityGroups(): string {
    return `${this.prefix}security-groups/`;
  }
  securityGroup(id: string): string {
    return `${this.securityGroups()}${id}`;
  }
  securityGroupName(tenant: string, name: string): string {
    return `${this.prefix}security-group-names/${tenant}/${name}`;
  }
  qosPolicies(): string {
    return `${this.prefix}qos-policies/`;
  }
  qosPolicy(id: string): string {
    return `${this.qosPolicies()}${id}`;
  }
  qosPolicyName(tenant: string, name: string): string {
    return `${this.prefix}qos-policy-names/${tenant}/${name}`;
  }
  storedForm(): string {
    return `${this.prefix}stored-form`;
  }
  probe(): string {
    return `${this.prefix}probe`;
  }

  // Routing (routers, their names and the subnets they hold).
  routers(): string {
    return `${this.prefix}routers/`;
  }
  router(id: string): string {
    return `${this.routers()}${id}`;
  }
  routerName(tenant: string, name: string): string {
    return `${this.prefix}router-names/${tenant}/${name}`;
  }
  routerSubnet(subnet: string): string {
    return `${this.prefix}router-subnets/${subnet}`;
  }

  // External networks: floating IPs (their addresses are claimed under ips/<subnet>/<ip> as fip:<id>).
  floatingIps(): string {
    return `${this.prefix}floating-ips/`;
  }
  floatingIp(id: string): string {
    return `${this.floatingIps()}${id}`;
  }

  // External networks: neighbours learned from ARP replies on a patch port.
  macBindings(): string {
    return `${this.prefix}mac-bindings/`;
  }
  macBinding(network: string, ip: string): string {
    return `${this.macBindings()}${network}/${ip}`;
  }

  /** The host of a masters/<host-id> key. */
  hostOfMaster(key: string): string {
    return key.slice(this.masters().length);
  }
  /** Tenant and name of a network-names/<tenant>/<name> key. */
  networkNameOf(key: string): { readonly tenant: string; readonly name: string } {
    const [tenant, name] = splitOnce(key.slice(this.networkNames().length));
    return { tenant, name };
  }
  /** Network and subnet id of a subnets/<network-id>/<subnet-id> key. */
  subnetOf(key: string): { readonly network: string; readonly id: string } {
    const [network, id] = splitOnce(key.slice(this.subnets().length));
    return { network, id };
  }
  /** Network and endpoint id of an endpoints/<network-id>/<endpoint-id> key. */
  endpointKeyOf(key: string): { readonly network: string; readonly id: string } {
    const [network, id] = splitOnce(key.slice(this.endpoints().length));
    return { network, id };
  }
  /** Endpoint id of a bindings/<endpoint-id> key. */
  bindingOf(key: string): string {
    return key.slice(this.bindings().length);
  }
  /** Endpoint id of an endpoints/<network-id>/<endpoint-id> key. */
  endpointOf(key: string): string {
    return splitOnce(key.slice(this.endpoints().length))[1];
  }
  /** Address of an ips/<subnet-id>/<ip> key. */
  ipOf(key: string): string {
    return key.slice(key.lastIndexOf('/') + 1);
  }
}

function splitOnce(rest: string): [string, string] {
  const slash = rest.indexOf('/');
  return slash < 0 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash + 1)];
}
