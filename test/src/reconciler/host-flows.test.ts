import assert from 'node:assert/strict';
import { compileHost, compileNetworkBase, endpointPartition, networkPartition, tunnelPartition } from '../../../src/compiler/compile-host';
import type { HostContext, Snapshot } from '../../../src/compiler/snapshot';
import { silentLogger } from '../../../src/log';
import { HostFlows } from '../../../src/reconciler/host-flows';
import { startSwitch, traceActions, watchFlowChanges, type SwitchFixture } from '../../support/switch-fixture';
import { bind, ep, net, subnet } from '../../support/model-fixtures';


/** h1 is the switch under test: a1 (ofport 1) and b1 (ofport 2) local; a2 on h2 behind plexus-vxlan (ofport 10). */
function model(): { snapshot: Snapshot; host: HostContext } {
  const endpoints = [ep('a1', 'A', '02:00:00:00:0a:01', '10.1.0.11'), ep('a2', 'A', '02:00:00:00:0a:02', '10.1.0.12'), ep('b1', 'B', '02:00:00:00:0b:01', '10.2.0.11')];
  const snapshot: Snapshot = {
    networks: new Map([['A', net('A', 5001)], ['B', net('B', 5002)]]),
    subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]], ['B', [subnet('sb', 'B', '10.2.0.0/24', '10.2.0.1')]]]),
    endpointsByNetwork: new Map([['A', endpoints.slice(0, 2)], ['B', [endpoints[2]!]]]),
    bindings: new Map([['a1', bind('a1', 'h1', 1)], ['a2', bind('a2', 'h2', 3)], ['b1', bind('b1', 'h1', 2)]]),
  };
  return { snapshot, host: { id: 'h1', tunnelPort: 10, encapIps: new Map([['h1', '192.0.2.1'], ['h2', '192.0.2.2'], ['h3', '192.0.2.3']]) } };
}

const trace = (sw: SwitchFixture, flow: string): Promise<string> => traceActions(sw.host, flow);

describe('compiler + reconciler on a real switch @slow', function () {
  this.timeout(60_000);
  let sw: SwitchFixture;
  let flows: HostFlows;

  before(async () => {
    sw = await startSwitch({ ports: { p1: 1, p2: 2 }, tunnels: { vxh2: { ofport: 10, remoteIp: '127.1.0.2' } } });
    flows = new HostFlows('h1', silentLogger());
    const { snapshot, host } = model();
    for (const [name, f] of compileHost(snapshot, host)) flows.setPartition(name, f);
    flows.attach(sw.conn());
    await flows.flushed();
  });
  after(async () => sw?.stop());

  it('installs exactly the desired flows', async () => {
    const dumped = await sw.host.dumpFlows();
    assert.equal(dumped.length, flows.desiredCount, dumped.join('\n'));
  });

  it('sends unicast to a remote endpoint into its host tunnel with the network VNI', async () => {
    const out = await trace(sw, 'in_port=1,dl_src=02:00:00:00:0a:01,dl_dst=02:00:00:00:0a:02,ip,nw_src=10.1.0.11,nw_dst=10.1.0.12');
    assert.match(out, /^(set\(tunnel\(tun_id=0x1389.*\)\),)?vxh2$/);
    const { stdout } = await sw.host.appctl('ovs-vswitchd', 'ofproto/trace', 'br-int', 'in_port=1,dl_src=02:00:00:00:0a:01,dl_dst=02:00:00:00:0a:02,ip,nw_src=10.1.0.11,nw_dst=10.1.0.12');
    assert.match(stdout, /set_field:0x1389->tun_id\b/);
  });

  it('answers ARP for a known address in the switch, back out of the asking port', async () => {
    const out = await trace(sw, 'in_port=1,dl_src=02:00:00:00:0a:01,dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,arp_sha=02:00:00:00:0a:01,arp_spa=10.1.0.11,arp_tpa=10.1.0.12');
    assert.match(out, /^set\(eth\(src=02:00:00:00:0a:02,dst=02:00:00:00:0a:01\)\),set\(arp\(sip=10\.1\.0\.12,tip=10\.1\.0\.11,op=2,sha=02:00:00:00:0a:02,tha=02:00:00:00:0a:01\)\),p1$/);
    assert.doesNotMatch(out, /tunnel/);
  });

  it('drops a spoofed source MAC and a spoofed source IP', async () => {
    assert.equal(await trace(sw, 'in_port=1,dl_src=02:00:00:00:99:99,dl_dst=02:00:00:00:0a:02,ip,nw_src=10.1.0.11,nw_dst=10.1.0.12'), 'drop');
    assert.equal(await trace(sw, 'in_port=1,dl_src=02:00:00:00:0a:01,dl_dst=02:00:00:00:0a:02,ip,nw_src=10.1.0.99,nw_dst=10.1.0.12'), 'drop');
  });

  it('keeps networks apart: a1 cannot reach b1 on the same host', async () => {
    assert.equal(await trace(sw, 'in_port=1,dl_src=02:00:00:00:0a:01,dl_dst=02:00:00:00:0b:01,ip,nw_src=10.1.0.11,nw_dst=10.2.0.11'), 'drop');
  });

  it('delivers tunnel traffic for a local MAC only to its port', async () => {
    const out = await trace(sw, 'in_port=10,tun_id=0x1389,tun_src=192.0.2.2,dl_src=02:00:00:00:0a:02,dl_dst=02:00:00:00:0a:01,ip,nw_src=10.1.0.12,nw_dst=10.1.0.11');
    assert.equal(out, 'p1');
  });

  it('changes no flow when a new controller session reconciles the same desired state', async () => {
    const watch = await watchFlowChanges(sw.host);
    const fresh = new HostFlows('h1', silentLogger());
    const { snapshot, host } = model();
    for (const [name, f] of compileHost(snapshot, host)) fresh.setPartition(name, f);
    const stats: { adds: number; modifies: number; deletes: number }[] = [];
    fresh.on('applied', (s) => stats.push(s));
    fresh.attach(sw.conn());
    await fresh.flushed();
    assert.deepEqual(await watch.stop(), []);
    assert.deepEqual(stats.map(({ adds, modifies, deletes }) => ({ adds, modifies, deletes })), [{ adds: 0, modifies: 0, deletes: 0 }]);
    flows = fresh;
  });

  it('removes the flows of an endpoint that goes away, and only those', async () => {
    const { snapshot, host } = model();
    const without: Snapshot = { ...snapshot, endpointsByNetwork: new Map([...snapshot.endpointsByNetwork, ['A', snapshot.endpointsByNetwork.get('A')!.slice(0, 1)]]) };
    const before = await sw.host.dumpFlows();
    const watch = await watchFlowChanges(sw.host);
    for (const [name, f] of compileHost(without, host)) flows.setPartition(name, f);
    // As the host programmer does, the partitions the new compile no longer has are emptied: a2's, and h2's classify.
    flows.setPartition(endpointPartition('a2'), []);
    flows.setPartition(tunnelPartition('A', 'h2'), []);
    await flows.flushed();
    const changes = await watch.stop();
    const deleted = changes.filter((c) => /event=DELETED/.test(c));
    const modified = changes.filter((c) => /event=MODIFIED/.test(c));
    // a2's ARP reply and L2 flows go, and with h2 no longer in network A, the classify of
    // its tunnel traffic (tun_src = h2); the flood flow loses its tunnel output; nothing else moves.
    assert.equal(deleted.length, 3, changes.join('\n'));
    assert.equal(deleted.filter((c) => c.includes('02:00:00:00:0a:02')).length, 2, changes.join('\n'));
    assert.equal(deleted.filter((c) => /table=0 .*tun_id=0x1389,tun_src=192\.0\.2\.2 /.test(c)).length, 1, changes.join('\n'));
    assert.equal(modified.length, 1, changes.join('\n'));
    assert.match(modified[0]!, /dl_dst=01:00:00:00:00:00\/01:00:00:00:00:00 actions=output:1$/);
    assert.equal(changes.length, 4, changes.join('\n'));
    const after = await sw.host.dumpFlows();
    assert.equal(before.length - after.length, 3);
    assert.ok(!after.some((l) => l.includes('02:00:00:00:0a:02')), 'no flow mentions a2 any more');
    const out = await trace(sw, 'in_port=1,dl_src=02:00:00:00:0a:01,dl_dst=02:00:00:00:0a:02,ip,nw_src=10.1.0.11,nw_dst=10.1.0.12');
    assert.equal(out, 'drop');
  });
});

