/**
 * L2 forwarding in one network (SPEC §4 table 50) and the tunnel side of
 * classification: a known local MAC goes to its port (via ingress policy and
 * output); a known remote MAC goes out of the one flow-based VXLAN port with
 * tun_id = VNI and tun_dst = its host's encap IP;
 * broadcast and multicast reach the local ports and, unless they came from a
 * tunnel (split horizon), the hosts that have ports in this network — no others.
 */
import type { Action } from '../../protocols/openflow/actions';
import { cookie, FEATURE } from '../pipeline/cookies';
import { FLAG, m, MULTICAST_BIT, REG, setField } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { CLASSIFY, INGRESS_POLICY, L2 } from '../pipeline/tables';
import type { Network } from '../store/model';
import { tunnelActionsTo, type HostContext, type Placed } from './snapshot';

const notFromTunnel = m(REG.FLAGS, 0, FLAG.FROM_TUNNEL);
const fromTunnel = m(REG.FLAGS, FLAG.FROM_TUNNEL, FLAG.FROM_TUNNEL);
const multicast = m('eth_dst', MULTICAST_BIT.value, MULTICAST_BIT.mask);

/** The L2 flow of one endpoint as seen from `host`: to its local port, or over the tunnel to its host. */
export function compileL2Endpoint(network: Network, host: HostContext, p: Placed): Flow[] {
  const c = cookie(FEATURE.L2, p.endpoint.id);
  const vni = m(REG.NETWORK, network.vni);
  const dst = m('eth_dst', p.endpoint.mac);
  if (p.host === host.id) {
    return [buildFlow(L2, 'endpoint-mac', [vni, dst], applyThenGoto([setField(REG.OUT_PORT, p.ofport)], INGRESS_POLICY), c)];
  }
  const toHost = tunnelActionsTo(host, p.host);
  if (toHost === undefined) return []; // the host's tunnel port or the peer's encap IP is not known yet
  return [buildFlow(L2, 'endpoint-mac', [vni, notFromTunnel, dst], applyThenGoto([setTunnel(network), ...toHost]), c)];
}

/**
 * Per network on a host: what arrives from hosts routing into it
 * (`routedFrom`), classified by tun_src + tun_id, and flooding to local ports
 * and to the hosts present in it. (Each host present in it gets its own
 * classify partition: compileL2Tunnel.)
 */
export function compileL2Network(network: Network, host: HostContext, placed: readonly Placed[], routedFrom: ReadonlySet<string> = new Set()): Flow[] {
  const localPorts = new Set<number>();
  const remoteHosts = new Set<string>();
  for (const p of placed) {
    if (p.host === host.id) localPorts.add(p.ofport);
    else remoteHosts.add(p.host);
  }
  return compileL2Flooding(network, host, localPorts, remoteHosts, routedFrom);
}

/**
 * The same from the network's ports on this host and the other hosts it is
 * present on (the model cache's network ⇄ hosts index gives both without
 * walking the network's endpoints).
 */
export function compileL2Flooding(network: Network, host: HostContext, localPorts: Iterable<number>, remoteHosts: Iterable<string>, routedFrom: ReadonlySet<string> = new Set()): Flow[] {
  const vni = m(REG.NETWORK, network.vni);
  const netCookie = cookie(FEATURE.NETWORK, network.id);
  const remotes = new Set<string>();
  for (const peer of remoteHosts) if (peer !== host.id) remotes.add(peer);
  const toLocal: Action[] = [...new Set(localPorts)].sort((a, b) => a - b).map((port) => ({ type: 'output', port }));
  const toRemote: Action[] = [];
  const classify: Flow[] = [];
  for (const peer of [...remotes].sort()) {
    const toHost = tunnelActionsTo(host, peer);
    if (toHost) toRemote.push(...toHost);
  }
  // Hosts that route into this network (a peer network of one of its routers is present there) send with its VNI too.
  // (What comes from the hosts the network is present on is classified by their own partitions: compileL2Tunnel.)
  for (const peer of [...routedFrom].sort()) {
    const ip = host.encapIps.get(peer);
    if (peer !== host.id && !remotes.has(peer) && ip !== undefined) classify.push(classifyFrom(network, ip));
  }
  return [
    ...classify,
    buildFlow(L2, 'flood-local', [vni, notFromTunnel, multicast], applyThenGoto([...toLocal, ...(toRemote.length ? [setTunnel(network), ...toRemote] : [])]), netCookie),
    buildFlow(L2, 'flood-from-tunnel', [vni, fromTunnel, multicast], applyThenGoto(toLocal), netCookie),
  ];
}

/**
 * What arrives from `peer` (another host the network is present on) with the
 * network's VNI: classified into the network. The same flow on every host, so
 * a host joining the network adds one such flow per host, not a rebuilt list.
 */
export function compileL2Tunnel(network: Network, host: HostContext, peer: string): Flow[] {
  const ip = host.encapIps.get(peer);
  return peer === host.id || ip === undefined ? [] : [classifyFrom(network, ip)];
}

function classifyFrom(network: Network, ip: string): Flow {
  const fromTunnelActions = applyThenGoto([setField(REG.NETWORK, network.vni), setField(REG.FLAGS, FLAG.FROM_TUNNEL)], L2);
  return buildFlow(CLASSIFY, 'tunnel', [m('tun_src', ip), m('tun_id', BigInt(network.vni))], fromTunnelActions, cookie(FEATURE.NETWORK, network.id));
}

function setTunnel(network: Network): Action {
  return setField('tun_id', BigInt(network.vni));
}
