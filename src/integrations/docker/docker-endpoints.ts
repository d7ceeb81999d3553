/**
 * The endpoint half of the libnetwork remote driver: CreateEndpoint creates the
 * Plexus endpoint (or claims the address IPAM reserved), Join plugs a veth into
 * br-int with `iface-id` and answers only once Plexus wrote `plexus-installed`;
 * Leave and DeleteEndpoint undo it.
 */
import { containsIp } from '../addresses';
import { addPort, createVeth, deleteLinkIfExists, deletePort, linkNamesFor, readDatapathType, waitForInstalled } from '../ovs-port';
import { createEndpoint as createPlexusEndpoint, deleteEndpoint as deletePlexusEndpoint, findEndpoint, getNetwork, listSubnets, patchEndpoint, type EndpointView } from '../plexus-api';
import type { DockerNetworks } from './docker-networks';
import type { DriverContext } from './driver-context';
import { reservedKey } from './driver-state';
import { DriverError, genericOptions, listOpt, OPTION, plexusCall, str, type Body } from './libnetwork';

export async function createEndpoint(ctx: DriverContext, networks: DockerNetworks, b: Body): Promise<Body> {
  const { api, state, log } = ctx;
  const dockerId = str(b['NetworkID']);
  const endpointId = str(b['EndpointID']);
  const net = await networks.resolveNetwork(dockerId);
  await networks.named(dockerId);
  const iface = (b['Interface'] ?? {}) as Record<string, string>;
  const ips = [iface['Address'], iface['AddressIPv6']].filter((a): a is string => !!a).map((a) => a.split('/')[0]!);
  const opts = genericOptions(b['Options']);
  const securityGroups = opts[OPTION.securityGroups] !== undefined ? listOpt(opts[OPTION.securityGroups]) : net.securityGroups;
  const qosPolicy = str(opts[OPTION.qosPolicy]) || net.qosPolicy;
  const labels = { 'docker.endpoint': endpointId.slice(0, 64), 'docker.network': dockerId.slice(0, 64) };
  const reservedKeys = ips.map((ip) => reservedKey(net.plexus, ip)).filter((k) => state.reserved[k]);
  let ep: EndpointView;
  if (reservedKeys.length > 0) {
    // The address came from our IPAM: that reservation is the endpoint.
    const id = state.reserved[reservedKeys[0]!]!;
    ep = await plexusCall('claim the reserved address', () => patchEndpoint(api, id, { name: `docker-${endpointId.slice(0, 12)}`, labels, securityGroups }));
    for (const k of reservedKeys) delete state.reserved[k];
    if (qosPolicy) log.warn('qos policy not applied', { endpoint: id, qosPolicy, reason: 'set at creation only; this address was reserved by IPAM first' });
  } else {
    ep = await plexusCall('create the endpoint', () => createPlexusEndpoint(api, {
      id: `docker-${endpointId.slice(0, 24)}`,
      network: net.plexus,
      name: `docker-${endpointId.slice(0, 12)}`,
      kind: 'container',
      labels,
      ...(ips.length ? { ips } : {}),
      ...(iface['MacAddress'] ? { mac: iface['MacAddress'].toLowerCase() } : {}),
      ...(securityGroups.length ? { securityGroups } : {}),
      ...(qosPolicy ? { qosPolicy } : {}),
    }));
  }
  state.endpoints[endpointId] = { network: dockerId, plexus: ep.id, mac: ep.mac };
  state.save();
  const out: Record<string, string> = {};
  if (!iface['MacAddress']) out['MacAddress'] = ep.mac;
  if (!iface['Address']) {
    const v4 = ep.ips.find((a) => !a.includes(':'));
    const pool = net.pools.find((p) => v4 && containsIp(p, v4));
    if (v4 && pool) out['Address'] = `${v4}/${pool.split('/')[1]}`;
  }
  return { Interface: out };
}

export async function endpointInfo(ctx: DriverContext, b: Body): Promise<Body> {
  const e = ctx.state.endpoints[str(b['EndpointID'])];
  if (!e) return { Value: {} };
  const ep = await findEndpoint(ctx.api, e.plexus).catch(() => undefined);
  return { Value: { 'plexus.endpoint': e.plexus, 'plexus.status': ep?.status ?? 'unknown', 'plexus.host': ep?.host ?? '' } };
}

export async function join(ctx: DriverContext, b: Body): Promise<Body> {
  const { api, ovs } = ctx;
  const endpointId = str(b['EndpointID']);
  const e = ctx.state.endpoints[endpointId];
  if (!e) throw new DriverError(`plexus-docker knows no endpoint ${endpointId.slice(0, 12)}`);
  const net = ctx.state.network(e.network);
  const [network, subnets] = await plexusCall('read the network', () => Promise.all([getNetwork(api, net.plexus), listSubnets(api, net.plexus)]));
  const names = linkNamesFor('pxd', endpointId);
  const datapath = await readDatapathType(ovs);
  await deletePort(ovs, names.host);
  await deleteLinkIfExists(names.host);
  await createVeth({ host: names.host, peer: names.peer, mtu: network.mtu, peerMac: e.mac, txOffloadOff: datapath === 'netdev' });
  try {
    const sandbox = str(b['SandboxKey']).split('/').pop() ?? '';
    await addPort(ovs, names.host, {
      'iface-id': e.plexus,
      'attached-mac': e.mac,
      'iface-status': 'active',
      container_id: sandbox || endpointId,
      container_iface: names.peer,
      'docker-endpoint': endpointId,
    });
    const waitedMs = await waitForInstalled(ovs, names.host, ctx.installTimeoutMs);
    ctx.log.info('endpoint installed', { endpoint: e.plexus, port: names.host, waitedMs });
  } catch (err) {
    await deletePort(ovs, names.host).catch(() => undefined);
    await deleteLinkIfExists(names.host);
    throw err;
  }
  const v4 = subnets.find((s) => s.ipVersion === 4 && s.gateway);
  const v6 = subnets.find((s) => s.ipVersion === 6 && s.gateway);
  const routes = subnets.flatMap((s) => s.routes.map((r) => ({ Destination: r.destination, RouteType: 0, NextHop: r.nexthop })));
  return {
    InterfaceName: { SrcName: names.peer, DstPrefix: 'eth' },
    ...(v4?.gateway ? { Gateway: v4.gateway } : {}),
    ...(v6?.gateway ? { GatewayIPv6: v6.gateway } : {}),
    ...(routes.length ? { StaticRoutes: routes } : {}),
    DisableGatewayService: true,
  };
}

export async function leave(ctx: DriverContext, b: Body): Promise<Body> {
  const names = linkNamesFor('pxd', str(b['EndpointID']));
  await deletePort(ctx.ovs, names.host);
  await deleteLinkIfExists(names.host);
  return {};
}

export async function deleteEndpoint(ctx: DriverContext, b: Body): Promise<Body> {
  const endpointId = str(b['EndpointID']);
  await leave(ctx, b);
  const e = ctx.state.endpoints[endpointId];
  if (e) {
    await plexusCall('delete the endpoint', () => deletePlexusEndpoint(ctx.api, e.plexus));
    delete ctx.state.endpoints[endpointId];
    ctx.state.save();
  }
  return {};
}
