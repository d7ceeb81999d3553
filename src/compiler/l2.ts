/**
 * L2 forwarding in one network (SPEC §4 table 50) and the tunnel side of
 * classification: a known local MAC goes to its port (via ingress policy and
 * output); a known remote MAC goes into its host's tunnel with tun_id = VNI;
 * broadcast and multicast reach the local ports and, unless they came from a
 * tunnel (split horizon), the hosts that have ports in this network — no others.
 */
import type { Action } from '../../protocols/openflow/actions';
import { cookie, FEATURE } from '../pipeline/cookies';
import { FLAG, MULTICAST_BIT, REG } from '../pipeline/fields';
import { applyThenGoto, buildFlow, m, type Flow } from '../pipeline/flow';
import { CLASSIFY, INGRESS_POLICY, L2 } from '../pipeline/tables';
import type { Network } from '../store/model';
import type { HostContext, Placed } from './snapshot';

const notFromTunnel = m(REG.FLAGS, 0, FLAG.FROM_TUNNEL);
const fromTunnel = m(REG.FLAGS, FLAG.FROM_TUNNEL, FLAG.FROM_TUNNEL);

export function compileL2(network: Network, host: HostContext, placed: readonly Placed[]): Flow[] {
  const vni = m(REG.NETWORK, network.vni);
  const setTunnel: Action = { type: 'set_field', field: 'tun_id', value: BigInt(network.vni) };
  const netCookie = cookie(FEATURE.NETWORK, network.id);
  const flows: Flow[] = [
    buildFlow(
      CLASSIFY,
      90,
      [m('tun_id', BigInt(network.vni))],
      applyThenGoto(
        [
          { type: 'set_field', field: REG.NETWORK, value: network.vni },
          { type: 'set_field', field: REG.FLAGS, value: FLAG.FROM_TUNNEL },
        ],
        L2,
      ),
      netCookie,
    ),
  ];

  const localPorts: number[] = [];
  const remoteHosts = new Set<string>();
  for (const p of placed) {
    const c = cookie(FEATURE.L2, p.endpoint.id);
    const dst = m('eth_dst', p.endpoint.mac);
    if (p.host === host.id) {
      localPorts.push(p.ofport);
      flows.push(buildFlow(L2, 100, [vni, dst], applyThenGoto([{ type: 'set_field', field: REG.OUT_PORT, value: p.ofport }], INGRESS_POLICY), c));
      continue;
    }
    const tunnel = host.tunnelPorts.get(p.host);
    if (tunnel === undefined) continue; // no tunnel to that host yet: the host manager is creating it
    remoteHosts.add(p.host);
    flows.push(buildFlow(L2, 100, [vni, notFromTunnel, dst], applyThenGoto([setTunnel, { type: 'output', port: tunnel }]), c));
  }

  const toLocal: Action[] = [...new Set(localPorts)].sort((a, b) => a - b).map((port) => ({ type: 'output', port }));
  const toRemote: Action[] = [...remoteHosts]
    .sort()
    .map((h) => ({ type: 'output' as const, port: host.tunnelPorts.get(h)! }));
  const multicast = m('eth_dst', MULTICAST_BIT.value, MULTICAST_BIT.mask);
  flows.push(
    buildFlow(L2, 50, [vni, notFromTunnel, multicast], applyThenGoto([...toLocal, ...(toRemote.length ? [setTunnel, ...toRemote] : [])]), netCookie),
    buildFlow(L2, 60, [vni, fromTunnel, multicast], applyThenGoto(toLocal), netCookie),
  );
  return flows;
}
