/**
 * The desired flows of several hosts, wired together by their tunnels, ready
 * for a packet walk across them (pipeline/flow-table-walk.ts): what the trace
 * API and the compiler's tests run packets through. Pure, like compileHost.
 */
import { indexFlows, tableFlowsOf, type FabricHost, type WalkPort } from '../pipeline/flow-table-walk';
import { compileHost } from './compile-host';
import type { HostContext, Snapshot } from './snapshot';

export interface FabricMember {
  readonly context: HostContext;
  /** The host's underlay address (its `plexus-encap-ip`). */
  readonly encapIp: string;
}

/** Every member's compiled flows, with its VXLAN port (remote_ip=flow) and any per-peer ports left from an earlier version. */
export function compileFabric(snapshot: Snapshot, members: readonly FabricMember[]): Map<string, FabricHost> {
  const out = new Map<string, FabricHost>();
  for (const { context, encapIp } of members) {
    const ports = new Map<number, WalkPort>();
    if (context.tunnelPort !== undefined) ports.set(context.tunnelPort, { kind: 'tunnel', name: 'plexus-vxlan', remoteIp: 'flow', localIp: encapIp });
    for (const [peer, port] of context.legacyTunnelPorts ?? []) {
      const remoteIp = context.encapIps.get(peer);
      if (remoteIp !== undefined) ports.set(port, { kind: 'tunnel', name: `tunnel to ${peer}`, remoteIp, localIp: encapIp });
    }
    const flows = indexFlows(tableFlowsOf([...compileHost(snapshot, context).values()].flat()));
    out.set(context.id, { id: context.id, encapIp, ports, flows });
  }
  return out;
}
