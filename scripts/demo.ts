/**
 * The main job (`npm run demo`): a local Plexus with sandboxed hosts and
 * workloads, showing a container and a VM on one L2 subnet across hosts over
 * VXLAN, with addresses from Plexus and port security, using real packets.
 *
 *   --keep        leave everything running until Ctrl-C (plexusctl works against it)
 *   --hosts N     2 or 3 hosts (default 2)
 *
 * Runs as root (network namespaces). Cleans up on exit, on failure and on Ctrl-C
 * (src/sandbox/processes.ts stops every process it started by pid and removes
 * the namespaces, the management bridge and the temp dirs).
 */
import { Command } from 'commander';
import { main as plexusctl } from '../src/cli/plexusctl';
import { Lab, type Workload } from '../src/sandbox/lab';
import { PlexusdProcess } from '../src/sandbox/plexusd-process';
import { waitFor } from '../src/sandbox/processes';

interface Ep {
  id: string;
  mac: string;
  ips: string[];
}

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const ok = (b: boolean): string => (b ? (process.stdout.isTTY ? '\x1b[32mok\x1b[0m' : 'ok') : process.stdout.isTTY ? '\x1b[31mFAILED\x1b[0m' : 'FAILED');
const say = (s = ''): void => void process.stdout.write(s + '\n');

async function ctl(url: string, ...args: string[]): Promise<void> {
  say(`$ plexusctl ${args.join(' ')}`);
  const code = await plexusctl(['--url', url, ...args]);
  if (code !== 0) throw new Error(`plexusctl ${args.join(' ')} failed`);
  say();
}

async function run(options: { keep: boolean; hosts: number }): Promise<boolean> {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces: run it as root');
  let lab: Lab | undefined;
  let plexusd: PlexusdProcess | undefined;
  const cleanup = async (): Promise<void> => {
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
    });
    say(`plexusd (embedded etcd) on ${plexusd.url}, hosts reach it at ${lab.controllerAddress}; lab ready in ${Date.now() - t0} ms\n`);

    say(bold('1. Hosts join with  ovs-vsctl set-manager tcp:<plexusd>:6640'));
    const tJoin = Date.now();
    for (const h of lab.hosts) await lab.joinController(h, plexusd.ports.ovsdb);
    await waitFor('hosts ready', async () => {
      const r = await plexusd!.api<{ items: { status: string }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready').length === options.hosts;
    }, 30_000);
    say(`all hosts ready ${Date.now() - tJoin} ms after set-manager (br-int secure, controller, VXLAN tunnels)\n`);
    await ctl(plexusd.url, 'host', 'list');

    say(bold('2. One subnet for containers and VMs'));
    await ctl(plexusd.url, 'network', 'create', 'DockerSN', '--cidr', '192.168.200.0/24');

    say(bold('3. Workloads attach the way Docker, CNI and libvirt attach them (Interface external_ids:iface-id)'));
    const create = async (name: string, kind: string): Promise<Ep> => {
      const res = await plexusd!.api<Ep>('POST', '/v1/endpoints', { network: 'DockerSN', name, kind });
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
    await ctl(plexusd.url, 'endpoint', 'list');

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

    say(bold('5. Topology'));
    const hosts = (await plexusd.api<{ items: { id: string; encapIp: string }[] }>('GET', '/v1/hosts')).body.items;
    for (const h of hosts) {
      say(`${h.id}  encap ${h.encapIp}  tunnels → ${hosts.filter((x) => x.id !== h.id).map((x) => `${x.id}(${x.encapIp})`).join(', ')}`);
      for (const x of w.filter((y) => y.host.id === h.id)) say(`   ${x.kind.padEnd(9)} ${x.name.padEnd(4)} ${x.ip?.padEnd(16)} ${x.mac} port ${x.port} (ofport ${x.ofport})`);
    }
    say();
    say(bold('6. Drill-down of an endpoint'));
    await ctl(plexusd.url, 'endpoint', 'show', vmEp.id);

    say(allOk ? bold('Everything works.') : bold('Something failed (see above).'));
    if (options.keep) {
      say(`\nLeft running. Try:  PLEXUS_URL=${plexusd.url} node dist/src/cli/plexusctl.js host list`);
      say(`Workloads: ${w.map((x) => `ip netns exec ${x.netns} ping ...`).join('  |  ')}`);
      say('Ctrl-C to stop and clean up.');
      await new Promise(() => undefined);
    }
    return allOk;
  } finally {
    if (!options.keep) await cleanup();
  }
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
