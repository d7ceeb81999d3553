/**
 * Stable cookies are a product promise (SPEC §4): a restarted controller must
 * compute byte-identical flows for the same model. This compiles a sample model
 * covering every feature and compares the encoded FLOW_MODs with the ones the
 * compiler produced when the fixture was recorded. Regenerate the fixture
 * (PLEXUS_RECORD_FLOWS=1) only for a change that is meant to alter flows on
 * every upgraded host, and say so in the commit.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage } from '../../../protocols/openflow/codec';
import { compileHost } from '../../../src/compiler/compile-host';
import type { HostContext, Snapshot } from '../../../src/compiler/snapshot';
import type { Endpoint, Subnet } from '../../../src/store/model';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const FIXTURE = join(__dirname, '../../fixtures/compiler/stable-flows.txt');

/** Three hosts, an IPv4 network with DHCP, a dual-stack one without, an endpoint down, a host without a tunnel yet. */
export function sampleModel(): { snapshot: Snapshot; hosts: HostContext[] } {
  const v6 = (e: Endpoint, ...ips: string[]): Endpoint => ({ ...e, ips: [...e.ips, ...ips] });
  const noDhcp = (s: Subnet): Subnet => ({ ...s, dhcp: false });
  const v6Subnet: Subnet = { ...subnet('sb6', 'B', '2001:db8:b::/64', '2001:db8:b::1'), ipVersion: 6, dhcp: false };
  const a = [
    ep('a1', 'A', '02:00:00:00:0a:01', '10.1.0.11'),
    ep('a2', 'A', '02:00:00:00:0a:02', '10.1.0.12'),
    ep('a3', 'A', '02:00:00:00:0a:03', '10.1.0.13'),
    ep('a4', 'A', '02:00:00:00:0a:04', '10.1.0.14'),
  ];
  const b = [
    v6(ep('b1', 'B', '02:00:00:00:0b:01', '10.2.0.11'), '2001:db8:b::11'),
    v6(ep('b2', 'B', '02:00:00:00:0b:02', '10.2.0.12'), '2001:db8:b::12'),
  ];
  const snapshot: Snapshot = {
    networks: new Map([['A', net('A', 5001)], ['B', net('B', 5002)]]),
    subnetsByNetwork: new Map([
      ['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]],
      ['B', [noDhcp(subnet('sb', 'B', '10.2.0.0/24', '10.2.0.1')), v6Subnet]],
    ]),
    endpointsByNetwork: new Map([['A', a], ['B', b]]),
    bindings: new Map([
      ['a1', bind('a1', 'h1', 1)],
      ['a2', bind('a2', 'h2', 3)],
      ['a3', bind('a3', 'h3', 4)],
      ['a4', { ...bind('a4', 'h1', 5), status: 'down' }],
      ['b1', bind('b1', 'h1', 2)],
      ['b2', bind('b2', 'h2', 7)],
    ]),
  };
  const ENCAP_IPS = new Map([['h1', '192.0.2.1'], ['h2', '192.0.2.2'], ['h3', '192.0.2.3']]);
  const hosts: HostContext[] = [
    { id: 'h1', tunnelPort: 10, encapIps: ENCAP_IPS },
    { id: 'h2', tunnelPort: 10, encapIps: ENCAP_IPS },
    { id: 'h3', tunnelPort: 12, encapIps: ENCAP_IPS },
  ];
  return { snapshot, hosts };
}

/** One line per flow: host, partition, FLOW_MOD (ADD) bytes in hex. */
function encodeSample(): string {
  const { snapshot, hosts } = sampleModel();
  const lines: string[] = [];
  for (const host of hosts) {
    for (const [partition, flows] of compileHost(snapshot, host)) {
      for (const f of flows) {
        const bytes = encodeMessage({ type: 'flow_mod', xid: 0, tableId: f.table.id, priority: f.priority, match: f.match, cookie: f.cookie, instructions: f.instructions });
        lines.push(`${host.id} ${partition} ${bytes.toString('hex')}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('compiler: stable flows', () => {
  it('compiles the sample model to the recorded FLOW_MOD bytes, cookies included', () => {
    const now = encodeSample();
    if (process.env.PLEXUS_RECORD_FLOWS === '1') writeFileSync(FIXTURE, now);
    assert.equal(now, readFileSync(FIXTURE, 'utf8'));
  });
});
