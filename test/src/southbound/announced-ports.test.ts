import assert from 'node:assert/strict';
import { OFPPR } from '../../../protocols/openflow/constants';
import type { PortStatus } from '../../../protocols/openflow/messages';
import { AnnouncedPorts } from '../../../src/southbound/announced-ports';
import { readAttachments } from '../../../src/southbound/attachments';
import { iface, viewOf } from '../../support/ovs-views';

const DPID = '00000000000000a1';

function status(reason: number, name: string, portNo: number): PortStatus {
  return {
    type: 'port_status', xid: 0, reason,
    port: { portNo, hwAddr: '02:00:00:00:00:01', name, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 },
  };
}

describe('ofports the switch announced before OVSDB recorded them', () => {
  it('numbers an interface OVSDB has not numbered, and lets OVSDB\'s number win once it is there', () => {
    const ports = new AnnouncedPorts();
    const before = viewOf([iface(1, 'tap1', null, { 'iface-id': 'e1' })]);
    assert.equal(readAttachments(ports.apply(DPID, before, undefined)).size, 0, 'no number yet: no attachment');
    ports.note(DPID, status(OFPPR.ADD, 'tap1', 7));
    const announced = ports.apply(DPID, before, before);
    assert.equal(readAttachments(announced).get('e1')?.ofport, 7);
    assert.equal(ports.apply(DPID, before, announced).interfaces, announced.interfaces, 'the same numbering is the same map');
    assert.equal(readAttachments(ports.apply('00000000000000b2', before, undefined)).size, 0, 'another switch announced nothing');

    const recorded = viewOf([iface(1, 'tap1', 9, { 'iface-id': 'e1' })]);
    assert.equal(readAttachments(ports.apply(DPID, recorded, announced)).get('e1')?.ofport, 9);
    assert.equal(ports.size, 0, 'an announcement OVSDB caught up with is dropped');
  });

  it('does not give an interface added again under the same name the announcement of the one deleted', () => {
    const ports = new AnnouncedPorts();
    const first = viewOf([iface(1, 'tap1', null, { 'iface-id': 'old' })]);
    ports.note(DPID, status(OFPPR.ADD, 'tap1', 7));
    const seen = ports.apply(DPID, first, undefined);
    assert.equal(readAttachments(seen).get('old')?.ofport, 7);
    // The row is deleted and another one named tap1 added before the switch said anything more.
    const again = viewOf([iface(2, 'tap1', null, { 'iface-id': 'new' })]);
    const waiting = ports.apply(DPID, again, seen);
    assert.equal(readAttachments(waiting).size, 0, 'the new row waits for a number of its own');
    ports.note(DPID, status(OFPPR.DELETE, 'tap1', 7));
    ports.note(DPID, status(OFPPR.ADD, 'tap1', 8));
    assert.equal(readAttachments(ports.apply(DPID, again, waiting)).get('new')?.ofport, 8);
  });

  it('forgets a port the switch deleted and everything of a switch that disconnected', () => {
    const ports = new AnnouncedPorts();
    const view = viewOf([iface(1, 'tap1', null, { 'iface-id': 'e1' }), iface(2, 'tap2', null, { 'iface-id': 'e2' })]);
    ports.note(DPID, status(OFPPR.ADD, 'tap1', 7));
    ports.note(DPID, status(OFPPR.MODIFY, 'tap2', 8));
    ports.note(DPID, status(OFPPR.DELETE, 'tap2', 99)); // not the port announced under that name: kept
    assert.deepEqual([...readAttachments(ports.apply(DPID, view, undefined)).values()].map((a) => a.ofport), [7, 8]);
    ports.note(DPID, status(OFPPR.DELETE, 'tap1', 7));
    assert.deepEqual([...readAttachments(ports.apply(DPID, view, undefined)).keys()], ['e2']);
    ports.forget(DPID);
    assert.equal(ports.size, 0);
    assert.equal(ports.apply(DPID, view, undefined), view, 'nothing announced: the view as built');
  });
});
