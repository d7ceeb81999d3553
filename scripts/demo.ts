/**
 * The main job (`npm run demo`): a local Plexus with sandboxed hosts and the
 * seed's picture with real tools: `docker network create -d plexus DockerSN` on
 * host 1 (plexus-docker on every host; the dockerds share a cluster store, so
 * the network is global), a Docker container on host 1, a real VM (qemu,
 * Debian's kernel, DHCP from Plexus) plus a Docker container on host 2, security
 * groups applied on attach, all pinging across hosts over VXLAN, a container
 * outside the VM's group refused, port security dropping a forged source.
 * Where Docker or qemu cannot run, namespace workloads stand in and the demo
 * says why.
 *
 *   --keep        leave everything running until Ctrl-C (plexusctl works against it)
 *   --hosts N     2 or 3 hosts (default 2)
 *
 * Runs as root (network namespaces). Cleans up on exit, on failure and on Ctrl-C
 * (src/sandbox/processes.ts stops every process it started by pid and removes
 * the namespaces, the management bridge and the temp dirs).
 */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { main as plexusctl } from '../src/cli/plexusctl';
import { DockerHost } from '../src/sandbox/docker-host';
import { EtcdCluster } from '../src/sandbox/etcd-cluster';
import { Lab, type Workload } from '../src/sandbox/lab';
import { PlexusdProcess } from '../src/sandbox/plexusd-process';
import { waitFor } from '../src/sandbox/processes';
import { QemuVm } from '../src/sandbox/qemu-vm';

interface Ep {
  id: string;
  mac: string;
  ips: string[];
}

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const ok = (b: boolean): string => (b ? (process.stdout.isTTY ? '\x1b[32mok\x1b[0m' : 'ok') : process.stdout.isTTY ? '\x1b[31mFAILED\x1b[0m' : 'FAILED');
const say = (s = ''): void => void process.stdout.write(s + '\n');

/** Shown in the topology and drill-down, whatever runs the workload. */
interface Shown {
  readonly name: string;
  readonly kind: string;
  readonly host: string;
  readonly ip: string;
  readonly mac: string;
  readonly port: string;
  /** How to reach it by hand with --keep. */
  readonly how: string;
}

interface DemoResult {
  readonly ok: boolean;
  readonly workloads: readonly Shown[];
  /** Endpoint id for the drill-down. */
  readonly drillDown: string;
}

/** Stop functions of what the workload steps started, run in reverse on exit. */
const cleanups: (() => Promise<void>)[] = [];

async function ctl(plexusd: PlexusdProcess, ...args: string[]): Promise<void> {
  say(`$ plexusctl ${args.join(' ')}`);
  const code = await plexusctl(['--url', plexusd.url, '--token-file', plexusd.tokenFile!, ...args]);
  if (code !== 0) throw new Error(`plexusctl ${args.join(' ')} failed`);
  say();
}

