/**
 * The in-memory walk agrees with Open vSwitch: the compiled flows of one host
 * are installed on a real ovs-vswitchd (dummy datapath) and on the simulated
 * switch by the reconciler, and for each packet `ovs-appctl ofproto/trace`, the
 * simulated switch's trace and the walk over the compiler's own output must
 * name the same outputs (ports, tunnels, controller with the punting flow's
 * cookie), the same rewritten header fields and the same tun_id.
 */
import assert from 'node:assert/strict';
import type { OpenFlowConnection } from '../../../protocols/openflow/connection';
import { SimSwitch } from '../../../bench/sim/sim-switch';
import { compileHost } from '../../../src/compiler/compile-host';
import { silentLogger } from '../../../src/log';
import { indexFlows, tableFlowsOf, walkPacket, type PacketFields, type WalkPort, type WalkResult } from '../../../src/pipeline/flow-table-walk';
import { HostFlows } from '../../../src/reconciler/host-flows';
import { SwitchServer, type SwitchEvent } from '../../../src/southbound/switch-server';
import { arpRequest, BROADCAST, dhcpDiscover, ENCAP_IP, fabricMembers, fabricSnapshot, neighborSolicit, NIC, TUNNEL, udp4, VNI } from '../../support/fabric-fixtures';
import { startSwitch, traceActions, type SwitchFixture } from '../../support/switch-fixture';

/** h1 of the fabric fixture: ports p1 (a1), p2 (b1), p6 (a5); tunnels to h2 and h3. The fixture's tunnels use local_ip 127.1.0.1. */
const PORTS = { p1: NIC.a1.port, p2: NIC.b1.port, p6: NIC.a5.port };
const TUNNELS = { vxh2: { ofport: TUNNEL.h1.h2, remoteIp: ENCAP_IP.h2 }, vxh3: { ofport: TUNNEL.h1.h3, remoteIp: ENCAP_IP.h3 } };
const NAMES = new Map<number, string>([...Object.entries(PORTS), ...Object.entries(TUNNELS).map(([n, t]) => [n, t.ofport] as const)].map(([n, p]) => [p, n]));

const fromTunnel = (pkt: PacketFields, vni: number): PacketFields => ({ ...pkt, in_port: TUNNEL.h1.h2, tun_id: BigInt(vni), tun_src: ENCAP_IP.h2, tun_dst: '127.1.0.1' });
const bcast = { mac: BROADCAST, ip: '255.255.255.255' };

const PACKETS: [string, PacketFields][] = [
  ['local unicast', udp4(NIC.a1, NIC.a5)],
  ['remote unicast to h2', udp4(NIC.a1, NIC.a2)],
  ['remote unicast to h3', udp4(NIC.a1, NIC.a3)],
  ['broadcast in A', udp4(NIC.a1, bcast)],
  ['broadcast in B (not on h3)', udp4(NIC.b1, bcast)],
  ['multicast in A', udp4(NIC.a1, { mac: '01:00:5e:00:00:fb', ip: '224.0.0.251' })],
  ['ARP for a remote endpoint', arpRequest(NIC.a1, NIC.a2.ip)],
  ['ARP for a local endpoint', arpRequest(NIC.a1, NIC.a5.ip)],
  ['ARP for an unknown address', arpRequest(NIC.a1, '10.1.0.200')],
  ['ARP with a spoofed sender IP', arpRequest(NIC.a1, NIC.a2.ip, { arp_spa: '10.1.0.99' })],
  ['spoofed source MAC', udp4({ ...NIC.a1, mac: '02:00:00:00:99:99' }, NIC.a5)],
  ['spoofed source IP', udp4({ ...NIC.a1, ip: '10.1.0.99' }, NIC.a5)],
  ['DHCP DISCOVER', dhcpDiscover(NIC.a1)],
  ['DHCP DISCOVER where DHCP is off', dhcpDiscover(NIC.b1)],
  ['neighbor solicitation', neighborSolicit(NIC.b1, NIC.b1.ip6, NIC.b2.ip6)],
  ['duplicate address detection', neighborSolicit(NIC.b1, '::', NIC.b1.ip6)],
  ['IPv6 from a spoofed address', neighborSolicit(NIC.b1, '2001:db8:b::99', NIC.b2.ip6)],
  ['another network\'s MAC', udp4(NIC.a1, NIC.b1)],
  ['from a tunnel: broadcast', fromTunnel(udp4(NIC.a2, bcast), VNI.A)],
  ['from a tunnel: to a local endpoint', fromTunnel(udp4(NIC.a2, NIC.a1), VNI.A)],
  ['from a tunnel: to a remote endpoint (no hairpin)', fromTunnel(udp4(NIC.a2, NIC.a3), VNI.A)],
  ['from a tunnel: unknown VNI', fromTunnel(udp4(NIC.a2, NIC.a1), VNI.C)],
];

