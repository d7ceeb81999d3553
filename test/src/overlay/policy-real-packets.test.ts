/**
 * Security policy with real packets (SPEC §9, issue 12): two netns hosts on the
 * userspace datapath, workloads as namespaces, plexusd in the root namespace.
 *
 *   h1: web1 (group web)          h2: app1 (group app), out1 (group out), open1 (no group)
 *   web: TCP 80 from group app, ICMP and ICMPv6 from anywhere, all egress (default)
 *
 * Then two tenants with the same CIDR and the same addresses on the same hosts.
 */
import assert from 'node:assert/strict';
import type { Lab, Workload } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { ip, nsRun, NsProcess } from '../../../src/sandbox/netns';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { sleep, waitFor } from '../../../src/sandbox/processes';
import { isInstalled } from '../../support/workloads';

interface Ep {
  id: string;
  mac: string;
  ips: string[];
}
interface Group {
  id: string;
  rules: { id: string; direction: string; protocol?: string; portMin?: number; ethertype: string }[];
}

/** Listens on the given ports of `host`; echoes every byte back. */
const ECHO_SERVER = `
const net = require('node:net');
const [host, ...ports] = process.argv.slice(1);
let n = 0;
for (const p of ports) net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => {}); })
  .listen(Number(p), host, () => { if (++n === ports.length) console.log('"listening"'); });
`;
/** Connects, sends one byte, waits for the echo: prints "open" or "closed" within the timeout. */
const PROBE = `
const net = require('node:net');
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const t = setTimeout(() => { console.log('closed'); process.exit(0); }, Number(ms));
s.on('connect', () => s.write('x'));
s.on('data', () => { clearTimeout(t); console.log('open'); process.exit(0); });
s.on('error', () => { clearTimeout(t); console.log('closed'); process.exit(0); });
`;
/** One connection, a byte every 50 ms; prints a line with the time of every echo. */
const TALKER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
s.on('connect', () => { console.log('"connected"'); setInterval(() => s.write('x'), 50); });
s.on('data', () => console.log('echo ' + Date.now()));
s.on('error', (e) => console.log('error ' + e.message));
`;

describe('security policy with real packets @slow', function () {
  this.timeout(240_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  const procs = new Set<NsProcess>();
  const w: Record<string, Workload> = {};
  const eps: Record<string, Ep> = {};
  const groups: Record<string, Group> = {};

  const spawn = (ns: string, script: string, ...args: string[]): NsProcess => {
    const p = NsProcess.spawn(ns, process.execPath, ['-e', script, ...args]);
    procs.add(p);
    return p;
  };
  const probe = async (from: string, to: string, port: number): Promise<'open' | 'closed'> => {
    const r = await nsRun(w[from]!.netns, process.execPath, ['-e', PROBE, eps[to]!.ips[0]!, String(port), '1500'], { timeoutMs: 10_000 });
    return r.stdout.trim() as 'open' | 'closed';
  };
  const api = async <T>(method: string, path: string, body?: unknown, expect = [200, 201, 204]): Promise<T> => {
    const r = await plexusd.api<T>(method, path, body);
    assert.ok(expect.includes(r.status), `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** Waits until the host's master has installed what was just written (the installed mark is only for attaches). */
  const settle = (): Promise<void> => sleep(700);

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd());
    await api('POST', '/v1/networks', { name: 'polnet' });
    await api('POST', '/v1/subnets', { network: 'polnet', cidr: '10.77.0.0/24' });
    await api('POST', '/v1/subnets', { network: 'polnet', cidr: 'fd00:77::/64' });
    groups['app'] = await api<Group>('POST', '/v1/security-groups', { name: 'app' });
    groups['out'] = await api<Group>('POST', '/v1/security-groups', { name: 'out' });
    groups['web'] = await api<Group>('POST', '/v1/security-groups', {
      name: 'web',
      rules: [
        { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteGroup: 'app' },
        { direction: 'ingress', protocol: 'icmp' },
        { direction: 'ingress', ethertype: 'IPv6', protocol: 'icmpv6' },
      ],
    });
    const place: [string, number, string[]][] = [['web1', 1, ['web']], ['app1', 2, ['app']], ['out1', 2, ['out']], ['open1', 2, []]];
    for (const [name, host, sgs] of place) {
      eps[name] = await api<Ep>('POST', '/v1/endpoints', { network: 'polnet', name, kind: 'container', securityGroups: sgs });
      w[name] = await lab.addWorkload(host, { name, kind: 'container', ifaceId: eps[name]!.id, mac: eps[name]!.mac, ip: `${eps[name]!.ips[0]}/24` });
      await ip(w[name]!.netns, '-6', 'addr', 'add', `${eps[name]!.ips[1]}/64`, 'dev', 'eth0', 'nodad');
    }
    for (const x of Object.values(w)) await waitFor(`${x.name} installed`, () => isInstalled(x.host.ovs, x.port), 20_000);
    const server = spawn(w['web1']!.netns, ECHO_SERVER, eps['web1']!.ips[0]!, '80', '22');
    await server.waitForLine((l) => l.includes('"listening"'), 10_000);
    const open = spawn(w['open1']!.netns, ECHO_SERVER, eps['open1']!.ips[0]!, '8080');
    await open.waitForLine((l) => l.includes('"listening"'), 10_000);
  });

  after(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    await lab?.stop();
    await plexusd?.destroy();
  });

  it('connects TCP 80 from an app endpoint on another host, not TCP 22', async () => {
    assert.equal(await probe('app1', 'web1', 80), 'open');
    assert.equal(await probe('app1', 'web1', 22), 'closed');
  });

  it('refuses TCP 80 from an endpoint outside the app group, and admits it once it joins', async () => {
    assert.equal(await probe('out1', 'web1', 80), 'closed');
    await api('PATCH', `/v1/endpoints/${eps['out1']!.id}`, { securityGroups: ['out', 'app'] });
    await settle();
    assert.equal(await probe('out1', 'web1', 80), 'open');
  });

  it('passes ICMP from anywhere and replies of egress connections without an ingress rule', async () => {
    assert.ok((await lab.ping(w['open1']!, eps['web1']!.ips[0]!, { count: 2, timeoutMs: 3000 })).ok, 'open1 → web1 ping');
    // web1 has no ingress rule for TCP from open1, yet the replies of its own connection arrive.
    const r = await nsRun(w['web1']!.netns, process.execPath, ['-e', PROBE, eps['open1']!.ips[0]!, '8080', '1500'], { timeoutMs: 10_000 });
    assert.equal(r.stdout.trim(), 'open');
    // app1 has no ingress rule at all: pinging it fails.
    assert.equal((await lab.ping(w['web1']!, eps['app1']!.ips[0]!, { count: 2, timeoutMs: 2000 })).ok, false);
  });

  it('pings over IPv6 per rule: allowed by the icmpv6 rule, refused where no rule allows it', async () => {
    const ping6 = (from: string, to: string) => nsRun(w[from]!.netns, 'ping', ['-6', '-n', '-q', '-c', '2', '-i', '0.2', '-w', '3', eps[to]!.ips[1]!], { allowFail: true });
    assert.match((await ping6('app1', 'web1')).stdout, / 2 received/);
    assert.match((await ping6('web1', 'app1')).stdout, / 0 received/);
  });

  it('cuts an established connection within a second when the TCP 80 rule is removed', async () => {
    const talker = spawn(w['app1']!.netns, TALKER, eps['web1']!.ips[0]!, '80');
    await talker.waitForLine((l) => l.includes('"connected"'), 5000);
    await waitFor('echoes flowing', () => talker.output.filter((l) => l.startsWith('echo')).length >= 5, 5000);
    const rule = groups['web']!.rules.find((r) => r.protocol === 'tcp')!;
    const t0 = Date.now();
    await api('DELETE', `/v1/security-groups/${groups['web']!.id}/rules/${rule.id}`);
    const echoTimes = () => talker.output.filter((l) => l.startsWith('echo')).map((l) => Number(l.slice(5)));
    await sleep(2000);
    const last = Math.max(...echoTimes());
    const cutMs = last - t0;
    process.stdout.write(`      established connection cut ${cutMs} ms after the DELETE was sent\n`);
    assert.ok(cutMs < 1000, `echoes continued ${cutMs} ms after the rule was removed`);
    await sleep(500);
    assert.equal(Math.max(...echoTimes()), last, 'no echo after the cut');
    assert.equal(await probe('app1', 'web1', 80), 'closed', 'and new connections are refused');
    await talker.stop();
  });

  it('isolates two tenants with the same CIDR and the same addresses on the same hosts', async () => {
    const tw: Record<string, Workload> = {};
    for (const t of ['ta', 'tb']) {
      await api('POST', '/v1/tenants', { name: t });
      await api('POST', '/v1/networks', { name: 'same', tenant: t });
      const net = (await api<{ items: { id: string; tenant: string }[] }>('GET', '/v1/networks')).items.find((n) => n.tenant === t)!;
      await api('POST', '/v1/subnets', { network: net.id, cidr: '10.0.0.0/24' });
      for (const [host, addr] of [[1, '10.0.0.10'], [2, '10.0.0.20']] as const) {
        const name = `${t}${host}`;
        const e = await api<Ep>('POST', '/v1/endpoints', { network: net.id, name, ips: [addr] });
        tw[name] = await lab.addWorkload(host, { name, kind: 'container', ifaceId: e.id, mac: e.mac, ip: `${addr}/24` });
      }
    }
    for (const x of Object.values(tw)) await waitFor(`${x.name} installed`, () => isInstalled(x.host.ovs, x.port), 20_000);
    const rx = async (x: Workload) => (JSON.parse((await ip(x.netns, '-s', '-j', 'link', 'show', 'dev', 'eth0')).stdout) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
    const before = { ta: [await rx(tw['ta1']!), await rx(tw['ta2']!)], tb: [await rx(tw['tb1']!), await rx(tw['tb2']!)] };
    assert.ok((await lab.ping(tw['ta1']!, '10.0.0.20', { count: 3, timeoutMs: 4000 })).ok, 'ta1 → ta2');
    const mid = { tb: [await rx(tw['tb1']!), await rx(tw['tb2']!)] };
    assert.deepEqual(mid.tb, before.tb, 'tenant tb saw no packet of tenant ta');
    const neigh = (await ip(tw['ta1']!.netns, 'neigh', 'show', '10.0.0.20')).stdout;
    assert.match(neigh, new RegExp(tw['ta2']!.mac), 'ta1 resolved 10.0.0.20 to ta2');
    const taMid = [await rx(tw['ta1']!), await rx(tw['ta2']!)];
    assert.ok((await lab.ping(tw['tb2']!, '10.0.0.10', { count: 3, timeoutMs: 4000 })).ok, 'tb2 → tb1');
    assert.deepEqual([await rx(tw['ta1']!), await rx(tw['ta2']!)], taMid, 'tenant ta saw no packet of tenant tb');
    assert.match((await ip(tw['tb2']!.netns, 'neigh', 'show', '10.0.0.10')).stdout, new RegExp(tw['tb1']!.mac));
  });

  it('changes no flow when plexusd restarts with policies in place', async () => {
    const dump = async () => (await Promise.all(lab.hosts.map((h) => h.ovs.dumpFlows()))).map((f) => f.sort());
    const before = await dump();
    assert.ok(before[0]!.some((l) => l.includes('ct(commit')), 'policy flows are installed');
    await plexusd.stop();
    await plexusd.launch();
    await waitFor('both hosts ready again', async () => {
      const r = await plexusd.api<{ items: { status: string; master: string | null }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready' && h.master).length === 2;
    }, 30_000);
    await sleep(2000);
    assert.deepEqual(await dump(), before);
    assert.equal(await probe('out1', 'web1', 80), 'closed', 'the policy still holds (rule removed above)');
  });
});
