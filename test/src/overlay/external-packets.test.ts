import assert from 'node:assert/strict';
import { externalMacOf } from '../../../src/compiler/nat';
import { addOutside, type Outside } from '../../../src/sandbox/external-bridge';
import type { Lab, Workload } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { ip, NsProcess, nsRun } from '../../../src/sandbox/netns';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { isInstalled } from '../../support/workloads';

/** A TCP server printing the peer address of each connection (as the far end sees it). */
const PEER_SERVER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.createServer((c) => { console.log(JSON.stringify({ peer: c.remoteAddress })); c.end('ok'); });
s.listen(Number(port), host, () => console.log(JSON.stringify({ listening: true })));
`;
const CLIENT = `
const c = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
c.on('data', (d) => { console.log(String(d)); process.exit(0); });
c.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('timed out'); process.exit(2); }, Number(process.argv[3]));
`;

/** Connects from `fromNs` to a server in `toNs` at address:port; the address the server saw, or undefined when it did not connect. */
async function peerSeen(fromNs: string, toNs: string, listen: string, connect: string, port: number, timeoutMs = 4000): Promise<string | undefined> {
  const server = NsProcess.spawn(toNs, process.execPath, ['-e', PEER_SERVER, listen, String(port)]);
  try {
    await server.waitForLine((l) => l.includes('"listening"'), 10_000);
    const c = await nsRun(fromNs, process.execPath, ['-e', CLIENT, connect, String(port), String(timeoutMs)], { allowFail: true, timeoutMs: timeoutMs + 5000 });
    if (c.code !== 0) return undefined;
    const line = await server.waitForLine((l) => l.includes('"peer"'), 3000);
    return (JSON.parse(line) as { peer: string }).peer;
  } finally {
    await server.stop();
  }
}

/**
 * External networks with real packets (SPEC §3, §9): an "outside" namespace on
 * h1's br-ex (plexus-bridge-mappings=physnet1:br-ex) resolves the router's
 * external gateway address to the router's external MAC, answered by h1's
 * switch through the patch port; a1's TCP connections to the outside arrive
 * from the router's gateway address (SNAT on a1's host, the next hop's MAC
 * learned by ARP), and from its floating IP once it has one; the outside
 * reaches a1 by its floating IP, and no longer once it is released.
 */
describe('external network with real packets @slow', function () {
  this.timeout(120_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  let outside: Outside | undefined;
  let a1: Workload;
  let routerId: string;

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd({
      beforeJoin: async (l) => {
        outside = await addOutside(l.hosts[0]!, { physnet: 'physnet1', tag: `t${l.prefix.replace(/[^0-9]/g, '').slice(-6)}`, address: '198.51.100.1/24' });
      },
    }));
    const ok = async (method: string, path: string, body: unknown, status: number) => {
      const r = await plexusd.api<Record<string, unknown>>(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await ok('POST', '/v1/networks', { name: 'public', external: true, physicalNetwork: 'physnet1' }, 201);
    await ok('POST', '/v1/subnets', { network: 'public', cidr: '198.51.100.0/24' }, 201);
    await ok('POST', '/v1/networks', { name: 'A' }, 201);
    const s = await ok('POST', '/v1/subnets', { network: 'A', cidr: '10.62.1.0/24' }, 201);
    routerId = String((await ok('POST', '/v1/routers', { name: 'r1' }, 201))['id']);
    await ok('POST', '/v1/routers/r1/interfaces', { subnet: s['id'] }, 201);
    const gw = await ok('PATCH', '/v1/routers/r1', { externalGateway: { network: 'public' } }, 200);
    assert.equal((gw['externalGateway'] as { ip: string }).ip, '198.51.100.2');
    const e = await ok('POST', '/v1/endpoints', { network: 'A', name: 'a1' }, 201);
    a1 = await lab.addWorkload(1, { name: 'a1', kind: 'container', ifaceId: String(e['id']), mac: String(e['mac']), ip: `${(e['ips'] as string[])[0]}/24`, gateway: '10.62.1.1' });
    await waitFor('a1 installed', () => isInstalled(a1.host.ovs, a1.port), 20_000);
  });

  after(async () => {
    await outside?.stop();
    await lab?.stop();
    await plexusd?.destroy();
  });

  it('resolves the router\'s external address from the outside to its external MAC, on the host with the mapping', async () => {
    const mac = externalMacOf(routerId);
    await waitFor('the outside resolves 198.51.100.2', async () => {
      await nsRun(outside!.netns, 'ping', ['-n', '-c', '1', '-W', '1', '198.51.100.2'], { allowFail: true });
      const neigh = (await ip(outside!.netns, 'neigh', 'show', '198.51.100.2')).stdout;
      return neigh.includes(mac);
    }, 20_000);
    const flows = (await lab.hosts[1]!.ovs.ofctl('dump-flows', lab.hosts[1]!.ovs.mgmt())).stdout;
    assert.doesNotMatch(flows, /198\.51\.100\.2/, 'h2 has no mapping: no external flow there');
  });

  it('SNATs a TCP connection from a1 to the outside to the router\'s gateway address', async () => {
    const peer = await waitFor('a TCP connection from a1 reaches the outside', () => peerSeen(a1.netns, outside!.netns, '198.51.100.1', '198.51.100.1', 7801, 2000), 30_000);
    assert.equal(peer, '198.51.100.2', 'the outside sees the gateway address, not 10.62.1.x');
  });

  it('changes no flow and no port when plexusd restarts with the router gateway and a floating IP in place', async () => {
    const f = await plexusd.api<{ id: string }>('POST', '/v1/floating-ips', { network: 'public', endpoint: 'a1' });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    const h1 = lab.hosts[0]!;
    const snapshot = async (): Promise<string[]> => {
      const flows = (await h1.ovs.ofctl('dump-flows', h1.ovs.mgmt())).stdout.split('\n').map((l) => l.trim()).filter((l) => l.includes('cookie='));
      const patch = (await h1.ovs.vsctl('get', 'Interface', 'plexus-patch-physnet1', '_uuid')).stdout.trim();
      return [...flows.map((l) => l.replace(/(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*/g, '')).sort(), patch];
    };
    const ages = async (): Promise<number[]> =>
      (await h1.ovs.ofctl('dump-flows', h1.ovs.mgmt())).stdout.split('\n').map((l) => /duration=([\d.]+)s/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number);
    await new Promise((r) => setTimeout(r, 1000));
    const before = await snapshot();
    assert.ok(before.some((l) => l.includes('arp_tpa=198.51.100.2')), 'the external ARP flow is installed');
    assert.ok(before.some((l) => l.includes('nat(src=198.51.100.2)')), 'the SNAT flow is installed');
    assert.ok(before.some((l) => /nat\(dst=10\.62\.1\.\d+\)/.test(l)), 'the floating IP\'s DNAT flow is installed');
    assert.ok(before.some((l) => l.includes('table=43') && /set_field:[0-9a-f:]{17}->eth_dst|mod_dl_dst:/.test(l)), 'the next hop\'s learned MAC is in the flows (it is in etcd, so a restart compiles the same)');
    const t0 = Date.now();
    await plexusd.stop();
    await plexusd.launch();
    await plexusd.waitHostsReady(2, 'hosts ready again');
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await snapshot(), before, 'the same flows and the same patch port');
    const elapsedS = (Date.now() - t0) / 1000;
    assert.deepEqual((await ages()).filter((age) => age + 0.5 < elapsedS), [], 'no flow was deleted and added again');
  });

  it('reaches a1 from the outside by its floating IP, and a1\'s own connections leave from it', async () => {
    const list = await plexusd.api<{ items: { id: string; address: string }[] }>('GET', '/v1/floating-ips');
    const fip = list.body.items[0]!;
    const inbound = await waitFor(`the outside connects to ${fip.address}`, () => peerSeen(outside!.netns, a1.netns, '0.0.0.0', fip.address, 7802, 2000), 30_000);
    assert.equal(inbound, '198.51.100.1', 'a1 sees the outside\'s own address (DNAT only)');
    assert.equal(await peerSeen(a1.netns, outside!.netns, '198.51.100.1', '198.51.100.1', 7803), fip.address, 'a1 opens connections from its floating IP');
  });

  it('resolves an assigned floating IP from the outside, and no longer once it is released', async () => {
    const list = await plexusd.api<{ items: { id: string; address: string }[] }>('GET', '/v1/floating-ips');
    const fip = list.body.items[0]!;
    const mac = externalMacOf(routerId);
    const resolves = async (): Promise<boolean> => {
      await ip(outside!.netns, 'neigh', 'flush', 'dev', 'eth0');
      await nsRun(outside!.netns, 'ping', ['-n', '-c', '1', '-W', '1', fip.address], { allowFail: true });
      return (await ip(outside!.netns, 'neigh', 'show', fip.address)).stdout.includes(mac);
    };
    await waitFor(`the outside resolves ${fip.address}`, resolves, 20_000);
    const released = await plexusd.api('PATCH', `/v1/floating-ips/${fip.id}`, { endpoint: null });
    assert.equal(released.status, 200);
    await waitFor(`${fip.address} no longer answered`, async () => !(await resolves()), 20_000);
    await ip(outside!.netns, 'neigh', 'replace', fip.address, 'lladdr', mac, 'dev', 'eth0');
    assert.equal(await peerSeen(outside!.netns, a1.netns, '0.0.0.0', fip.address, 7804, 2000), undefined, 'released: even with the old MAC pinned, no way in');
    assert.equal(await peerSeen(a1.netns, outside!.netns, '198.51.100.1', '198.51.100.1', 7805), '198.51.100.2', 'released: a1 is SNATed to the gateway again');
  });
});