async function run(options: { keep: boolean; hosts: number }): Promise<boolean> {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces: run it as root');
  let lab: Lab | undefined;
  let plexusd: PlexusdProcess | undefined;
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    await lab?.stop();
    await plexusd?.destroy();
  };
  try {
    say(bold(`Plexus demo: ${options.hosts} hosts as network namespaces, each with its own Open vSwitch (userspace datapath)`));
    const t0 = Date.now();
    lab = await Lab.start({ hosts: options.hosts });
    plexusd = await PlexusdProcess.start({
      memberId: 'plexus-1',
      listenHost: '0.0.0.0',
      advertise: lab.controllerAddress,
      // The hosts' plexus-docker reach the API over the management segment: it needs a token (SPEC §6).
      adminToken: true,
    });
    say(`plexusd (embedded etcd) on ${plexusd.url}, hosts reach it at ${lab.controllerAddress}; lab ready in ${Date.now() - t0} ms\n`);

    say(bold('1. Hosts join with  ovs-vsctl set-manager tcp:<plexusd>:6640'));
    const tJoin = Date.now();
    for (const h of lab.hosts) await lab.joinController(h, plexusd.ports.ovsdb);
    await plexusd.waitHostsReady(options.hosts, 'hosts ready');
    say(`all hosts ready ${Date.now() - tJoin} ms after set-manager (br-int secure, controller, VXLAN tunnels)\n`);
    await ctl(plexusd, 'host', 'list');

    let docker: DockerHost[] = [];
    let whyNot: string | undefined;
    // dockerd shares a remote driver's networks only through a cluster store (an etcd with the v2 API, SPEC §7).
    let clusterStore: string | undefined;
    try {
      const store = await EtcdCluster.start(1, { clientHost: lab.controllerAddress, enableV2: true });
      cleanups.push(() => store.stop());
      clusterStore = store.endpoints.replace(/^http:/, 'etcd:');
    } catch (err) {
      say(`no cluster store for the dockerds (${(err as Error).message.split('\n')[0]}): plexus-docker runs in local scope and mirrors networks\n`);
    }
    try {
      const url = `http://${lab.controllerAddress}:${plexusd.ports.api}`;
      for (const h of lab.hosts.slice(0, 2)) docker.push(await DockerHost.start({ host: h, plexusUrl: url, tokenFile: plexusd.tokenFile!, ...(clusterStore ? { clusterStore } : {}) }));
    } catch (err) {
      whyNot = (err as Error).message.split('\n')[0];
      for (const d of docker) await d.stop();
      docker = [];
    }
    for (const d of docker) cleanups.push(() => d.stop());
    const result = docker.length === 2
      ? await runReal(lab, plexusd, docker)
      : await runNamespaces(lab, plexusd, `Docker is not available here (${whyNot}): namespace workloads stand in for the containers and the VM`);
    const w = result.workloads;
    const allOk = result.ok;
    const vmEp = result.drillDown;

    say(bold('5. Topology'));
    const hosts = (await plexusd.api<{ items: { id: string; encapIp: string }[] }>('GET', '/v1/hosts')).body.items;
    for (const h of hosts) {
      say(`${h.id}  encap ${h.encapIp}  tunnels → ${hosts.filter((x) => x.id !== h.id).map((x) => `${x.id}(${x.encapIp})`).join(', ')}`);
      for (const x of w.filter((y) => y.host === h.id)) say(`   ${x.kind.padEnd(9)} ${x.name.padEnd(5)} ${x.ip.padEnd(16)} ${x.mac} port ${x.port}`);
    }
    say();
    say(bold('6. Drill-down of an endpoint'));
    await ctl(plexusd, 'endpoint', 'show', vmEp);

    say(allOk ? bold('Everything works.') : bold('Something failed (see above).'));
    if (options.keep) {
      say(`\nLeft running. Try:  PLEXUS_URL=${plexusd.url} PLEXUS_TOKEN_FILE=${plexusd.tokenFile} node dist/src/cli/plexusctl.js host list`);
      say(`Workloads: ${w.map((x) => x.how).join('  |  ')}`);
      say('Ctrl-C to stop and clean up.');
      await new Promise(() => undefined);
    }
    return allOk;
  } finally {
    if (!options.keep) await cleanup();
  }
}

