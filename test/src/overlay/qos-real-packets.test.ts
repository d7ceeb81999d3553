/**
 * QoS with real packets (issue 12 item 5): two netns hosts on the userspace
 * datapath, workloads as namespaces, plexusd in the root namespace.
 *
 *   h1: snd1 (sender)        h2: rcv1 (receiver, iperf3 -s)
 *
 * An egress limit of 10 Mbit/s measured with iperf3 (±10 %), a DSCP mark seen
 * in the outer IP header on the underlay (VXLAN port with tos=inherit), and a
 * restart of plexusd that changes no flow and no meter.
 */
import assert from 'node:assert/strict';
import type { Lab, Workload } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { nsRun, NsProcess } from '../../../src/sandbox/netns';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { sleep, waitFor } from '../../../src/sandbox/processes';
import { isInstalled } from '../../support/workloads';
import { runPlexusctl as plexusctl } from '../../support/plexus-api';


interface Ep {
  id: string;
  mac: string;
  ips: string[];
}

const LIMIT_KBPS = 10_000;
const DSCP_EF = 46;
const BURST_KB = Number(process.env['QOS_BURST_KB'] ?? 8000);

describe('QoS with real packets @slow', function () {
  this.timeout(240_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  const procs = new Set<NsProcess>();
  const w: Record<string, Workload> = {};
  const eps: Record<string, Ep> = {};
  let policyId = '';

  const api = async <T>(method: string, path: string, body?: unknown, expect = [200, 201, 204]): Promise<T> => {
    const r = await plexusd.api<T>(method, path, body);
    assert.ok(expect.includes(r.status), `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** iperf3 TCP for 5 s (after a 1 s warm-up it omits) from snd1 to rcv1: the rate the receiver measured, in Mbit/s. */
  const measureMbit = async (): Promise<number> => {
    const r = await nsRun(w['snd1']!.netns, 'iperf3', ['-c', eps['rcv1']!.ips[0]!, '-p', '5201', '-t', '5', '-O', '1', '-J'], { timeoutMs: 30_000 });
    const out = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return out.end.sum_received.bits_per_second / 1e6;
  };
  const dumpSwitches = async () =>
    Promise.all(
      lab.hosts.map(async (h) => ({
        flows: (await h.ovs.dumpFlows()).sort(),
        meters: (await h.ovs.ofctl('dump-meters', h.ovs.mgmt())).stdout.split('\n').filter((l) => l.trim() && !l.startsWith('OFPST')).sort(),
      })),
    );

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd());
    await api('POST', '/v1/networks', { name: 'qosnet' });
    await api('POST', '/v1/subnets', { network: 'qosnet', cidr: '10.78.0.0/24' });
    const place: [string, number][] = [['snd1', 1], ['rcv1', 2]];
    for (const [name, host] of place) {
      eps[name] = await api<Ep>('POST', '/v1/endpoints', { network: 'qosnet', name, kind: 'container' });
      w[name] = await lab.addWorkload(host, { name, kind: 'container', ifaceId: eps[name]!.id, mac: eps[name]!.mac, ip: `${eps[name]!.ips[0]}/24` });
    }
    for (const x of Object.values(w)) await waitFor(`${x.name} installed`, () => isInstalled(x.host.ovs, x.port), 20_000);
    const server = NsProcess.spawn(w['rcv1']!.netns, 'iperf3', ['-s', '--forceflush', '-B', eps['rcv1']!.ips[0]!, '-p', '5201']);
    procs.add(server);
    await server.waitForLine((l) => l.includes('Server listening'), 10_000);
  });

  after(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    await lab?.stop();
    await plexusd?.destroy();
  });

  it('the switches support meters on the userspace datapath', async () => {
    for (const h of lab.hosts) {
      const { stdout } = await h.ovs.ofctl('meter-features', h.ovs.mgmt());
      const max = Number(/max_meter:(\d+)/.exec(stdout)?.[1] ?? 0);
      assert.ok(max > 0, `meter-features: ${stdout}`);
      assert.match(stdout, /drop/);
    }
  });

  it('limits what an endpoint sends to 10 Mbit/s (iperf3, ±10 %)', async () => {
    const unshaped = await measureMbit();
    process.stdout.write(`      unshaped: ${unshaped.toFixed(1)} Mbit/s\n`);
    assert.ok(unshaped > 12, `the sender reaches only ${unshaped.toFixed(1)} Mbit/s unshaped: a 10 Mbit/s limit cannot be measured`);
    const policy = await api<{ id: string }>('POST', '/v1/qos-policies', { name: 'gold', egress: { rateKbps: LIMIT_KBPS, burstKb: BURST_KB }, dscp: DSCP_EF });
    policyId = policy.id;
    await api('PATCH', `/v1/endpoints/${eps['snd1']!.id}`, { qosPolicy: policyId });
    await waitFor('meter installed on h1', async () => /meter=\d+/.test((await lab.hosts[0]!.ovs.ofctl('dump-meters', lab.hosts[0]!.ovs.mgmt())).stdout), 10_000);
    await sleep(500);
    const shaped = await measureMbit();
    process.stdout.write(`      shaped (limit 10 Mbit/s): ${shaped.toFixed(2)} Mbit/s\n`);
    assert.ok(Math.abs(shaped - LIMIT_KBPS / 1000) <= LIMIT_KBPS / 1000 / 10, `measured ${shaped.toFixed(2)} Mbit/s, want 10 ±1`);
  });

  it('marks what the endpoint sends with DSCP 46, seen in the outer header on the underlay', async () => {
    // h1 is the underlay side of host 1's ul0: everything host 1 sends to the fabric.
    const dump = NsProcess.spawn(lab.underlayNetns, 'tcpdump', ['-i', 'h1', '-n', '-v', '-l', '-c', '3', 'udp', 'port', '4789']);
    procs.add(dump);
    await sleep(1000);
    const ping = await lab.ping(w['snd1']!, eps['rcv1']!.ips[0]!, { count: 3, timeoutMs: 4000 });
    assert.ok(ping.ok, 'snd1 → rcv1 ping');
    await waitFor('3 VXLAN packets captured', () => dump.output.filter((l) => /proto UDP/.test(l)).length >= 3, 10_000);
    const outer = dump.output.filter((l) => /proto UDP/.test(l));
    const tos = outer.map((l) => /tos (0x[0-9a-f]+)/.exec(l)?.[1]);
    process.stdout.write(`      outer headers: ${tos.join(', ')}\n`);
    for (const t of tos) assert.equal(Number(t) >> 2, DSCP_EF, `outer tos ${t}: ${outer.join(' | ')}`);
    await dump.stop().catch(() => undefined);
  });

  it('changes no flow and no meter when plexusd restarts with QoS in place', async () => {
    const before = await dumpSwitches();
    assert.ok(before[0]!.meters.length > 0 && before[0]!.flows.some((l) => l.includes('meter:')), 'meters and metered flows are installed');
    await plexusd.stop();
    await plexusd.launch();
    await waitFor('both hosts ready again', async () => {
      const r = await plexusd.api<{ items: { status: string; master: string | null }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready' && h.master).length === 2;
    }, 30_000);
    await waitFor('2 switches reconciled', () => (plexusd.logs.match(/flows reconciled/g) ?? []).length >= 2, 30_000);
    await sleep(1500);
    assert.deepEqual(await dumpSwitches(), before);
    const reconciled = plexusd.logs.split('\n').filter((l) => l.includes('flows reconciled'));
    for (const l of reconciled.slice(-2)) {
      const stats = JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>;
      assert.deepEqual([stats['adds'], stats['modifies'], stats['deletes'], stats['meterMods']], [0, 0, 0, 0], l);
    }
  });

  it('plexusctl sg and qos manage groups, rules and policies; endpoint show drills down to rules, QoS and their flows', async () => {
    const ctl = async (...args: string[]): Promise<string> => {
      const r = await plexusctl(plexusd.url, ...args);
      assert.equal(r.code, 0, `plexusctl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await ctl('sg', 'create', 'clients');
    await ctl('sg', 'create', 'server');
    const added = JSON.parse(await ctl('-o', 'json', 'sg', 'rule', 'add', 'server', '--direction', 'ingress', '--protocol', 'tcp', '--ports', '5201', '--remote-group', 'clients')) as { id: string };
    assert.match(await ctl('sg', 'show', 'server'), /ingress IPv4 tcp 5201-5201 from group/);
    await ctl('endpoint', 'update', 'rcv1', '--security-group', 'server');
    await ctl('endpoint', 'update', 'snd1', '--security-group', 'clients');
    assert.match(await ctl('qos', 'list'), /gold.*10000 kbit\/s burst 8000 kbit.*46/);
    await sleep(1000);
    // The receiver's drill-down: the rule, its remote group resolved to snd1's address, and the rule's flows.
    const rcv = JSON.parse(await ctl('-o', 'json', 'endpoint', 'show', 'rcv1')) as { policy: { rules: { id: string; remoteAddresses?: string[]; flows?: string[] }[]; qos: unknown } };
    const rule = rcv.policy.rules.find((r) => r.id === added.id);
    assert.ok(rule, JSON.stringify(rcv.policy));
    assert.deepEqual(rule.remoteAddresses, [...eps['snd1']!.ips].sort());
    assert.ok((rule.flows ?? []).some((f) => f.includes('tp_dst=5201') || f.includes('5201')), JSON.stringify(rule.flows));
    assert.equal(rcv.policy.qos, null);
    // The sender's: the QoS policy in force, its installed meter, the flows it produced.
    const snd = JSON.parse(await ctl('-o', 'json', 'endpoint', 'show', 'snd1')) as {
      policy: { qos: { policy: { id: string }; source: string; meters: { direction: string; installed?: boolean }[]; flows?: string[] } };
    };
    assert.equal(snd.policy.qos.policy.id, policyId);
    assert.equal(snd.policy.qos.source, 'endpoint');
    assert.deepEqual(snd.policy.qos.meters.map((m) => [m.direction, m.installed]), [['egress', true]]);
    assert.ok((snd.policy.qos.flows ?? []).some((f) => f.includes('meter:')), JSON.stringify(snd.policy.qos.flows));
    assert.ok((snd.policy.qos.flows ?? []).some((f) => f.includes('ip_dscp')), JSON.stringify(snd.policy.qos.flows));
    // Still allowed by the rule: the client reaches iperf3's port.
    assert.ok((await measureMbit()) > 5);
    await ctl('sg', 'rule', 'delete', 'server', added.id);
    assert.doesNotMatch(await ctl('sg', 'show', 'server'), /5201/);
    await ctl('endpoint', 'update', 'snd1', '--no-qos-policy');
    await ctl('endpoint', 'update', 'snd1', '--no-security-groups');
    await ctl('endpoint', 'update', 'rcv1', '--no-security-groups');
    await ctl('sg', 'delete', 'server');
    assert.doesNotMatch(await ctl('sg', 'list'), /server/);
    await waitFor('meter removed from h1', async () => !/meter=\d+/.test((await lab.hosts[0]!.ovs.ofctl('dump-meters', lab.hosts[0]!.ovs.mgmt())).stdout), 10_000);
    await ctl('qos', 'delete', 'gold');
    assert.doesNotMatch(await ctl('qos', 'list'), /gold/);
  });
});