describe('reconciler: an ofport reused while its old binding is being removed @slow', function () {
  this.timeout(60_000);
  let sw: SwitchFixture;
  after(async () => sw?.stop());

  it('keeps the port flows the new endpoint shares with the old one when the old one goes', async () => {
    sw = await startSwitch({ ports: { p1: 1, p2: 2 } });
    const host: HostContext = { id: 'h1', tunnelPort: undefined, encapIps: new Map() };
    // vm-old sorts after vm-new, so a full recompile sets the old partition last.
    const old = ep('vm-old', 'A', '02:00:00:00:0a:01', '10.1.0.11');
    const fresh = ep('vm-new', 'A', '02:00:00:00:0a:02', '10.1.0.12');
    const peer = ep('peer', 'A', '02:00:00:00:0a:03', '10.1.0.13');
    const snapshot = (endpoints: typeof old[], bindings: [string, number][]): Snapshot => ({
      networks: new Map([['A', net('A', 5001)]]),
      subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]]]),
      endpointsByNetwork: new Map([['A', endpoints]]),
      bindings: new Map(bindings.map(([id, port]) => [id, bind(id, 'h1', port)])),
    });
    const flows = new HostFlows('h1', silentLogger());
    const program = async (s: Snapshot): Promise<void> => {
      for (const [name, f] of compileHost(s, host)) flows.setPartition(name, f);
      await flows.flushed();
    };
    flows.attach(sw.conn());
    await program(snapshot([old, peer], [['vm-old', 1], ['peer', 2]]));
    // The tap of vm-old is replaced by vm-new's on ofport 1; vm-old's binding is still `bound` there.
    await program(snapshot([old, fresh, peer], [['vm-old', 1], ['vm-new', 1], ['peer', 2]]));
    // vm-old's binding goes down: as the host programmer does for one endpoint, only the
    // network's base and vm-old's own partition are recompiled (vm-new's is not touched).
    flows.setPartition(networkPartition('A'), compileNetworkBase(snapshot([old, fresh, peer], [['vm-new', 1], ['peer', 2]]), host, 'A'));
    flows.setPartition(endpointPartition('vm-old'), []);
    await flows.flushed();

    const dumped = await sw.host.dumpFlows();
    assert.equal(dumped.length, flows.desiredCount, dumped.join('\n'));
    const out = await trace(sw, `in_port=1,dl_src=${fresh.mac},dl_dst=${peer.mac},ip,nw_src=10.1.0.12,nw_dst=10.1.0.13`);
    assert.equal(out, 'p2');
    assert.equal(await trace(sw, `in_port=2,dl_src=${peer.mac},dl_dst=${fresh.mac},ip,nw_src=10.1.0.13,nw_dst=10.1.0.12`), 'p1');
  });
});