/** The namespace fallback: containers and the VM as network namespaces plugged the ovs-docker/libvirt way. */
async function runNamespaces(lab: Lab, plexusd: PlexusdProcess, why: string): Promise<DemoResult> {
  say(bold(`Note: ${why}`));
  say();
  say(bold('2. One subnet for containers and VMs'));
  await ctl(plexusd, 'network', 'create', 'DockerSN', '--cidr', '192.168.200.0/24');

  say(bold('3. Workloads attach the way Docker, CNI and libvirt attach them (Interface external_ids:iface-id)'));
  const create = async (name: string, kind: string): Promise<Ep> => {
    const res = await plexusd.api<Ep>('POST', '/v1/endpoints', { network: 'DockerSN', name, kind });
    if (res.status !== 201) throw new Error(`creating endpoint ${name}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const c1ep = await create('web-container', 'container');
  const vmEp = await create('db-vm', 'vm');
  const w: Workload[] = [];
  const tAttach = Date.now();
  w.push(await lab.addWorkload(1, { name: 'c1', kind: 'container', ifaceId: c1ep.id, mac: c1ep.mac, ip: `${c1ep.ips[0]}/24` }));
  w.push(await lab.addWorkload(2, { name: 'vm2', kind: 'vm', ifaceId: vmEp.id, mac: vmEp.mac, dhcp: true }));
  w.push(await lab.addWorkload(2, { name: 'c3', kind: 'container', ifaceId: 'app-container-h2', ip: '192.168.200.30/24', network: 'DockerSN' }));
  for (const x of w) {
    await waitFor(`${x.name} installed`, async () => (await x.host.ovs.vsctl('get', 'Interface', x.port, 'external_ids')).stdout.includes('plexus-installed="true"'), 20_000);
  }
  say(`3 workloads attached and every flow installed (plexus-installed=true) within ${Date.now() - tAttach} ms`);
  const lease = await lab.dhcp(w[1]!);
  say(`VM db-vm got ${lease.ip}/${lease.prefixLength} router ${lease.router} mtu ${lease.mtu} over DHCP from Plexus in ${lease.elapsedMs} ms`);
  say(`container app-container-h2 was created by Plexus from external_ids:plexus-network=DockerSN\n`);
  await ctl(plexusd, 'endpoint', 'list');

  say(bold('4. Real packets through the VXLAN overlay'));
  let allOk = true;
  for (const a of w) {
    for (const b of w) {
      if (a === b) continue;
      const r = await lab.ping(a, b.ip!, { count: 2, timeoutMs: 3000 });
      allOk &&= r.ok;
      const where = a.host === b.host ? 'same host' : `${a.host.id} → ${b.host.id}`;
      say(`ping ${a.name.padEnd(4)} → ${b.name.padEnd(4)} ${b.ip!.padEnd(16)} ${where.padEnd(10)} ${r.received}/${r.sent} ${ok(r.ok)}${r.rttMs !== undefined ? `  ${r.rttMs.toFixed(2)} ms` : ''}`);
    }
  }
  const tcp = await lab.tcpTransfer(w[0]!, w[1]!, 4 * 1024 * 1024);
  allOk &&= tcp.ok;
  say(`tcp  c1 → vm2 4 MiB across hosts: ${ok(tcp.ok)} ${tcp.mbitPerS.toFixed(0)} Mbit/s, sha256 verified`);
  const spoof = await lab.sendSpoofed(w[0]!, { srcIp: '192.168.200.99' }, w[1]!.ip!);
  allOk &&= !spoof.arrived;
  say(`spoofed source 192.168.200.99 from c1: ${spoof.arrived ? 'DELIVERED (port security failed)' : 'dropped by port security'} ${ok(!spoof.arrived)}\n`);

  return {
    ok: allOk,
    drillDown: vmEp.id,
    workloads: w.map((x) => ({ name: x.name, kind: x.kind, host: x.host.id, ip: x.ip ?? '', mac: x.mac, port: x.port, how: `ip netns exec ${x.netns} ping ...` })),
  };
}

/** The seed's picture with real tools: Docker on both hosts, a qemu VM on host 2. */
async function runReal(lab: Lab, plexusd: PlexusdProcess, docker: DockerHost[]): Promise<DemoResult> {
  const [d1, d2] = docker as [DockerHost, DockerHost];
  const h1 = lab.host(1);
  const h2 = lab.host(2);
  say(bold('2. Security groups, then one subnet for containers and VMs, created through Docker on host 1'));
  await ctl(plexusd, 'sg', 'create', 'web');
  await ctl(plexusd, 'sg', 'rule', 'add', 'web', '--direction', 'ingress', '--protocol', 'icmp');
  await ctl(plexusd, 'sg', 'create', 'db');
  await ctl(plexusd, 'sg', 'rule', 'add', 'db', '--direction', 'ingress', '--protocol', 'icmp', '--remote-group', 'web');
  await ctl(plexusd, 'sg', 'create', 'guest');
  say(`plexus-docker serves the network and IPAM driver "plexus" on every host; dockerd of ${h1.id}: ${d1.dockerd.host}`);
  say(`$ docker network create -d plexus --ipam-driver plexus --subnet 192.168.200.0/24 -o plexus.security-groups=web DockerSN     (on ${h1.id})`);
  await d1.docker('network', 'create', '-d', 'plexus', '--ipam-driver', 'plexus', '--subnet', '192.168.200.0/24', '-o', 'plexus.security-groups=web', 'DockerSN');
  await waitFor('DockerSN in Plexus', async () => (await plexusd.api('GET', '/v1/networks/DockerSN')).status === 200, 15_000);
  await waitFor(`DockerSN in ${h2.id}'s dockerd`, async () => (await d2.docker('network', 'ls', '--format', '{{.Name}}')).split('\n').includes('DockerSN'), 15_000);
  const scope = await d2.docker('network', 'inspect', '-f', '{{.Scope}}', 'DockerSN');
  say(scope === 'global'
    ? `the Plexus network DockerSN exists, and ${h2.id}'s dockerd has the same Docker network (scope global: the dockerds share a cluster store)\n`
    : `the Plexus network DockerSN exists, and ${h2.id}'s dockerd has it too (scope ${scope}: plexus-docker mirrors Plexus networks)\n`);
  await ctl(plexusd, 'network', 'list');

  say(bold('3. Workloads attach: docker run on both hosts, a VM (qemu, libvirt-style tap) on host 2'));
  const t0 = Date.now();
  await d1.docker('run', '-d', '--name', 'web', '--net', 'DockerSN', d1.image, 'sleep', '3600');
  const webIp = await d1.ipOf('web', 'DockerSN');
  say(`$ docker run -d --name web --net DockerSN busybox   (on ${h1.id}): ${webIp}, running in ${Date.now() - t0} ms (Join returned once plexus-installed)`);
  const t1 = Date.now();
  await d2.docker('run', '-d', '--name', 'app', '--net', 'DockerSN', d2.image, 'sleep', '3600');
  const appIp = await d2.ipOf('app', 'DockerSN');
  say(`$ docker run -d --name app --net DockerSN busybox   (on ${h2.id}): ${appIp}, running in ${Date.now() - t1} ms`);
  const shown: Shown[] = [];
  const epOf = async (ip: string): Promise<{ id: string; mac: string; ips: string[] }> => {
    const items = (await plexusd.api<{ items: { id: string; mac: string; ips: string[] }[] }>('GET', '/v1/endpoints?network=DockerSN')).body.items;
    return items.find((e) => e.ips.includes(ip))!;
  };
  for (const [name, ip, d] of [['web', webIp, d1], ['app', appIp, d2]] as const) {
    const e = await epOf(ip);
    shown.push({ name, kind: 'container', host: d.host.id, ip, mac: e.mac, port: '(veth pxd...)', how: `docker -H ${d.dockerd.host} exec ${name} ping ...` });
  }
  let vm: QemuVm | undefined;
  let vmIp: string | undefined;
  let vmEpId: string | undefined;
  try {
    const res = await plexusd.api<Ep>('POST', '/v1/endpoints', { network: 'DockerSN', id: randomUUID(), name: 'db-vm', kind: 'vm', securityGroups: ['db'] });
    if (res.status !== 201) throw new Error(`creating the VM's endpoint: ${JSON.stringify(res.body)}`);
    vmEpId = res.body.id;
    say(`VM endpoint created through the API like a Neutron port, in group db: ${vmEpId} (${res.body.mac})`);
    const tVm = Date.now();
    vm = await QemuVm.start({ name: 'db-vm', netns: h2.netns, ovs: h2.ovs, interfaceId: vmEpId, mac: res.body.mac });
    const v = vm;
    cleanups.push(() => v.stop());
    const lease = await vm.dhcp();
    vmIp = lease.ip;
    say(`qemu booted Debian's kernel with a busybox initramfs in ${vm.bootMs} ms; tap ${vm.tap} on br-int with iface-id/attached-mac/vm-id/iface-status (libvirt's ovs-vsctl)`);
    say(`VM db-vm got ${lease.ip} netmask ${lease.subnet} router ${lease.router} mtu ${lease.mtu} over DHCP from Plexus in ${lease.elapsedMs} ms (${Date.now() - tVm} ms after qemu started)\n`);
    shown.push({ name: 'db-vm', kind: 'vm', host: h2.id, ip: lease.ip, mac: res.body.mac, port: vm.tap, how: 'the VM console is the demo\'s' });
  } catch (err) {
    say(`the VM could not run here (${(err as Error).message.split('\n')[0]}): continuing with the containers`);
    if (vmEpId) await plexusd.api('DELETE', `/v1/endpoints/${vmEpId}`);
    vmEpId = undefined;
  }
  await ctl(plexusd, 'endpoint', 'list');

  say(bold('4. Real packets through the VXLAN overlay'));
  let allOk = true;
  const targets = shown.map((x) => [x.name, x.ip] as const);
  const pingFrom = async (from: string, ip: string): Promise<{ received: number; rtt?: string }> => {
    if (from === 'db-vm') {
      const r = await vm!.ping(ip, 2);
      return { received: r.received, ...(/= [\d.]+\/([\d.]+)\//.exec(r.output) ? { rtt: /= [\d.]+\/([\d.]+)\//.exec(r.output)![1]! } : {}) };
    }
    const d = from === 'web' || from === 'guest' ? d1 : d2;
    const out = await d.docker('exec', from, 'ping', '-c', '2', '-W', '2', ip).catch((e: Error) => e.message);
    const m = /(\d+) packets received/.exec(out);
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1];
    return { received: Number(m?.[1] ?? 0), ...(rtt ? { rtt } : {}) };
  };
  for (const a of shown) {
    for (const [name, ip] of targets) {
      if (name === a.name) continue;
      const b = shown.find((x) => x.name === name)!;
      const r = await pingFrom(a.name, ip);
      const good = r.received === 2;
      allOk &&= good;
      const where = a.host === b.host ? 'same host' : `${a.host} → ${b.host}`;
      say(`ping ${a.name.padEnd(5)} → ${name.padEnd(5)} ${ip.padEnd(16)} ${where.padEnd(10)} ${r.received}/2 ${ok(good)}${r.rtt ? `  ${r.rtt} ms` : ''}`);
    }
  }
  // Policy on attach: a container outside group web reaches web (any ICMP) but not db-vm (ICMP only from web).
  say(`$ docker create --name guest --net none busybox; docker network disconnect none guest`);
  say(`$ docker network connect --driver-opt plexus.security-groups=guest DockerSN guest; docker start guest   (on ${h1.id})`);
  await d1.docker('create', '--name', 'guest', '--net', 'none', d1.image, 'sleep', '3600');
  await d1.docker('network', 'disconnect', 'none', 'guest');
  await d1.docker('network', 'connect', '--driver-opt', 'plexus.security-groups=guest', 'DockerSN', 'guest');
  await d1.docker('start', 'guest');
  const toWeb = await pingFrom('guest', webIp);
  allOk &&= toWeb.received === 2;
  say(`ping guest → web   ${webIp.padEnd(16)} same host  ${toWeb.received}/2 ${ok(toWeb.received === 2)}  (web admits ICMP from anyone)`);
  if (vm && vmIp) {
    const toDb = await pingFrom('guest', vmIp);
    allOk &&= toDb.received === 0;
    say(`ping guest → db-vm ${vmIp.padEnd(16)} ${h1.id} → ${h2.id}   ${toDb.received}/2 ${toDb.received === 0 ? 'refused by group db (ICMP only from group web)' : 'ANSWERED (policy failed)'} ${ok(toDb.received === 0)}`);
  }
  if (vm && vmIp) {
    await vm.run('ip addr add 192.168.200.99/24 dev eth0');
    const forged = await vm.run(`ping -c 2 -W 1 -I 192.168.200.99 ${webIp}`);
    await vm.run('ip addr del 192.168.200.99/24 dev eth0');
    const dropped = !/[12] packets received/.test(forged.output);
    allOk &&= dropped;
    say(`ping from db-vm with a forged source 192.168.200.99: ${dropped ? 'dropped by port security' : 'ANSWERED (port security failed)'} ${ok(dropped)}`);
  }
  say();
  return { ok: allOk, workloads: shown, drillDown: vmEpId ?? (await epOf(webIp)).id };
}

const program = new Command('demo')
  .description('Plexus demo: containers and VMs on one subnet across hosts, with real packets')
  .option('--keep', 'leave everything running until Ctrl-C', false)
  .option('--hosts <N>', 'number of hosts (2 or 3)', '2')
  .parse();
const opts = program.opts<{ keep: boolean; hosts: string }>();
run({ keep: opts.keep, hosts: Math.min(3, Math.max(2, Number(opts.hosts) || 2)) }).then(
  (good) => process.exit(good ? 0 : 1),
  (err: Error) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    process.exit(1);
  },
);
