import assert from 'node:assert/strict';
import { OFPR } from '../../../protocols/openflow/constants';
import type { Decoded, PacketIn, PacketOut } from '../../../protocols/openflow/messages';
import { makeVlanTag } from '../../../protocols/packet/ethernet';
import { BOOTP_OP, DHCP_MESSAGE_TYPE, encodeDhcp, type DhcpMessageInit } from '../../../protocols/packet/dhcp';
import { buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { answerDhcp, answerDhcpPacketIn } from '../../../src/overlay/dhcp';
import { answerDhcpFast } from '../../../src/overlay/dhcp-replies';
import { answerPacketIn } from '../../../src/overlay/packet-in';
import type { Endpoint, Network, Subnet } from '../../../src/store/model';
import type { ModelView } from '../../../src/store/model-view';

const T = '2026-01-01T00:00:00.000Z';
const network: Network = { id: 'n1', name: 'n1', tenant: 'default', vni: 0x4242, mtu: 1450, createdAt: T, updatedAt: T };
const subnetOf = (dns: string[]): Subnet => ({
  id: 's1', network: 'n1', cidr: '10.9.0.0/16', ipVersion: 4, gateway: '10.9.0.1', allocationPools: [], dhcp: true,
  dnsServers: dns, routes: [{ destination: '10.0.0.0/8', nexthop: '10.9.0.254' }], createdAt: T, updatedAt: T,
});
const endpoint: Endpoint = {
  id: 'vm', name: 'vm', network: 'n1', mac: '02:00:00:00:09:07', ips: ['10.9.0.7'], kind: 'vm', labels: {}, securityGroups: [], createdAt: T, updatedAt: T,
};

function modelWith(subnets: Subnet[]): ModelView {
  return { networks: new Map([['n1', network]]), subnetsByNetwork: new Map([['n1', subnets]]), endpointsByNetwork: new Map(), bindings: new Map() };
}

interface Shape {
  readonly type?: number;
  readonly xid?: number;
  readonly secs?: number;
  readonly isBroadcast?: boolean;
  readonly ciaddr?: string;
  readonly giaddr?: string;
  readonly requested?: string;
  readonly ipId?: number;
  readonly vlan?: boolean;
  readonly zeroUdpChecksum?: boolean;
}

/** A client message from the endpoint, as its DHCP client would send it. */
function request(s: Shape = {}): Buffer {
  const init: DhcpMessageInit = {
    op: BOOTP_OP.REQUEST, xid: s.xid ?? 1, secs: s.secs ?? 0, isBroadcast: s.isBroadcast ?? false, chaddr: endpoint.mac,
    ciaddr: s.ciaddr ?? '0.0.0.0', giaddr: s.giaddr ?? '0.0.0.0',
    options: [{ type: 'message-type', messageType: s.type ?? DHCP_MESSAGE_TYPE.DISCOVER }, ...(s.requested ? [{ type: 'requested-ip' as const, address: s.requested }] : [])],
  };
  const frame = buildUdp({
    srcMac: endpoint.mac, dstMac: 'ff:ff:ff:ff:ff:ff', src: s.ciaddr ?? '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67,
    payload: encodeDhcp(init), ...(s.vlan ? { vlan: [makeVlanTag(12)] } : {}),
  });
  const ipAt = s.vlan ? 18 : 14;
  if (s.ipId !== undefined) frame.writeUInt16BE(s.ipId, ipAt + 4); // the IP checksum is left stale: decoders report it, never refuse it
  if (s.zeroUdpChecksum) frame.writeUInt16BE(0, ipAt + 20 + 6);
  return frame;
}

function packetIn(frame: Buffer): Decoded<PacketIn> {
  return { type: 'packet_in', xid: 0, reason: OFPR.ACTION, tableId: 20, match: [{ field: 'in_port', value: 3 }], data: frame };
}

/** What the full path says: decode everything, then answerDhcp (undefined: ignored; null: answered with nothing). */
function reference(frame: Buffer, model: ModelView): Buffer | undefined | null {
  let packet;
  try {
    packet = decodePacket(frame);
  } catch {
    return undefined;
  }
  if (!packet.dhcp) return undefined;
  return answerDhcp(packet, network, endpoint, model.subnetsByNetwork.get('n1')!, []) ?? null;
}

/** What the handler answers (kept replies included). */
function served(frame: Buffer, model: ModelView): Buffer | undefined | null {
  const a = answerPacketIn(packetIn(frame), () => endpoint, model, [answerDhcpPacketIn]);
  if (a.kind === 'ignored') return undefined;
  if (a.messages.length === 0) return null;
  const po = a.messages[0] as PacketOut;
  assert.deepEqual(po.actions, [{ type: 'output', port: 3 }]);
  return po.data!;
}

function assertSame(frame: Buffer, model: ModelView, what: string): void {
  assert.deepEqual(served(frame, model), reference(frame, model), what);
}

/** Deterministic pseudo-random 32-bit numbers. */
function* numbers(seed: number): Generator<number> {
  let x = seed >>> 0;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield x >>> 0;
  }
}