/** ofproto/trace flow syntax for a packet description (ovs-fields(7) names are accepted as they are). */
const traceFlow = (p: PacketFields): string => Object.entries(p).map(([k, v]) => `${k}=${String(v)}`).join(',');

const ARP_KEYS: Record<string, string> = { sip: 'arp_spa', tip: 'arp_tpa', op: 'arp_op', sha: 'arp_sha', tha: 'arp_tha' };

/** The datapath actions of a trace as outputs ("p1", "controller cookie=0x..") and the fields set before each. */
function readDatapathActions(actions: string): { outputs: string[]; sets: Record<string, string>[] } {
  const outputs: string[] = [];
  const sets: Record<string, string>[] = [];
  let pending: Record<string, string> = {};
  for (const part of actions === 'drop' ? [] : splitTopLevel(actions)) {
    const set = /^set\((eth|arp)\((.*)\)\)$/.exec(part);
    if (set) {
      for (const kv of set[2]!.split(',')) {
        const [k, v] = kv.split('=') as [string, string];
        pending[set[1] === 'eth' ? `eth_${k}` : ARP_KEYS[k] ?? k] = v;
      }
      continue;
    }
    const ctl = /rule_cookie=0x([0-9a-f]+)/.exec(part);
    outputs.push(ctl ? `controller cookie=0x${ctl[1]}` : part);
    sets.push(pending);
    pending = {};
  }
  return { outputs, sets };
}

/** Splits at the commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    cur += ch;
  }
  return [...parts, cur];
}

function describeWalk(r: WalkResult): string[] {
  return r.outputs.map((o) => (o.kind === 'controller' ? `controller cookie=0x${o.cookie.toString(16)}` : NAMES.get(o.port) ?? String(o.port)));
}

describe('flow-table walk vs. ofproto/trace on a real switch @slow', function () {
  this.timeout(120_000);
  let ovs: SwitchFixture;
  let server: SwitchServer;
  let sim: SimSwitch;
  const compiled = compileHost(fabricSnapshot(), fabricMembers()[0]!.context);
  const ports = new Map<number, WalkPort>(Object.values(TUNNELS).map((t) => [t.ofport, { kind: 'tunnel', remoteIp: t.remoteIp }]));
  const walked = { flows: indexFlows(tableFlowsOf([...compiled.values()].flat())), ports };

  before(async () => {
    ovs = await startSwitch({ ports: PORTS, tunnels: TUNNELS });
    server = new SwitchServer(silentLogger());
    const up = new Promise<OpenFlowConnection>((resolve) => server.on('switch', (e: SwitchEvent) => e.kind === 'up' && resolve(e.conn)));
    const port = await server.listen('127.0.0.1', 0);
    sim = new SimSwitch({
      datapathId: 0x77n,
      ports: [...Object.entries(PORTS).map(([name, portNo]) => ({ portNo, name })), ...Object.entries(TUNNELS).map(([name, t]) => ({ portNo: t.ofport, name, tunnel: { remoteIp: t.remoteIp } }))],
    });
    await sim.connect(port);
    const simConn = await up;
    for (const conn of [ovs.conn(), simConn]) {
      const flows = new HostFlows('h1', silentLogger());
      for (const [name, f] of compiled) flows.setPartition(name, f);
      flows.attach(conn);
      await flows.flushed();
    }
  });
  after(async () => {
    sim?.close();
    await server?.close();
    await ovs?.stop();
  });

  for (const [title, packet] of PACKETS) {
    it(title, async () => {
      const dp = readDatapathActions(await traceActions(ovs.host, traceFlow(packet)));
      const { stdout } = await ovs.host.appctl('ovs-vswitchd', 'ofproto/trace', 'br-int', traceFlow(packet));
      const ovsTunId = /Final flow: .*\btun_id=(0x[0-9a-f]+)/.exec(stdout)?.[1];
      for (const [who, r] of [['walk over the compiled flows', walkPacket(walked, packet)], ['simulated switch', sim.trace(packet)]] as const) {
        assert.deepEqual(describeWalk(r), dp.outputs, `${who}: ${r.reason}`);
        assert.equal(r.verdict, dp.outputs.length === 0 ? 'dropped' : dp.outputs.every((o) => o.startsWith('controller')) ? 'to-controller' : 'delivered', who);
        r.outputs.forEach((o, i) => {
          for (const [field, value] of Object.entries(dp.sets[i] ?? {})) assert.equal(String(o.packet[field]), value, `${who}: ${field} of output ${i}`);
          if (o.kind === 'tunnel') assert.equal(`0x${o.tunId.toString(16)}`, ovsTunId, `${who}: tun_id`);
        });
      }
    });
  }
});
