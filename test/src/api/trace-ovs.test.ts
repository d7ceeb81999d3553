/**
 * POST /v1/trace agrees with `ovs-appctl ofproto/trace` on the real switches:
 * a real plexusd programs three sandboxed OVS hosts; for every packet of the
 * corpus, each host the trace crosses is asked what it does with the packet as
 * it arrived there, and must output to the same ports, tunnels or controller
 * (or drop) as the trace says. The corpus covers every stage: port security,
 * ARP, DHCP, L2, security groups (conntrack: the switch's trace recirculates
 * with ct_state=trk|new, as ours walks a new connection) and routing.
 */
import assert from 'node:assert/strict';
import { buildCli } from '../../../src/cli/plexusctl';
import type { TraceResult } from '../../../src/compiler/trace';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { splitTopLevel } from '../../support/switch-fixture';
import { isInstalled, plug } from '../../support/workloads';

interface Created {
  id: string;
  name: string;
  mac: string;
  ips: string[];
}

/** OpenFlow port number → interface name on a host. */
async function portNames(h: OvsHost): Promise<Map<number, string>> {
  const { stdout } = await h.vsctl('-f', 'csv', '--no-headings', '--columns=name,ofport', 'list', 'Interface');
  return new Map(stdout.trim().split('\n').map((l) => l.split(',')).map(([name, ofport]) => [Number(ofport), name!.replace(/"/g, '')]));
}

/**
 * What the switch does with the packet: the datapath actions of every pass of
 * `ofproto/trace` (a `ct(table=...)` recirculates: one "Datapath actions" line
 * per pass), datapath port numbers replaced by names; conntrack, recirculation,
 * header rewrites and meters left out (ours are outputs only).
 */
async function switchOutputs(host: OvsHost, flow: string): Promise<string[]> {
  const names = new Map<string, string>();
  const { stdout: dpif } = await host.appctl('ovs-vswitchd', 'dpif/show');
  for (const m of dpif.matchAll(/^\s+(\S+) \d+\/(\d+):/gm)) names.set(m[2]!, m[1]!);
  const { stdout } = await host.appctl('ovs-vswitchd', 'ofproto/trace', 'br-int', flow);
  const passes = stdout.split('\n').filter((l) => l.startsWith('Datapath actions:'));
  if (!passes.length) throw new Error(`no datapath actions in trace:\n${stdout}`);
  return passes
    .flatMap((l) => splitTopLevel(l.slice('Datapath actions:'.length).trim()))
    .filter((p) => p !== 'drop' && p !== 'ct' && !/^(set|ct|recirc|meter)\(/.test(p))
    .map((p) => (/^\d+$/.test(p) ? (names.get(p) ?? p) : p));
}


describe('trace vs. ofproto/trace on sandboxed hosts @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  const hosts = new Map<string, OvsHost>();
  const eps = new Map<string, Created>();

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 3; i++) {
      hosts.set(`h${i}`, await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.0.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all([...hosts.values()].map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await plexusd.waitHostsReady(3, '3 hosts ready');
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'apps' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'apps', cidr: '10.0.0.0/24' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'other' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'other', cidr: '10.9.0.0/24' })).status, 201);
    // Security groups in a network of their own: "db" admits tcp/5432 from group "app" only.
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'pol' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'pol', cidr: '10.0.2.0/24' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/security-groups', { name: 'app' })).status, 201);
    const db = await plexusd.api('POST', '/v1/security-groups', { name: 'db', rules: [{ direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'app' }] });
    assert.equal(db.status, 201, JSON.stringify(db.body));
    // Router r1 between apps (10.0.0.0/24) and back (10.0.1.0/24).
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'back' })).status, 201);
    const routed: string[] = [];
    for (const [network, cidr] of [['apps', '10.0.0.0/24'], ['back', '10.0.1.0/24']] as const) {
      const existing = await plexusd.api<{ items: { id: string; cidr: string }[] }>('GET', `/v1/subnets?network=${network}`);
      const found = existing.body.items?.find((x) => x.cidr === cidr);
      const sub = found ?? (await plexusd.api<{ id: string }>('POST', '/v1/subnets', { network, cidr })).body;
      routed.push(sub.id);
    }
    assert.equal((await plexusd.api('POST', '/v1/routers', { name: 'r1' })).status, 201);
    for (const subnet of routed) {
      const r = await plexusd.api('POST', '/v1/routers/r1/interfaces', { subnet });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const place: [string, string, string, string[]][] = [
      ['web1', 'h1', 'apps', []], ['web2', 'h1', 'apps', []], ['db1', 'h2', 'apps', []], ['x1', 'h3', 'other', []],
      ['app1', 'h1', 'pol', ['app']], ['db2', 'h2', 'pol', ['db']], ['open1', 'h3', 'pol', []],
      ['back1', 'h1', 'back', []], ['back2', 'h3', 'back', []],
    ];
    for (const [name, host, network, securityGroups] of place) {
      const res = await plexusd.api<Created>('POST', '/v1/endpoints', { network, name, kind: 'container', securityGroups });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      eps.set(name, res.body);
      await plug(hosts.get(host)!, `p-${name}`, { 'iface-id': res.body.id, 'attached-mac': res.body.mac, container_id: name });
    }
    for (const [name, host] of place) await waitFor(`${name} installed`, () => isInstalled(hosts.get(host)!, `p-${name}`));
  });

  after(async () => {
    await Promise.all([...hosts.values()].map((h) => h.stop()));
    await plexusd?.destroy();
  });

  const CORPUS: { title: string; body: () => Record<string, unknown>; verdict: string; reason: () => string | RegExp; hosts: string[] }[] = [
    { title: 'delivered local', body: () => ({ from: 'web1', to: 'web2', protocol: 'tcp', dstPort: 80 }), verdict: 'delivered', reason: () => /^delivered from web1 to endpoint web2 on h1 \(port \d+\)$/, hosts: ['h1'] },
    {
      title: 'delivered remote over the tunnel',
      body: () => ({ from: 'web1', to: 'db1', protocol: 'tcp', dstPort: 5432 }),
      verdict: 'delivered',
      reason: () => /^delivered from web1 to endpoint db1 on h2 \(port \d+\), over the tunnel$/,
      hosts: ['h1', 'h2'],
    },
    {
      title: 'ARP answered in the switch',
      body: () => ({ from: 'web1', to: 'db1', protocol: 'arp' }),
      verdict: 'delivered',
      reason: () => `ARP request for ${eps.get('db1')!.ips[0]} answered in the switch on h1: ${eps.get('db1')!.ips[0]} is at ${eps.get('db1')!.mac} (endpoint db1); nothing crossed a tunnel`,
      hosts: ['h1'],
    },
    {
      title: 'spoofed source MAC',
      body: () => ({ from: 'web1', to: 'db1', srcMac: '02:66:66:66:66:66' }),
      verdict: 'dropped',
      reason: () => `dropped by port security: source MAC 02:66:66:66:66:66 is not endpoint web1's (${eps.get('web1')!.mac})`,
      hosts: ['h1'],
    },
    {
      title: 'spoofed source IP',
      body: () => ({ from: 'web1', to: 'db1', srcIp: '10.0.0.250' }),
      verdict: 'dropped',
      reason: () => `dropped by port security: source IP 10.0.0.250 is not endpoint web1's (${eps.get('web1')!.ips[0]})`,
      hosts: ['h1'],
    },
    { title: 'DHCP to the controller', body: () => ({ from: 'db1', protocol: 'dhcp' }), verdict: 'to-controller', reason: () => 'DHCP request from db1 sent to the controller of h2, which answers it from IPAM', hosts: ['h2'] },
    {
      title: 'unknown destination',
      body: () => ({ from: 'web1', dstMac: '02:00:00:99:99:99', dstIp: '10.0.0.99' }),
      verdict: 'dropped',
      reason: () => 'unknown destination: no endpoint of network apps has MAC 02:00:00:99:99:99',
      hosts: ['h1'],
    },
    // Sent to x1's MAC directly (off-link, web1's stack would pick r1's gateway MAC: the "no route" case).
    { title: 'another network\'s endpoint', body: () => ({ from: 'web1', to: 'x1', dstMac: eps.get('x1')!.mac }), verdict: 'dropped', reason: () => /^dropped by l2: .* is endpoint x1's, in another network than web1's \(apps\)$/, hosts: ['h1'] },
    {
      title: 'security groups: allowed by a remote group',
      body: () => ({ from: 'app1', to: 'db2', protocol: 'tcp', dstPort: 5432 }),
      verdict: 'delivered',
      reason: () => /^delivered from app1 to endpoint db2 on h2 \(port \d+\), over the tunnel; allowed by group app \(egress any IPv4 to anywhere\), group db \(ingress tcp\/5432 from group app\)$/,
      hosts: ['h1', 'h2'],
    },
    {
      title: 'security groups: a port no rule allows',
      body: () => ({ from: 'app1', to: 'db2', protocol: 'tcp', dstPort: 22 }),
      verdict: 'dropped',
      reason: () => `dropped by the security groups of endpoint db2 on h2: no ingress rule of group db allows tcp/22 from ${eps.get('app1')!.ips[0]}`,
      hosts: ['h1', 'h2'],
    },
    {
      title: 'security groups: a sender outside the remote group',
      body: () => ({ from: 'open1', to: 'db2', protocol: 'tcp', dstPort: 5432 }),
      verdict: 'dropped',
      reason: () => `dropped by the security groups of endpoint db2 on h2: no ingress rule of group db allows tcp/5432 from ${eps.get('open1')!.ips[0]}`,
      hosts: ['h3', 'h2'],
    },
    {
      title: 'routed, delivered on the same host',
      body: () => ({ from: 'web1', to: 'back1', protocol: 'tcp', dstPort: 80 }),
      verdict: 'delivered',
      reason: () => /^delivered from web1 to endpoint back1 on h1 \(port \d+\), routed by router r1 from 10\.0\.0\.0\/24 \(network apps\) to 10\.0\.1\.0\/24 \(network back\), ttl 64→63$/,
      hosts: ['h1'],
    },
    {
      title: 'routed, delivered on a remote host',
      body: () => ({ from: 'web1', to: 'back2', protocol: 'udp', dstPort: 53 }),
      verdict: 'delivered',
      reason: () => /^delivered from web1 to endpoint back2 on h3 \(port \d+\), routed by router r1 from 10\.0\.0\.0\/24 \(network apps\) to 10\.0\.1\.0\/24 \(network back\), ttl 64→63, over the tunnel$/,
      hosts: ['h1', 'h3'],
    },
    {
      title: 'routed to an unknown destination',
      body: () => ({ from: 'web1', dstIp: '10.0.1.99' }),
      verdict: 'dropped',
      reason: () => 'dropped by router r1 on h1: unknown destination: no endpoint of network back (10.0.1.0/24) has address 10.0.1.99',
      hosts: ['h1'],
    },
    { title: 'no route', body: () => ({ from: 'web1', dstIp: '10.7.0.1' }), verdict: 'dropped', reason: () => 'dropped by router r1 on h1: no route to 10.7.0.1 (it connects 10.0.0.0/24, 10.0.1.0/24)', hosts: ['h1'] },
    { title: 'broadcast in the network', body: () => ({ from: 'web1', dstMac: 'ff:ff:ff:ff:ff:ff', dstIp: '10.0.0.255' }), verdict: 'delivered', reason: () => /^delivered from web1 to .*endpoint web2 on h1.*endpoint db1 on h2/, hosts: ['h1', 'h2'] },
  ];

  for (const c of CORPUS) {
    it(c.title, async () => {
      const res = await plexusd.api<TraceResult>('POST', '/v1/trace', c.body());
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = res.body;
      assert.equal(r.verdict, c.verdict, r.reason);
      const reason = c.reason();
      if (typeof reason === 'string') assert.equal(r.reason, reason);
      else assert.match(r.reason, reason);
      assert.deepEqual(r.segments.map((s) => s.host), c.hosts);
      for (const seg of r.segments) {
        const h = hosts.get(seg.host)!;
        const names = await portNames(h);
        const ovs = (await switchOutputs(h, seg.flow)).map((p) => (p.startsWith('userspace(') ? `controller:${/rule_cookie=(0x[0-9a-f]+)/.exec(p)?.[1]}` : p));
        const ours = seg.outputs.map((o) => (o.startsWith('controller:') ? o : names.get(Number(o.split(':')[1]))));
        assert.deepEqual(ours, ovs, `${seg.host}: ${seg.flow}`);
        assert.equal(seg.verdict, ovs.length === 0 ? 'dropped' : ovs.every((p) => p.startsWith('controller:')) ? 'to-controller' : 'delivered', seg.host);
      }
      for (const hop of r.hops.filter((x) => x.flow && x.owner?.kind === 'endpoint')) assert.ok(eps.has(hop.owner!.name!), `hop owner ${hop.owner!.name}`);
    });
  }

  it('plexusctl trace prints the verdict and every hop', async () => {
    const lines: string[] = [];
    await buildCli((t) => lines.push(t)).parseAsync(['--url', plexusd.url, 'trace', '--from', 'web1', '--to', 'db1', 'tcp/5432'], { from: 'user' });
    const text = lines.join('\n');
    assert.match(text, /^DELIVERED: delivered from web1 to endpoint db1 on h2 \(port \d+\), over the tunnel\n/);
    assert.match(text, /host h1\n\s+0 classify: port flow of endpoint web1 /);
    assert.match(text, /host h2\n\s+0 classify: network flow of network apps /);
    assert.match(text, /tcp_dst|l2: l2 flow of endpoint db1/);
  });

  it('names a packet that cannot be described (422) and an unknown endpoint (404)', async () => {
    assert.equal((await plexusd.api('POST', '/v1/trace', { from: 'web1' })).status, 422);
    assert.equal((await plexusd.api('POST', '/v1/trace', { from: 'nobody', to: 'web1' })).status, 404);
  });
});
