/**
 * External next hops (compiler/nat.ts): the neighbour a router's NATed packets
 * go to is the external subnet's gateway, whose MAC is learned from ARP, as
 * OVN learns MAC_Binding:
 *
 *   43 external-out, MAC unknown ──packet_in (reg2 = patch port)──▶ answerNextHopMiss
 *        ──▶ ARP request from the router's external MAC and the packet's (NATed) source,
 *            out the patch port
 *   20 arp-nd-dhcp, the next hop's ARP reply ──packet_in──▶ learnedNeighborOf
 *        ──▶ MacBinding, written to etcd by the overlay (store/mac-bindings.ts) when new;
 *            the model cache recompiles the routers using that network
 *
 * Both are pure: the packet-in and the model in, messages or a binding out.
 * The packet that missed is dropped (its sender retransmits), as in OVN.
 */
import { OFPP } from '../../protocols/openflow/constants';
import type { Decoded, PacketIn } from '../../protocols/openflow/messages';
import { ARP_OP, encodeArp } from '../../protocols/packet/arp';
import { encodeEthernet } from '../../protocols/packet/ethernet';
import { decodePacket } from '../../protocols/packet/packet';
import { macBindingKey } from '../compiler/nat';
import { FEATURE } from '../pipeline/cookies';
import { ARP_ND, EXTERNAL_OUT } from '../pipeline/tables';
import { cidrContains } from '../store/ipam';
import type { MacBinding, Network } from '../store/model';
import type { ModelView } from '../store/model-view';
import type { PacketInHandler } from './packet-in';

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function regOf(message: Decoded<PacketIn>, reg: string): number | undefined {
  const v = message.match.find((f) => f.field === reg)?.value;
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

function externalByVni(model: ModelView, vni: number | undefined): Network | undefined {
  if (vni === undefined) return undefined;
  for (const n of model.networks.values()) if (n.external && n.vni === vni) return n;
  return undefined;
}

/** The gateway of the external subnet holding `ip` (the next hop of what is NATed to it). */
function nextHopFor(model: ModelView, network: string, ip: string): string | undefined {
  return model.subnetsByNetwork.get(network)?.find((s) => s.ipVersion === 4 && cidrContains(s.cidr, ip))?.gateway ?? undefined;
}

/** A NATed packet found no next-hop MAC: ask for it with an ARP request out the patch port (reg2). */
export const answerNextHopMiss: PacketInHandler = ({ message, packet, model }) => {
  if (message.tableId !== EXTERNAL_OUT.id) return undefined;
  const port = regOf(message, 'reg2');
  const network = externalByVni(model, regOf(message, 'reg0'));
  const source = packet.ipv4?.src;
  const hop = network && source ? nextHopFor(model, network.id, source) : undefined;
  if (port === undefined || !hop || !source) return [];
  const arp = encodeArp({ op: ARP_OP.REQUEST, senderMac: packet.eth.src, senderIp: source, targetMac: '00:00:00:00:00:00', targetIp: hop });
  const frame = encodeEthernet({ dst: BROADCAST, src: packet.eth.src, etherType: 0x0806 }, arp);
  return [{ type: 'packet_out', inPort: OFPP.CONTROLLER, actions: [{ type: 'output', port }], data: frame }];
};

/** The binding an external next hop's ARP reply (punted by compiler/nat.ts) teaches, or undefined; `now` is asked only for a binding. */
export function learnedNeighborOf(message: Decoded<PacketIn>, model: ModelView, hostId: string, now: () => string): MacBinding | undefined {
  if (message.tableId !== ARP_ND.id || Number((message.cookie ?? 0n) >> 56n) !== FEATURE.EXTERNAL) return undefined;
  const network = externalByVni(model, regOf(message, 'reg0'));
  let arp;
  try {
    arp = decodePacket(message.data).arp;
  } catch {
    return undefined;
  }
  if (!network || !arp || arp.op !== ARP_OP.REPLY || /^(00:00:00:00:00:00|ff:ff:ff:ff:ff:ff)$/.test(arp.senderMac)) return undefined;
  if (!(model.subnetsByNetwork.get(network.id) ?? []).some((s) => s.gateway === arp.senderIp)) return undefined;
  return { network: network.id, ip: arp.senderIp, mac: arp.senderMac, host: hostId, updatedAt: now() };
}

/** What the model holds for a binding's address. */
export const knownNeighbor = (model: ModelView, b: MacBinding): MacBinding | undefined => model.macBindings?.get(macBindingKey(b.network, b.ip));
