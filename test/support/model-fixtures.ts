/** Model records for compiler and reconciler tests, with fixed timestamps (compiles are pure). */
import type { Binding, Endpoint, Network, Subnet } from '../../src/store/model';

const T = '2026-01-01T00:00:00.000Z';

export const net = (id: string, vni: number): Network => ({ id, name: id, tenant: 'default', vni, mtu: 1450, createdAt: T, updatedAt: T });

export const subnet = (id: string, network: string, cidr: string, gateway: string): Subnet => ({
  id, network, cidr, ipVersion: 4, gateway, allocationPools: [], dhcp: true, dnsServers: [], routes: [], createdAt: T, updatedAt: T,
});

export const ep = (id: string, network: string, mac: string, ip: string): Endpoint => ({
  id, name: id, network, mac, ips: [ip], kind: 'container', labels: {}, securityGroups: [], createdAt: T, updatedAt: T,
});

export const bind = (endpoint: string, host: string, ofport: number): Binding => ({
  endpoint, host, ofport, ifaceName: null, status: 'bound', history: [], updatedAt: T,
});
