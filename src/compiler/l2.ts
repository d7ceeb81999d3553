/**
 * L2 forwarding in one network (SPEC §4 table 50) and the tunnel side of
 * classification: a known local MAC goes to its port (via ingress policy and
 * output); a known remote MAC goes into its host's tunnel with tun_id = VNI;
 * broadcast and multicast reach the local ports and, unless they came from a
 * tunnel (split horizon), the hosts that have ports in this network — no others.
 */
import type { Action } from '../../protocols/openflow/actions';
import { cookie, FEATURE } from '../pipeline/cookies';
import { FLAG, m, MULTICAST_BIT, REG, setField } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { CLASSIFY, INGRESS_POLICY, L2 } from '../pipeline/tables';
import type { Network } from '../store/model';
import type { HostContext, Placed } from './snapshot';

const notFromTunnel = m(REG.FLAGS, 0, FLAG.FROM_TUNNEL);
const fromTunnel = m(REG.FLAGS, FLAG.FROM_TUNNEL, FLAG.FROM_TUNNEL);
const multicast = m('eth_dst', MULTICAST_BIT.value, MULTICAST_BIT.mask);

/** The L2 flow of one endpoint as seen from `host`: to its local port, or into its host's tunnel. */
export function compileL2Endpoint(network: Network, host: HostContext, p: Placed): Flow[] {
  const c = cookie(FEATURE.L2, p.endpoint.id);
  const vni = m(REG.NETWORK, network.vni);
  const dst = m('eth_dst', p.endpoint.mac);
  if (p.host === host.id) {
    return [buildFlow(L2, 'endpoint-mac', [vni, dst], applyThenGoto([setField(REG.OUT_PORT, p.ofport)], INGRESS_POLICY), c)];
  }
  const tunnel = host.tunnelPorts.get(p.host);
  if (tunnel === undefined) return []; // no tunnel to that host yet: the host manager is creating it
  return [buildFlow(L2, 'endpoint-mac', [vni, notFromTunnel, dst], applyThenGoto([setTunnel(network), { type: 'output', port: tunnel }]), c)];
}

/** Per network on a host: traffic from tunnels with its VNI, and flooding to local ports and the hosts present. */
export function compileL2Network(network: Network, host: HostContext, placed: readonly Placed[]): Flow[] {
  const vni = m(REG.NETWORK, network.vni);
  const netCookie = cookie(FEATURE.NETWORK, network.id);
  const localPorts = new Set<number>();
  const remoteHosts = new Set<string>();
  for (const p of placed) {
    if (p.host === host.id) localPorts.add(p.ofport);
    else if (host.tunnelPorts.has(p.host)) remoteHosts.add(p.host);
  }
  const toLocal: Action[] = [...localPorts].sort((a, b) => a - b).map((port) => ({ type: 'output', port }));
  const toRemote: Action[] = [...remoteHosts].sort().map((h) => ({ type: 'output' as const, port: host.tunnelPorts.get(h)! }));
  return [
    buildFlow(
      CLASSIFY,
      'tunnel',
      [m('tun_id', BigInt(network.vni))],
      applyThenGoto([setField(REG.NETWORK, network.vni), setField(REG.FLAGS, FLAG.FROM_TUNNEL)], L2),
      netCookie,
    ),
    buildFlow(L2, 'flood-local', [vni, notFromTunnel, multicast], applyThenGoto([...toLocal, ...(toRemote.length ? [setTunnel(network), ...toRemote] : [])]), netCookie),
    buildFlow(L2, 'flood-from-tunnel', [vni, fromTunnel, multicast], applyThenGoto(toLocal), netCookie),
  ];
}

function setTunnel(network: Network): Action {
  return setField('tun_id', BigInt(network.vni));
}
