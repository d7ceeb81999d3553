/**
 * Reply templates for the DHCP server (dhcp.ts): a client retransmits the same
 * DISCOVER or REQUEST, byte for byte, but for its transaction id, seconds
 * elapsed and (for some) the IP identification and checksums. None of those
 * change what `answerDhcp` says except the xid, which the reply copies. So the
 * first request of each shape from an endpoint is decoded and answered in full,
 * and the pair (request, reply) is kept; a later request whose bytes equal the
 * kept one outside those fields gets the kept reply with its xid and UDP
 * checksum patched in, without decoding anything (issue 17).
 *
 *   request bytes ──equal outside ┌ ip id ┐┌ ip csum ┐┌ udp csum ┐┌ xid secs ┐──▶ template hit
 *   reply         ──copy, write xid, udp checksum = ~(sum without xid + xid words)
 *
 * A template belongs to the model objects it was computed from (endpoint,
 * network, subnet and router lists: the model cache replaces them on every
 * change, never edits them), so a change to any of them retires it; at most
 * 1,024 endpoints keep theirs. The store
 * is a memo: `answerDhcpFast` returns exactly the bytes `answerDhcp` would
 * (test/src/overlay/dhcp-replies.test.ts checks this against the full path).
 */
import type { DecodedPacket } from '../../protocols/packet/packet';
import { computeInternetChecksum } from '../../protocols/packet/checksum';
import type { Endpoint, Network, Router, Subnet } from '../store/model';

/** The model a reply was computed from; compared by identity. */
export interface DhcpReplyModel {
  readonly network: Network;
  readonly endpoint: Endpoint;
  readonly subnets: readonly Subnet[];
  readonly routers: readonly Router[];
}

interface Template extends DhcpReplyModel {
  /** The request as received, masked ranges zeroed (a copy). */
  readonly request: Buffer;
  /** Offsets in `request` of the bytes that may differ: [start, end) pairs, ascending. */
  readonly masked: readonly number[];
  readonly reply: Buffer;
  readonly replyXidAt: number;
  readonly replyUdpChecksumAt: number;
  /** One's-complement sum of the reply's pseudo-header and UDP datagram with checksum and xid zeroed. */
  readonly replySumWithoutXid: number;
}

/** Shapes kept per endpoint: its DISCOVER and its REQUEST (~700 bytes each). */
const TEMPLATES_PER_ENDPOINT = 2;
const UDP_HEADER_LEN = 8;
const DHCP_XID_AT = 4;
/** xid(4) then secs(2): both may change between retransmissions. */
const DHCP_XID_SECS_LEN = 6;

/**
 * Endpoints with kept replies, oldest first; bounded so that memory does not
 * grow with the fleet (a kept pair is ~0.7 KB): an endpoint that has not asked
 * for a while is answered in full again the next time.
 */
const MAX_ENDPOINTS = 1024;
const templates = new Map<Endpoint, Template[]>();

function isSameModel(t: DhcpReplyModel, m: DhcpReplyModel): boolean {
  const sameRouters = t.routers === m.routers || (t.routers.length === 0 && m.routers.length === 0);
  return t.endpoint === m.endpoint && t.network === m.network && t.subnets === m.subnets && sameRouters;
}

/** Masked copies of requests are made here: one buffer reused, grown to the largest frame. */
let scratch = Buffer.alloc(512);

/** `frame` with the masked ranges zeroed, in the shared scratch buffer (valid until the next call). */
function masked(frame: Buffer, ranges: readonly number[]): Buffer {
  if (scratch.length < frame.length) scratch = Buffer.alloc(frame.length * 2);
  frame.copy(scratch);
  for (let i = 0; i < ranges.length; i += 2) for (let j = ranges[i]!; j < ranges[i + 1]!; j++) scratch[j] = 0;
  return scratch.subarray(0, frame.length);
}

/** True when `frame` equals the kept request outside the masked ranges (one copy, one memcmp). */
function matches(t: Template, frame: Buffer): boolean {
  return frame.length === t.request.length && masked(frame, t.masked).equals(t.request);
}