describe('DHCP reply templates (a retransmission takes the kept reply, byte for byte the full answer)', () => {
  it('answers retransmissions of every shape exactly as the full path does, whatever their xid, secs and IP id', () => {
    const model = modelWith([subnetOf(['10.9.0.2'])]);
    const shapes: Shape[] = [
      {},
      { isBroadcast: true },
      { vlan: true },
      { zeroUdpChecksum: true },
      { giaddr: '10.9.0.254' },
      { type: DHCP_MESSAGE_TYPE.REQUEST, requested: '10.9.0.7' },
      { type: DHCP_MESSAGE_TYPE.REQUEST, requested: '10.9.0.8' },
      { type: DHCP_MESSAGE_TYPE.REQUEST, ciaddr: '10.9.0.7' },
      { type: DHCP_MESSAGE_TYPE.INFORM },
    ];
    const rnd = numbers(17);
    let kept = 0;
    for (const shape of shapes) {
      for (let i = 0; i < 40; i++) {
        const r = rnd.next().value as number;
        const frame = request({ ...shape, xid: r, secs: i, ipId: r & 0xffff });
        if (i > 0 && answerDhcpFast(frame, { network, endpoint, subnets: model.subnetsByNetwork.get('n1')!, routers: [] })) kept++;
        assertSame(frame, model, `${JSON.stringify(shape)} xid ${r}`);
      }
    }
    // Every shape but INFORM (no answer: nothing kept) is answered from its template after the first.
    assert.equal(kept, (shapes.length - 1) * 39);
  });

  it('writes a UDP checksum that sums to zero as 0xffff, as the encoder does', () => {
    const model = modelWith([subnetOf([])]);
    const first = reference(request({ xid: 0 }), model)!;
    // The reply's one's-complement sum without the xid, from its checksum with xid 0.
    const sum = ~first.readUInt16BE(14 + 20 + 6) & 0xffff;
    const xid = 0xffff - sum;
    const frame = request({ xid });
    assertSame(request({ xid: 5 }), model, 'warm');
    const reply = served(frame, model)!;
    assert.equal(reply.readUInt16BE(14 + 20 + 6), 0xffff);
    assert.deepEqual(reply, reference(frame, model));
  });

  it('answers from the model as it is now: a changed subnet retires the kept reply', () => {
    const before = modelWith([subnetOf(['10.9.0.2'])]);
    assertSame(request({ xid: 1 }), before, 'first');
    const after = modelWith([subnetOf(['10.9.0.3'])]);
    const reply = served(request({ xid: 2 }), after)!;
    assert.deepEqual(reply, reference(request({ xid: 2 }), after));
    assert.notDeepEqual(reply, reference(request({ xid: 2 }), before));
  });

  it('keeps replies for a bounded number of endpoints, the oldest dropped first', () => {
    const model = modelWith([subnetOf([])]);
    const subnets = model.subnetsByNetwork.get('n1')!;
    const endpoints = Array.from({ length: 1025 }, () => ({ ...endpoint }));
    for (const e of endpoints) {
      const a = answerPacketIn(packetIn(request({ xid: 1 })), () => e, model, [answerDhcpPacketIn]);
      assert.equal(a.kind, 'answered');
    }
    const kept = (e: Endpoint): boolean => answerDhcpFast(request({ xid: 2 }), { network, endpoint: e, subnets, routers: [] }) !== undefined;
    assert.equal(kept(endpoints[0]!), false);
    assert.equal(kept(endpoints[1]!), true);
    assert.equal(kept(endpoints[1024]!), true);
  });

  it('treats any other change to the request as a new request (fuzzed bytes: same answer as the full path)', () => {
    const model = modelWith([subnetOf(['10.9.0.2'])]);
    const base = request({ xid: 99 });
    const rnd = numbers(4242);
    for (let i = 0; i < 300; i++) {
      assertSame(base, model, 'base');
      const frame = Buffer.from(base);
      const at = (rnd.next().value as number) % frame.length;
      frame[at] = (rnd.next().value as number) & 0xff;
      assertSame(frame, model, `byte ${at} = ${frame[at]}`);
      assertSame(Buffer.from(frame.subarray(0, frame.length - 1 - (at % 8))), model, `cut at ${at}`);
    }
  });
});
