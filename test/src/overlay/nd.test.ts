import assert from 'node:assert/strict';
import { buildNeighborSolicitation, decodePacket } from '../../../protocols/packet/packet';
import { answerNeighborSolicitation } from '../../../src/overlay/nd';
import type { Endpoint } from '../../../src/store/model';

const T = '2026-01-01T00:00:00.000Z';
const ep = (id: string, mac: string, ips: string[]): Endpoint => ({ id, name: id, network: 'n', mac, ips, kind: 'vm', labels: {}, securityGroups: [], createdAt: T, updatedAt: T });
const a = ep('a', '02:00:00:00:00:0a', ['10.0.0.10', 'fd00::a']);
const b = ep('b', '02:00:00:00:00:0b', ['10.0.0.11', 'fd00:0:0::b']);

function solicit(from: Endpoint, target: string, src = 'fd00::a'): ReturnType<typeof decodePacket> {
  return decodePacket(buildNeighborSolicitation({ srcMac: from.mac, src, target }));
}

describe('IPv6 neighbor discovery answers', () => {
  it('advertises the owner MAC for a known target', () => {
    const na = decodePacket(answerNeighborSolicitation(solicit(a, 'fd00::b'), a, [a, b])!);
    assert.equal(na.icmpv6?.kind, 'neighbor-advertisement');
    assert.equal(na.eth.src, b.mac);
    assert.equal(na.eth.dst, a.mac);
    assert.equal(na.ipv6?.dst, 'fd00::a');
    const opt = na.icmpv6?.kind === 'neighbor-advertisement' ? na.icmpv6.options[0] : undefined;
    assert.deepEqual(opt, { type: 'target-link-layer-address', mac: b.mac });
  });

  it('stays silent for unknown targets and for duplicate address detection of the sender own address', () => {
    assert.equal(answerNeighborSolicitation(solicit(a, 'fd00::99'), a, [a, b]), undefined);
    assert.equal(answerNeighborSolicitation(solicit(a, 'fd00::a', '::'), a, [a, b]), undefined);
  });
});