/** The kept reply to `frame` with its xid and checksum patched, or undefined when no template fits. */
export function answerDhcpFast(frame: Buffer, model: DhcpReplyModel): Buffer | undefined {
  const list = templates.get(model.endpoint);
  if (!list) return undefined;
  for (const t of list) {
    if (!isSameModel(t, model) || !matches(t, frame)) continue;
    const xidAt = t.masked[t.masked.length - 2]!;
    const hi = frame.readUInt16BE(xidAt);
    const lo = frame.readUInt16BE(xidAt + 2);
    const reply = Buffer.allocUnsafe(t.reply.length);
    t.reply.copy(reply);
    reply.writeUInt16BE(hi, t.replyXidAt);
    reply.writeUInt16BE(lo, t.replyXidAt + 2);
    let sum = t.replySumWithoutXid + hi + lo;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    // As encodeUdp: a computed 0 is sent as 0xffff (RFC 768).
    reply.writeUInt16BE(~sum & 0xffff || 0xffff, t.replyUdpChecksumAt);
    return reply;
  }
  return undefined;
}

/**
 * Keeps `reply` (the full answer to the decoded `request`) as the template for
 * requests of the same shape. Only untagged-or-tagged IPv4/UDP frames whose reply
 * is IPv4/UDP without options are kept; anything else is simply not memoized.
 */
export function keepDhcpReply(frame: Buffer, request: DecodedPacket, reply: Buffer, model: DhcpReplyModel): void {
  const ipv4 = request.ipv4;
  if (!ipv4 || !request.udp || !request.dhcp) return;
  const ipAt = 14 + 4 * (request.vlan?.length ?? 0);
  const udpAt = ipAt + ipv4.headerLengthBytes;
  const dhcpAt = udpAt + UDP_HEADER_LEN;
  if (frame.length < dhcpAt + DHCP_XID_AT + DHCP_XID_SECS_LEN) return;
  const maskedRanges = [ipAt + 4, ipAt + 6, ipAt + 10, ipAt + 12, udpAt + 6, udpAt + 8, dhcpAt + DHCP_XID_AT, dhcpAt + DHCP_XID_AT + DHCP_XID_SECS_LEN];
  // The reply: Ethernet (+ the request's VLAN tags), IPv4 without options, UDP, DHCP.
  const replyIpAt = ipAt;
  if (reply.length < replyIpAt + 20 || reply[replyIpAt] !== 0x45 || reply[replyIpAt + 9] !== 17) return;
  const replyUdpAt = replyIpAt + 20;
  const replyXidAt = replyUdpAt + UDP_HEADER_LEN + DHCP_XID_AT;
  const udpLength = reply.readUInt16BE(replyUdpAt + 4);
  if (replyXidAt + 4 > reply.length || replyUdpAt + udpLength !== reply.length) return;
  const datagram = Buffer.from(reply.subarray(replyUdpAt));
  datagram.writeUInt16BE(0, 6);
  datagram.writeUInt32BE(0, UDP_HEADER_LEN + DHCP_XID_AT);
  const pseudo = Buffer.alloc(12);
  reply.copy(pseudo, 0, replyIpAt + 12, replyIpAt + 20);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udpLength, 10);
  const replySumWithoutXid = ~computeInternetChecksum(pseudo, datagram) & 0xffff;
  const t: Template = {
    ...model, request: Buffer.from(masked(frame, maskedRanges)), masked: maskedRanges, reply: Buffer.from(reply), replyXidAt, replyUdpChecksumAt: replyUdpAt + 6, replySumWithoutXid,
  };
  const list = (templates.get(model.endpoint) ?? []).filter((x) => isSameModel(x, model));
  list.unshift(t);
  if (list.length > TEMPLATES_PER_ENDPOINT) list.length = TEMPLATES_PER_ENDPOINT;
  // Re-inserted last: the endpoint that stored longest ago goes first.
  templates.delete(model.endpoint);
  templates.set(model.endpoint, list);
  if (templates.size > MAX_ENDPOINTS) templates.delete(templates.keys().next().value!);
}
